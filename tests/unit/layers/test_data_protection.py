"""Data is sacred: what holds data or identity is protected and retained, Flux never prunes the stateful objects,
and renaming a namespace or release that holds data makes the engine delete a protected resource, which it refuses."""

from __future__ import annotations

import pytest

from tests.harness.helm_values import HELM_RELEASE
from tests.harness.k8s_objects import CONFIG_GROUP
from tests.harness.program import PROJECT, ProgramRun, Registration, run_stack
from tests.harness.snapshot import engine_urns, snapshot

NAMESPACE = "kubernetes:core/v1:Namespace"
PRUNE = "kustomize.toolkit.fluxcd.io/prune"


def kept(registration: Registration) -> bool:
    return registration.protect and registration.retain_on_delete


def namespaces(run: ProgramRun) -> dict[str, Registration]:
    return {r.inputs["metadata"]["name"]: r for r in run.of_type(NAMESPACE)}


def test_only_the_namespaces_with_data_are_protected_and_retained(stack_run: ProgramRun):
    found = namespaces(stack_run)
    data = {"vault", "sms-proxy", "minio"}
    assert data <= set(found)
    assert {name for name, r in found.items() if kept(r)} == data
    # Operators' namespaces hold no data: they stay freely deletable (no protect to remove at teardown).
    assert not any(r.protect or r.retain_on_delete for name, r in found.items() if name not in data)


def test_the_vault_release_is_protected_and_retained(stack_run: ProgramRun):
    assert kept(stack_run.named("vault", HELM_RELEASE))
    assert stack_run.named("vault-init").protect
    # Other releases are not: an operator release holds no data and must stay upgradable by replacement.
    assert not any(r.protect for r in stack_run.of_type(HELM_RELEASE) if r.name != "vault")


def test_the_local_stacks_stateful_layers_are_protected_and_retained(stack_runs: dict[str, ProgramRun]):
    run = stack_runs["local"]
    groups = {r.name: r for r in run.of_type(CONFIG_GROUP)}
    assert {name for name, r in groups.items() if kept(r)} == {"postgresql", "s3"}
    kinds = {o["kind"] for o in groups["postgresql"].inputs["objs"]} | {o["kind"] for o in groups["s3"].inputs["objs"]}
    assert {"Cluster", "Tenant"} <= kinds


def test_flux_never_prunes_the_cluster_the_tenant_or_their_credentials(stack_runs: dict[str, ProgramRun]):
    objects = stack_runs["local"].k8s_objects()
    annotated = {
        (o["kind"], o["metadata"]["name"]) for o in objects if (o["metadata"].get("annotations") or {}).get(PRUNE)
    }
    assert {(o["kind"], o["metadata"]["name"]) for o in objects if o["kind"] in ("Cluster", "Tenant")} <= annotated
    assert {("RandomSecret", "minio-root"), ("RandomSecret", "s3-registry")} <= annotated
    assert all(
        o["metadata"]["annotations"][PRUNE] == "disabled"
        for o in objects
        if (o["metadata"].get("annotations") or {}).get(PRUNE)
    )


def _protected_deletes(before: ProgramRun, after: ProgramRun) -> set[str]:
    """Engine URNs that were protected before and are gone from the program after: the engine must delete them,
    and refuses to (a protected resource is never deleted or replaced)."""
    old = engine_urns(snapshot(before), before.stack, PROJECT)
    new = set(engine_urns(snapshot(after), after.stack, PROJECT).values())
    protected = {old[r.urn] for r in before.registrations if r.protect}
    return {urn for urn in protected if urn not in new}


@pytest.mark.parametrize(
    ("config", "gone"),
    [
        ({"namespaces": {"vault": "vault-2"}}, "kubernetes:core/v1:Namespace::vault"),
        ({"namespaces": {"app": "shop"}}, "kubernetes:core/v1:Namespace::sms-proxy"),
        ({"namespaces": {"storage": "objects"}}, "kubernetes:core/v1:Namespace::minio"),
        ({"vault": {"releaseName": "bank"}}, "kubernetes:helm.sh/v3:Release::vault"),
    ],
)
def test_renaming_what_holds_data_is_a_refused_delete(stack_runs: dict[str, ProgramRun], config, gone):
    renamed = run_stack("local", config)
    refused = _protected_deletes(stack_runs["local"], renamed)
    assert any(urn.endswith(gone) for urn in refused), refused


def test_renaming_an_operator_namespace_deletes_nothing_protected(stack_runs: dict[str, ProgramRun]):
    # The check above is not blind: a namespace without data is simply replaced.
    assert _protected_deletes(stack_runs["local"], run_stack("local", {"namespaces": {"ingress": "edge"}})) == set()
