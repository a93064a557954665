"""What the program deploys with Helm, read from a mock run of the real program.

`run_stack(stack)` (tests/harness/program.py) registers every `kubernetes:helm.sh/v3:Release` with its
chart, version, repository, namespace and values exactly as `pulumi up` would send them, and every
Namespace with its labels. A release belongs to one stack and one cluster (its Kubernetes provider).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"
NAMESPACE_TYPE = "kubernetes:core/v1:Namespace"


@dataclass(frozen=True)
class ReleaseSpec:
    """One Helm release as the program declares it."""

    name: str
    chart: str
    version: str
    repo: str
    namespace: str
    values: dict[str, Any] = field(hash=False, compare=False)
    cluster: str = ""  # the Kubernetes provider's URN: which cluster's namespaces apply
    stack: str = ""

    @property
    def key(self) -> str:
        """One release of one cluster of one stack."""
        return json.dumps([self.stack, self.cluster, self.name], sort_keys=True)


@dataclass
class Deployment:
    """Every release to check, and the labels of every namespace the program creates, per cluster."""

    releases: list[ReleaseSpec]
    namespace_labels: dict[tuple[str, str], dict[str, str]]  # (cluster, namespace) -> labels


def _provider_urn(provider: str) -> str:
    """A provider reference is `<urn>::<id>`; the URN (it names the stack) stands for one cluster."""
    return provider.rsplit("::", 1)[0]


def release_of(registration: Any, stack: str) -> ReleaseSpec:
    """The release a `helm.sh/v3:Release` registration of `stack` declares."""
    inputs = registration.inputs
    return ReleaseSpec(
        name=str(inputs.get("name") or registration.name),
        chart=str(inputs["chart"]),
        version=str(inputs.get("version") or ""),
        repo=str((inputs.get("repositoryOpts") or {}).get("repo") or ""),
        namespace=str(inputs.get("namespace") or "default"),
        values=_plain(inputs.get("values") or {}),
        cluster=_provider_urn(registration.provider),
        stack=stack,
    )


def _plain(value: Any) -> Any:
    """Whole floats back to ints: mock inputs travel as protobuf numbers (a port 8200 arrives as 8200.0),
    while the engine sends Helm the integers the program wrote."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def merge(runs: Iterable[tuple[str, Any]]) -> Deployment:
    """Releases and namespace labels of several `(stack, ProgramRun)`s (each stack its own clusters: their
    provider URNs name the stack). Identical findings of the stacks are merged when reported."""
    releases: list[ReleaseSpec] = []
    labels: dict[tuple[str, str], dict[str, str]] = {}
    for stack, run in runs:
        releases.extend(release_of(registration, stack) for registration in run.of_type(RELEASE_TYPE))
        for registration in run.of_type(NAMESPACE_TYPE):
            meta = registration.inputs.get("metadata") or {}
            cluster = _provider_urn(registration.provider)
            labels[(cluster, str(meta.get("name")))] = dict(meta.get("labels") or {})
    return Deployment(releases, labels)


def from_program(stacks: Iterable[str]) -> Deployment:
    """Mock-run the real program for each stack (its committed stack file) and collect what it deploys."""
    from tests.harness.program import run_stack

    return merge((stack, run_stack(stack)) for stack in stacks)
