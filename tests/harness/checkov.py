"""Run checkov offline over rendered Kubernetes objects and compare its failures with an allow-list.

checkov pins old versions of many packages, so it lives in its own virtualenv (`make checkov-venv`
creates `.venv-checkov` with the pinned version). Offline flags as measured (REFERENCE §6): no package
update check, no policy download. Reusable for any set of objects: `run_checkov(objects)` writes them
as one YAML file each into a temporary directory and returns the failed checks.

Allow-list (`tests/checkov-allowlist.yaml`): entries `{check, resource, reason}`; `resource` is
checkov's `Kind.namespace.name`. `compare()` reports failures not on the list AND entries that no
longer fail (stale), so the list can only shrink with the code.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.harness.program import REPO, ProgramRun

CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"
ALLOWLIST = REPO / "tests" / "checkov-allowlist.yaml"
CONFIG_GROUP = "kubernetes:yaml/v2:ConfigGroup"


@dataclass(frozen=True, order=True)
class Finding:
    check: str
    resource: str  # Kind.namespace.name, as checkov names Kubernetes resources

    def __str__(self) -> str:
        return f"{self.check} {self.resource}"


@dataclass(frozen=True)
class AllowEntry:
    finding: Finding
    reason: str


def layer_objects(run: ProgramRun, layer_names: Iterable[str]) -> list[dict[str, Any]]:
    """The objects a run applies for these layers (one ConfigGroup per layer, named after it)."""
    wanted = set(layer_names)
    objects: list[dict[str, Any]] = []
    for registration in run.of_type(CONFIG_GROUP):
        if registration.name in wanted:
            objects.extend(registration.inputs.get("objs") or [])
    return objects


def _plain(value: Any) -> Any:
    """Whole floats back to ints: mock-engine inputs travel as protobuf numbers (doubles), and checkov's
    checks compare `isinstance(value, int)` (a runAsUser of 10001.0 would fail them)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def run_checkov(objects: Sequence[dict[str, Any]], *, checkov: Path = CHECKOV) -> list[Finding]:
    """Failed checks of checkov's Kubernetes framework over these objects (offline)."""
    if not checkov.is_file():
        raise AssertionError(f"{checkov} is missing: run `make checkov-venv` (make test does it first)")
    with tempfile.TemporaryDirectory(prefix="checkov-") as directory:
        for index, obj in enumerate(objects):
            meta = obj.get("metadata") or {}
            name = f"{index:04d}-{obj['kind']}-{meta.get('namespace', '')}-{meta.get('name')}.yaml".lower()
            (Path(directory) / name).write_text(yaml.safe_dump(_plain(obj), sort_keys=False))
        env = {**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "BC_SKIP_MAPPING": "TRUE"}
        result = subprocess.run(
            [str(checkov), "-d", directory, "--framework", "kubernetes", "--skip-download", "--quiet", "-o", "json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
    # checkov exits 1 when a check fails; anything else (or no JSON) is a broken run, never "no findings".
    if result.returncode not in (0, 1):
        raise AssertionError(f"checkov failed (exit {result.returncode}): {result.stderr[-2000:]}")
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError as error:
        tail = f"{result.stdout[-500:]} {result.stderr[-1000:]}"
        raise AssertionError(f"checkov printed no JSON report: {tail}") from error
    reports = report if isinstance(report, list) else [report]
    findings: set[Finding] = set()
    passed = 0
    for item in reports:
        if item.get("check_type") not in (None, "kubernetes"):
            continue
        results = item.get("results") or {}
        passed += len(results.get("passed_checks") or [])
        for failed in results.get("failed_checks") or []:
            findings.add(Finding(failed["check_id"], failed["resource"]))
    if objects and not passed and not findings:
        raise AssertionError("checkov evaluated no check at all: the objects were not parsed")
    return sorted(findings)


def load_allowlist(path: Path = ALLOWLIST) -> list[AllowEntry]:
    """Entries of the allow-list; each needs check, resource and a non-empty one-line reason."""
    entries: list[AllowEntry] = []
    for index, raw in enumerate(yaml.safe_load(path.read_text()) or []):
        reason = str(raw.get("reason") or "").strip()
        if not raw.get("check") or not raw.get("resource") or not reason or "\n" in reason:
            raise AssertionError(f"{path} entry {index + 1}: needs check, resource and a one-line reason")
        entries.append(AllowEntry(Finding(raw["check"], raw["resource"]), reason))
    return entries


def resource_name(obj: dict[str, Any]) -> str:
    """checkov's name for a Kubernetes object (`Kind.namespace.name`, namespace "default" when unset)."""
    meta = obj.get("metadata") or {}
    return f"{obj['kind']}.{meta.get('namespace') or 'default'}.{meta.get('name')}"


def compare(
    findings: Iterable[Finding], allowed: Iterable[AllowEntry], scanned: Iterable[dict[str, Any]]
) -> tuple[list[Finding], list[Finding]]:
    """(failures not on the allow-list, entries for scanned objects that no longer fail = stale).

    Entries naming objects outside `scanned` are left to the scan that covers them.
    """
    found = set(findings)
    names = {resource_name(obj) for obj in scanned}
    listed = {entry.finding for entry in allowed if entry.finding.resource in names}
    return sorted(found - listed), sorted(listed - found)
