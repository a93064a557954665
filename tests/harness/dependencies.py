"""Ask whether one registered resource waits for another, the way the Pulumi engine orders them.

A resource waits for its explicit `depends_on` targets (recorded as `dependencies`) and, through them,
for their dependencies in turn. Depending on a component waits for every resource inside it. The
engine also waits for a parent's registration, but not for the parent's `depends_on`, so a child does
not inherit its parent's dependencies (pass them on explicitly).

`CRD_PROVIDERS` says which chart installs each custom resource API group; `missing_crd_dependencies`
uses it to check that every custom resource waits for the release that defines its kind.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from components.settings.versions import CHARTS
from tests.harness.helm_values import HELM_RELEASE, chart_of
from tests.harness.k8s_objects import CONFIG_GROUP, objects_of
from tests.harness.program import ProgramRun, Registration

# API group (exact, or a suffix after a dot) -> the CHARTS key of the chart that installs its CRDs.
CRD_PROVIDERS: dict[str, str] = {
    "cert-manager.io": "cert-manager",
    "acme.cert-manager.io": "cert-manager",
    "monitoring.coreos.com": "kube-prometheus-stack",
    "toolkit.fluxcd.io": "flux2",
    "secrets.hashicorp.com": "vault-secrets-operator",
    "redhatcop.redhat.io": "vault-config-operator",
    "postgresql.cnpg.io": "cloudnative-pg",
    "barmancloud.cnpg.io": "plugin-barman-cloud",
    "minio.min.io": "minio-operator",
    "sts.min.io": "minio-operator",
    "traefik.io": "traefik",
    "secrets-store.csi.x-k8s.io": "secrets-store-csi-driver",
}


def _descendants(run: ProgramRun, urn: str) -> Iterator[str]:
    for registration in run.registrations:
        if registration.parent == urn:
            yield registration.urn
            yield from _descendants(run, registration.urn)


def waits_for_urns(run: ProgramRun, registration: Registration) -> set[str]:
    """Every URN `registration` is ordered after (transitively, components expanded)."""
    seen: set[str] = set()
    pending = list(registration.dependencies)
    while pending:
        urn = pending.pop()
        if urn in seen:
            continue
        seen.add(urn)
        try:
            pending.extend(run.by_urn(urn).dependencies)
        except StopIteration:
            continue
        pending.extend(_descendants(run, urn))
    return seen


def waits_for(run: ProgramRun, dependent: Registration, dependency: Registration) -> bool:
    """Whether `dependent` is created only after `dependency` (and, for a component, all inside it)."""
    return dependency.urn in waits_for_urns(run, dependent)


def crd_chart(api_version: str) -> str | None:
    """The CHARTS key whose release installs the CRD of this apiVersion, or None for core kinds."""
    group = api_version.rpartition("/")[0]
    # Built-in groups: "", "apps", "batch", "policy", "*.k8s.io" (but "*.x-k8s.io" are CRDs of SIG projects).
    if "." not in group or (group.endswith(".k8s.io") and not group.endswith(".x-k8s.io")):
        return None
    for provided, chart in CRD_PROVIDERS.items():
        if group == provided or group.endswith("." + provided):
            return chart
    raise AssertionError(f"{api_version}: no chart known to install this API group; add it to CRD_PROVIDERS")


def _objects(registration: Registration) -> list[dict[str, Any]]:
    if registration.type == CONFIG_GROUP or (
        registration.type.startswith("kubernetes:") and "apiVersion" in registration.inputs
    ):
        return objects_of([registration])
    return []


def missing_crd_dependencies(run: ProgramRun) -> list[str]:
    """Custom resources whose registration does not wait for the release installing their CRD."""
    releases: dict[str, list[Registration]] = {}
    for release in run.of_type(HELM_RELEASE):
        key = next(k for k, c in CHARTS.items() if c == chart_of(release))
        releases.setdefault(key, []).append(release)
    problems = []
    for registration in run.registrations:
        for obj in _objects(registration):
            chart = crd_chart(obj["apiVersion"])
            if chart is None:
                continue
            kind = f"{obj['kind']} {obj['metadata'].get('name')}"
            providers = releases.get(chart, [])
            if not providers:
                problems.append(f"{registration.name}: {kind} needs chart {chart}, which this stack does not install")
            elif not any(waits_for(run, registration, provider) for provider in providers):
                problems.append(f"{registration.name}: {kind} does not wait for the {chart} release")
    return problems
