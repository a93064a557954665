"""Findings, one a line, and the summary of a run."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tools.chart_check.releases import ReleaseSpec


@dataclass(frozen=True, order=True)
class Finding:
    """One problem of one rendered object (or of a whole release, when it could not be rendered)."""

    release: str
    stack: str
    kind: str
    namespace: str
    name: str
    # pod-security/<level>:<check id>, schema, policy:<policy>, checkov:<id>, namespace, chart, render, allow-list
    check: str
    message: str

    def line(self, stacks: Iterable[str] = ()) -> str:
        """The finding as one output line, naming every stack it occurs in."""
        where = f"{self.release}[{','.join(stacks or [self.stack])}]"
        return f"{where} | {self.kind} {self.namespace or '-'}/{self.name} | {self.check} | {self.message}"

    @property
    def what(self) -> tuple[str, str, str, str, str, str]:
        """The finding without its stack: the same problem in two stacks is reported once."""
        return (self.release, self.kind, self.namespace, self.name, self.check, self.message)


def release_label(spec: ReleaseSpec) -> str:
    """`name[stack]`: how a release is named in the summary."""
    return f"{spec.name}[{spec.stack}]"


def finding(spec: ReleaseSpec, obj: Mapping[str, Any] | None, check: str, message: str) -> Finding:
    """A finding about `obj` (None: the release as a whole)."""
    meta = (obj or {}).get("metadata") or {}
    kind = str((obj or {}).get("kind") or "Release")
    name = str(meta.get("name") or (spec.name if obj is None else "?"))
    namespace = str(meta.get("namespace") or (spec.namespace if obj is None else ""))
    return Finding(spec.name, spec.stack, kind, namespace, name, check, message)


@dataclass
class Summary:
    """What a run checked and found."""

    releases: int = 0
    objects: int = 0
    pods: int = 0  # pod-bearing objects checked against their namespace's Pod Security level
    per_release: dict[str, int] = field(default_factory=dict)  # release label -> objects rendered
    findings: list[Finding] = field(default_factory=list)
    allowed: list[Finding] = field(default_factory=list)  # accepted by the allow-list: reported, not failing

    def grouped(self) -> dict[tuple[str, ...], list[Finding]]:
        """Findings by what they say, each with the stacks it occurs in."""
        groups: dict[tuple[str, ...], list[Finding]] = {}
        for item in sorted(set(self.findings)):
            groups.setdefault(item.what, []).append(item)
        return groups

    def lines(self) -> list[str]:
        """One line per distinct finding, sorted."""
        return [found[0].line(sorted({f.stack for f in found})) for found in self.grouped().values()]

    def text(self) -> str:
        """The summary: releases, objects and findings per check."""
        by_check = Counter(what[4].split(":", 1)[0] for what in self.grouped())
        counts = ", ".join(f"{check} {count}" for check, count in sorted(by_check.items())) or "none"
        rendered = ", ".join(f"{label} {count}" for label, count in sorted(self.per_release.items()))
        return (
            f"chart-check: {self.releases} releases, {self.objects} objects ({self.pods} pod-bearing) checked; "
            f"{len(self.grouped())} findings ({counts}); {len({f.what for f in self.allowed})} allowed by the "
            f"allow-list\n  objects per release: {rendered or '-'}"
        )
