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


# --- the first deploy's critical path -------------------------------------------------------------------------


def _is_node(registration: Registration) -> bool:
    """A node of the deploy graph: a resource the engine creates (providers included) or a ConfigGroup
    (one apply of a layer). Other components only group their children."""
    return registration.custom or registration.type == CONFIG_GROUP


def _node_edges(run: ProgramRun, providers: bool) -> dict[str, set[str]]:
    """Node URN -> the node URNs it waits for directly: its dependencies (a component expanded to every node
    under it) and, with `providers`, its provider (the engine creates a provider before any resource using it)."""
    nodes = {r.urn: r for r in run.registrations if _is_node(r)}
    children: dict[str, list[str]] = {}
    for registration in run.registrations:
        children.setdefault(registration.parent, []).append(registration.urn)

    def expand(urn: str) -> set[str]:
        found: set[str] = set()
        pending = [urn]
        while pending:
            current = pending.pop()
            if current in nodes:
                # A resource (custom or ConfigGroup) is waited for by itself: the engine expands only a
                # component dependency to the resources under it, never a resource's own children.
                found.add(current)
                continue
            pending.extend(children.get(current, []))
        return found

    edges: dict[str, set[str]] = {}
    for urn, registration in nodes.items():
        direct: set[str] = set()
        for dependency in registration.dependencies:
            direct |= expand(dependency)
        # A provider reference is "<urn>::<id>".
        provider = registration.provider.rpartition("::")[0]
        if providers and provider in nodes:
            direct.add(provider)
        edges[urn] = direct - {urn}
    return edges


def critical_path(run: ProgramRun, *, providers: bool = False) -> list[str]:
    """The longest chain of nodes the engine must create one after another (names, first to last).

    By default over the registered dependencies only, the measure issue 14 set its targets in (27 nodes
    before); `providers=True` also counts the wait for each resource's provider (the Kubernetes provider
    first, the pulumi-vault provider before Vault's configuration), the engine's real order."""
    edges = _node_edges(run, providers)
    longest: dict[str, list[str]] = {}

    def path_to(urn: str) -> list[str]:
        if urn not in longest:
            before = max((path_to(d) for d in edges[urn]), key=len, default=[])
            longest[urn] = [*before, urn]
        return longest[urn]

    best = max((path_to(urn) for urn in edges), key=len, default=[])
    return [run.by_urn(urn).name for urn in best]


def flux_depth(run: ProgramRun) -> int:
    """The longest `dependsOn` chain of the Flux Kustomizations (number of Kustomizations on it; 0: none)."""
    kustomizations = {
        r.inputs["metadata"]["name"]: [d["name"] for d in r.inputs["spec"].get("dependsOn", [])]
        for r in run.registrations
        if r.type == "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization"
    }
    depth: dict[str, int] = {}

    def depth_of(name: str) -> int:
        if name not in depth:
            depth[name] = 1 + max((depth_of(d) for d in kustomizations[name]), default=0)
        return depth[name]

    return max((depth_of(name) for name in kustomizations), default=0)
