"""tools/schemas/lock.json against the schema data the suite reads, the kinds and charts the program uses, and
the Makefile's choice of schema directories (env var, else ../shared/schemas, else the `make schemas` cache)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from components.settings.versions import CHARTS
from tests.harness.program import REPO, ProgramRun
from tests.harness.schemas import _core_validator, _split_api_version
from tools.schemas.download import load_lock

LOCK = load_lock()
ROOTS = {"crd": "CRD_SCHEMA_DIR", "helm": "HELM_SCHEMA_DIR", "github-actions": "GITHUB_ACTIONS_SCHEMA_DIR"}
RAW_AT_COMMIT = re.compile(r"^https://raw\.githubusercontent\.com/[\w.-]+/[\w.-]+/[0-9a-f]{40}/\S+$")
CHART_FILES = {"Chart.yaml", "values.yaml", "values.schema.json"}
CHART_PACKAGE = re.compile(r"^https://\S+/(?P<name>[\w-]+)-(?P<version>v?\d+\.\d+\.\d+)\.tgz$")


def in_use(path: str) -> Path:
    top, rest = path.split("/", 1)
    directory = os.environ.get(ROOTS[top])
    assert directory, f"{ROOTS[top]} is not set (`make test` sets it)"
    return Path(directory) / rest


def test_the_schema_data_in_use_is_exactly_what_the_lock_pins():
    """In CI this holds the lock to ../shared/schemas; elsewhere it catches a stale or partial cache."""
    problems = []
    for path, entry in LOCK["files"].items():
        file = in_use(path)
        if not file.is_file():
            problems.append(f"{path}: missing in {file.parent} (run `make schemas`)")
        elif hashlib.sha256(file.read_bytes()).hexdigest() != entry["sha256"]:
            problems.append(f"{path}: {file} differs from the lock (run `make schemas`)")
    assert not problems, "\n".join(problems)


def test_every_source_is_pinned_and_every_checksum_is_a_sha256():
    for path, entry in LOCK["files"].items():
        url = entry["url"]
        package = CHART_PACKAGE.match(url)
        assert RAW_AT_COMMIT.match(url) or package, f"{path}: {url} is neither a file at a commit nor a chart package"
        assert re.fullmatch(r"[0-9a-f]{64}", entry["sha256"]), path
        if entry.get("derive") or package:
            assert re.fullmatch(r"[0-9a-f]{64}", entry.get("url_sha256", "")), f"{path}: the artifact is not pinned"


def test_the_chart_files_are_those_of_the_pinned_chart_versions():
    checked = {c.schema_dir: c for c in CHARTS.values() if (in_use("helm/") / c.schema_dir / "values.yaml").is_file()}
    assert set(LOCK["charts"]) == set(checked)
    for name, chart in LOCK["charts"].items():
        assert chart["version"] == checked[name].version, name
        shipped = {p.name for p in (in_use("helm/") / name).iterdir()} & CHART_FILES
        assert {p.rsplit("/", 1)[1] for p in LOCK["files"] if p.startswith(f"helm/{name}/")} == shipped, name
        for path, entry in LOCK["files"].items():
            if path.startswith(f"helm/{name}/"):
                assert chart["ref"].split()[-1] in entry["url"] or chart["version"] in entry["url"], path


def test_every_custom_resource_of_both_stacks_has_its_schema_in_the_lock(stack_runs: dict[str, ProgramRun]):
    needed = set()
    for run in stack_runs.values():
        for obj in run.k8s_objects():
            group, version = _split_api_version(obj["apiVersion"])
            if "." in group and _core_validator(obj["kind"], obj["apiVersion"]) is None:
                needed.add(f"crd/{group}/{obj['kind'].lower()}_{version}.json")
    assert needed, "the stacks render no custom resource"
    assert needed <= set(LOCK["files"]), sorted(needed - set(LOCK["files"]))


# --- Makefile: which schema directories `make test` uses ---

MAKE = shutil.which("make")
PROBE = 'probe:\n\t@echo "$$CRD_SCHEMA_DIR|$$HELM_SCHEMA_DIR|$$GITHUB_ACTIONS_SCHEMA_DIR"\n'


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the Makefile in a fresh checkout directory, with no ../shared beside it."""
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(REPO / "Makefile", repo / "Makefile")
    (repo / "probe.mk").write_text(PROBE)
    return repo


def make(repo: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    assert MAKE, "make is not installed"
    clean = {k: v for k, v in os.environ.items() if k not in {*ROOTS.values(), "MAKEFLAGS", "MAKELEVEL", "MFLAGS"}}
    return subprocess.run(
        [MAKE, "--no-print-directory", *args],
        cwd=repo,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def probe(repo: Path, **env: str) -> list[str]:
    result = make(repo, "-s", "-f", "Makefile", "-f", "probe.mk", "probe", **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().split("|")


def test_a_fresh_clone_uses_the_cache_and_fills_it_before_anything_else(checkout: Path):
    cache = checkout / ".cache" / "schemas"
    assert probe(checkout) == [str(cache / "crd"), str(cache / "helm"), str(cache / "github-actions")]
    commands = make(checkout, "-n", "test").stdout.splitlines()
    download = next(i for i, c in enumerate(commands) if "python -m tools.schemas download" in c)
    assert f'--cache "{cache}"' in commands[download]
    assert download < next(i for i, c in enumerate(commands) if "sync --locked --group test" in c)
    assert download < next(i for i, c in enumerate(commands) if c.endswith("python -m pytest"))
    mirrored = make(checkout, "-n", "schemas", "SCHEMA_MIRROR=https://mirror.example/s/").stdout
    assert '--mirror "https://mirror.example/s/"' in mirrored


def test_shared_schemas_beside_the_checkout_win_over_the_cache(checkout: Path):
    shared = checkout.parent / "shared" / "schemas"
    shared.mkdir(parents=True)
    assert probe(checkout) == [str(shared / "crd"), str(shared / "helm"), str(shared / "github-actions")]
    assert "tools.schemas download" not in make(checkout, "-n", "test").stdout


def test_a_configured_directory_wins(checkout: Path, tmp_path: Path):
    assert probe(checkout, CRD_SCHEMA_DIR=str(tmp_path))[0] == str(tmp_path)


def test_a_missing_configured_directory_fails_at_once_with_a_hint(checkout: Path, tmp_path: Path):
    missing = tmp_path / "nowhere"
    started = time.monotonic()
    result = make(
        checkout,
        "test",
        CRD_SCHEMA_DIR=str(missing),
        HELM_SCHEMA_DIR=str(tmp_path),
        GITHUB_ACTIONS_SCHEMA_DIR=str(tmp_path),
    )
    assert time.monotonic() - started < 10
    assert result.returncode != 0
    (hint,) = [line for line in result.stderr.splitlines() if not line.startswith("make: ***")]
    assert str(missing) in hint and "`make schemas`" in hint


def test_ci_keeps_reading_the_shared_schemas():
    run = (REPO / ".ci" / "run").read_text()
    assert 'shared="$(pwd)/../shared/schemas"' in run
    for variable in ROOTS.values():
        assert f'export {variable}="$shared/' in run
