"""A first deploy on a fresh cluster: short critical path, NetworkPolicies before any workload, each layer after what
it needs (CRDs, Vault's configuration, the app's images) and nothing else (issue 14)."""

from __future__ import annotations

import dataclasses

import pytest

from components.rendering import layers
from tests.fixtures.config import IMAGE_SOURCE
from tests.harness.dependencies import critical_path, flux_depth, waits_for
from tests.harness.helm_values import HELM_RELEASE
from tests.harness.k8s_objects import CONFIG_GROUP, objects_of
from tests.harness.program import ProgramRun, Registration, run_stack

# The targets issue 14 set (before: local 27 nodes, Flux dependsOn depth 15).
MAX_CRITICAL_PATH = 12
MAX_FLUX_DEPTH = 6
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"}
AUTH_ROLE = "vault:kubernetes/authBackendRole:AuthBackendRole"
REGISTRY_IMAGE = "pulumi-python:dynamic/registry:Image"


def groups(run: ProgramRun) -> dict[str, Registration]:
    return {r.name: r for r in run.of_type(CONFIG_GROUP) if "AppLayers" in r.parent or "NetworkPolicies" in r.parent}


def policy_groups(run: ProgramRun) -> list[Registration]:
    return [r for r in run.of_type(CONFIG_GROUP) if r.name.startswith("network-policies")]


def test_the_committed_stacks_meet_the_targets(stack_runs: dict[str, ProgramRun]):
    local, remote = stack_runs["local"], stack_runs["remote"]
    assert "migrations" in local.outputs["layers"]  # the committed local stack deploys the app (app.imageSource)
    path = critical_path(local)
    assert len(path) <= MAX_CRITICAL_PATH, path
    assert len(critical_path(remote)) <= MAX_CRITICAL_PATH, critical_path(remote)
    assert 0 < flux_depth(remote) <= MAX_FLUX_DEPTH


@pytest.mark.parametrize(
    "config",
    [{"app": {"secretsDelivery": "csi", **IMAGE_SOURCE}}, {"kubernetes": {"cluster": {"create": True}}}],
    ids=["csi", "kind"],
)
def test_variants_meet_the_targets(config):
    run = run_stack("local", config)
    assert len(critical_path(run)) <= MAX_CRITICAL_PATH, critical_path(run)


def test_the_metric_sees_a_chain(stack_runs: dict[str, ProgramRun]):
    """Chaining every application layer to the one before it, as the program did, breaks the target."""
    local = stack_runs["local"]
    order = local.outputs["layers"]
    by_name = groups(local)
    chained = []
    for registration in local.registrations:
        if (
            registration.type == CONFIG_GROUP
            and registration.name in order[1:]
            and registration.urn in {g.urn for g in by_name.values()}
        ):
            previous = by_name[order[order.index(registration.name) - 1]].urn
            registration = dataclasses.replace(registration, dependencies=[*registration.dependencies, previous])
        chained.append(registration)
    assert len(critical_path(ProgramRun(local.stack, chained, local.outputs))) > MAX_CRITICAL_PATH


def test_flux_depth_counts_the_longest_depends_on_chain(stack_runs: dict[str, ProgramRun]):
    remote = stack_runs["remote"]
    kustomizations = [r for r in remote.registrations if r.inputs.get("kind") == "Kustomization"]
    names = [k.inputs["metadata"]["name"] for k in kustomizations]
    chained = []
    for registration in remote.registrations:
        if registration in kustomizations and names.index(registration.inputs["metadata"]["name"]):
            inputs = {**registration.inputs, "spec": dict(registration.inputs["spec"])}
            inputs["spec"]["dependsOn"] = [{"name": names[names.index(inputs["metadata"]["name"]) - 1]}]
            registration = dataclasses.replace(registration, inputs=inputs)
        chained.append(registration)
    assert flux_depth(ProgramRun(remote.stack, chained, remote.outputs)) == len(names) > MAX_FLUX_DEPTH


def test_network_policies_come_right_after_the_namespaces_and_before_every_workload(stack_run: ProgramRun):
    policies = policy_groups(stack_run)
    assert {p.name for p in policies} >= {"network-policies", "network-policies-node-exporter"}
    for policy in policies:
        # Nothing but namespaces before them: no release, no other layer.
        for urn in policy.dependencies:
            assert stack_run.by_urn(urn).type == "kubernetes:core/v1:Namespace", (policy.name, urn)
    for release in stack_run.of_type(HELM_RELEASE):
        missing = [p.name for p in policies if not waits_for(stack_run, release, p)]
        assert not missing, f"{release.name} does not wait for {missing}"
    for group in stack_run.of_type(CONFIG_GROUP):
        if {obj["kind"] for obj in objects_of([group])} & WORKLOAD_KINDS:
            missing = [p.name for p in policies if not waits_for(stack_run, group, p)]
            assert not missing, f"{group.name} does not wait for {missing}"


