"""The reviewed allow-list (`tools/chart_check/allowlist.yaml`): findings of the pinned charts accepted on purpose.

One entry per check, release and object, each with a one-line reason:

    - release: kube-prometheus-stack          # the release name, as the findings print it
      check: checkov:CKV_K8S_43               # policy:<policy> or checkov:<id>, nothing else
      object: Deployment monitoring/kube-prometheus-stack-operator   # Kind namespace/name (`-` cluster-scoped)
      message: no resources.limits.cpu        # policy entries: a substring of the one finding accepted
      reason: ...                             # why the platform accepts it

Pod Security, schema, namespace, chart and render findings cannot be listed: each would make the deploy
fail. A policy entry names its message, as one policy reports several problems of one object. Wildcards are
refused. An entry that matches no finding of a release this run rendered is reported as stale, so the list
shrinks when a chart or a value fixes what it accepts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from tools.chart_check.report import Finding

DEFAULT = Path(__file__).resolve().parent / "allowlist.yaml"
LISTABLE = ("policy:", "checkov:")
STALE_CHECK = "allow-list"
KEYS = {"release", "check", "object", "message", "reason"}


class AllowListError(Exception):
    """The allow-list file is malformed or lists what may not be listed."""


@dataclass(frozen=True)
class Entry:
    """One accepted finding."""

    release: str
    check: str
    object: str  # "Kind namespace/name", namespace `-` for cluster-scoped objects
    reason: str
    message: str = ""

    def matches(self, found: Finding) -> bool:
        """Whether the entry accepts this finding (any stack)."""
        where = f"{found.kind} {found.namespace or '-'}/{found.name}"
        return (found.release, found.check, where) == (
            self.release,
            self.check,
            self.object,
        ) and self.message in found.message

    def stale(self) -> Finding:
        """The finding reporting this entry as no longer needed."""
        kind, _, rest = self.object.partition(" ")
        namespace, _, name = rest.partition("/")
        message = f"stale entry: {self.check} {self.message!r} no longer fires; remove it from the allow-list"
        return Finding(self.release, "-", kind, "" if namespace == "-" else namespace, name, STALE_CHECK, message)


def _entry(index: int, raw: object) -> Entry:
    """One entry, checked."""
    if not isinstance(raw, dict):
        raise AllowListError(f"entry {index}: not a mapping")
    unknown = set(raw) - KEYS
    if unknown:
        raise AllowListError(f"entry {index}: unknown keys {sorted(unknown)}")
    values = {key: str(raw.get(key) or "").strip() for key in KEYS}
    for key in ("release", "check", "object", "reason"):
        if not values[key]:
            raise AllowListError(f"entry {index} ({values['check']} {values['object']}): no {key}")
    if not values["check"].startswith(LISTABLE):
        raise AllowListError(
            f"entry {index}: {values['check']} cannot be allow-listed (only policy: and checkov: findings; "
            "Pod Security, schema and render findings fail the deploy and must be fixed in the values)"
        )
    if values["check"].startswith("policy:") and not values["message"]:
        raise AllowListError(f"entry {index} ({values['check']} {values['object']}): a policy entry needs a message")
    if any("*" in values[key] for key in ("release", "check", "object")) or " " not in values["object"]:
        raise AllowListError(f"entry {index}: name one object as 'Kind namespace/name', no wildcards")
    return Entry(values["release"], values["check"], values["object"], values["reason"], values["message"])


def load(path: Path) -> list[Entry]:
    """The entries of an allow-list file; AllowListError when the file or an entry is not acceptable."""
    if not path.is_file():
        raise AllowListError(f"{path}: no such allow-list")
    raw = yaml.safe_load(path.read_text()) or []
    if not isinstance(raw, list):
        raise AllowListError(f"{path}: not a list of entries")
    entries = [_entry(index, item) for index, item in enumerate(raw, 1)]
    seen: set[tuple[str, str, str, str]] = set()
    for entry in entries:
        key = (entry.release, entry.check, entry.object, entry.message)
        if key in seen:
            raise AllowListError(f"{path}: duplicate entry {key}")
        seen.add(key)
    return entries


def apply(
    findings: Sequence[Finding], entries: Sequence[Entry], rendered: Iterable[str]
) -> tuple[list[Finding], list[Finding]]:
    """(findings left, with a stale-entry finding for every entry of a rendered release that matched
    nothing; findings the list accepts)."""
    left: list[Finding] = []
    allowed: list[Finding] = []
    used: set[Entry] = set()
    for found in findings:
        entry = next((entry for entry in entries if entry.matches(found)), None)
        if entry is None:
            left.append(found)
        else:
            allowed.append(found)
            used.add(entry)
    releases = set(rendered)
    left += [entry.stale() for entry in entries if entry not in used and entry.release in releases]
    return left, allowed