def test_independent_releases_install_in_parallel(stack_run: ProgramRun):
    release = {r.name: r for r in stack_run.of_type(HELM_RELEASE)}
    # CloudNativePG, Traefik and Flux each need only the monitoring CRDs, not each other or Vault.
    for first, second in [("cloudnative-pg", "traefik"), ("traefik", "flux2"), ("minio-operator", "cert-manager")]:
        assert not waits_for(stack_run, release[first], release[second]), (first, second)
        assert not waits_for(stack_run, release[second], release[first]), (second, first)
    # The Vault operators install while Vault starts: their CRDs come without waiting for Vault's init.
    assert not waits_for(stack_run, release["vault-secrets-operator"], release["vault"])


def _reads_vault(layer: layers.Layer) -> bool:
    """The layer reads Vault, or needs a layer that does (it then waits for Vault through that layer)."""
    return layer.reads_vault or any(_reads_vault(layers.layer_named(d)) for d in layer.depends_on)


def test_layers_that_read_vault_wait_for_its_configuration_and_no_other_layer_does():
    run = run_stack("local")
    roles = run.of_type(AUTH_ROLE)
    assert roles
    for name, group in groups(run).items():
        if name.startswith("network-policies"):
            continue
        reads = _reads_vault(layers.layer_named(name))
        waits = all(waits_for(run, group, role) for role in roles)
        assert waits == reads, f"{name}: reads Vault (itself or a layer it needs)={reads}, waits: {waits}"
    assert {"registry", "migrations", "app-vso"} <= {n for n in groups(run) if layers.layer_named(n).reads_vault}


def test_layers_wait_for_the_releases_of_their_crds_only():
    run = run_stack("local")
    release = {r.name: r for r in run.of_type(HELM_RELEASE)}
    group = groups(run)
    assert waits_for(run, group["ingress"], release["traefik"])
    assert not waits_for(run, group["ingress"], release["cloudnative-pg"])
    assert waits_for(run, group["postgresql"], release["cloudnative-pg"])
    assert not waits_for(run, group["postgresql"], release["traefik"])
    assert not waits_for(run, group["vault-config"], group["ingress"])


def test_the_app_images_are_copied_before_anything_pulls_them():
    run = run_stack("local")
    copies = run.of_type(REGISTRY_IMAGE)
    assert sorted(c.name for c in copies) == ["app-image", "migrations-image"]
    group = groups(run)
    for copy in copies:
        assert waits_for(run, copy, group["registry"]) and waits_for(run, copy, group["registry-access"])
        assert copy.is_secret("password") and "password" in copy.additional_secret_outputs
        for layer in ("migrations", "app-vso"):
            assert waits_for(run, group[layer], copy), (layer, copy.name)
    # The exact references the workloads pull.
    pulled = {
        c["image"]
        for obj in objects_of([group["migrations"], group["app-vso"]])
        if obj["kind"] in WORKLOAD_KINDS
        for c in obj["spec"]["template"]["spec"]["containers"]
    }
    pushed = {f"registry.local/{c.inputs['repository']}:{c.inputs['tag']}" for c in copies}
    assert pulled == pushed


def test_without_an_image_source_the_local_stack_deploys_no_workload_that_would_wait(monkeypatch):
    warnings: list[str] = []
    monkeypatch.setattr("pulumi.log.warn", lambda message, *args, **kwargs: warnings.append(message))
    run = run_stack("local", {"app": {"imageSource": None}})
    assert not {"migrations", "app-vso"} & set(run.outputs["layers"])
    assert not run.of_type(REGISTRY_IMAGE)
    assert {"app", "registry", "postgresql", "database-engine"} <= set(run.outputs["layers"])
    assert any("app.imageSource is not set" in w for w in warnings), warnings


def test_flux_never_prunes_the_policies_it_used_to_apply(stack_runs: dict[str, ProgramRun]):
    """Deleting the former network-policies Kustomizations (prune: true) must not delete what Pulumi applies."""
    for policy in policy_groups(stack_runs["remote"]):
        for obj in objects_of([policy]):
            assert obj["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/prune"] == "disabled", obj["metadata"]
    kustomizations = [r for r in stack_runs["remote"].registrations if r.inputs.get("kind") == "Kustomization"]
    assert not [k for k in kustomizations if "network-policies" in k.inputs["spec"]["path"]]
