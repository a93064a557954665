"""Parity: for every Kustomization of the remote stack, what Flux would apply equals what the local stack
applies for that layer; paths and the dependsOn chain are valid; the remote stack applies no
application-layer object itself.

Both runs use the remote stack file's config (the local one with `mode: local`), so any difference comes
from the code paths, not from config. The real repository has few non-bootstrap layers early on, so the
same checks also run with temporary extra layers, and are shown to fail on a broken Kustomization.
"""

from __future__ import annotations

import copy
import shutil

import pytest

from components.rendering import layers
from components.rendering.layers import Layer
from tests.fixtures.config import IMAGE_SOURCE
from tests.fixtures.variants import LAYER_SWITCHES as VARIANTS
from tests.harness import flux_parity
from tests.harness.program import REPO, ProgramRun, run_stack, stack_config
from tests.harness.schemas import validate_object


def run_pair(config: dict | None = None, secrets: dict | None = None) -> tuple[ProgramRun, ProgramRun]:
    """(remote run, local run with the same config): the remote stack file with `config` merged over it."""
    remote = run_stack("remote", config, secrets)
    # The same cluster as the remote stack's (an existing one, not the local stack's default kind cluster); the
    # local stack copies the app's images into its registry (app.imageSource) where the remote stack's CI
    # pushes them: with both, the two stacks deploy the same layers.
    local_config = {
        **stack_config("remote"),
        "mode": "local",
        "app": dict(IMAGE_SOURCE),
        "kubernetes": {"cluster": {"create": False}},
    }
    for key, value in (config or {}).items():
        local_config[key] = {**local_config.get(key, {}), **value}
    local = run_stack("local", local_config, secrets, replace=True)
    return remote, local


# NetworkPolicies are bootstrap (Pulumi applies them right after the namespaces): never a Kustomization.
SWITCHED_ON = {
    "csi-secrets": {"app-csi", "app-csi-vault-ca"},
    "external-s3-and-registry": {"registry-access"},
    "vault-second-cluster": {"vault-config"},
    "vault-existing": {"vault-config"},
    "csi-secrets-vault-existing": {"app-csi"},
}
SWITCHED_OFF = {
    "csi-secrets": {"app-vso", "network-policies-vault-csi"},
    "external-s3-and-registry": {"s3", "registry", "network-policies-registry", "network-policies-minio"},
    "vault-second-cluster": {"network-policies-vault", "network-policies-vault-external"},
    "vault-existing": {"network-policies-vault", "network-policies-vault-external"},
    "csi-secrets-vault-existing": {"app-vso", "app-csi-vault-ca", "network-policies-vault-csi"},
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_parity_holds_for_each_layer_switch(variant):
    config, secrets = VARIANTS[variant]
    remote, local = run_pair(config, secrets)
    assert flux_parity.parity_problems(remote, local, REPO) == []
    assert flux_parity.dependency_problems(flux_parity.kustomizations(remote)) == []
    assert flux_parity.direct_application_problems(remote, flux_parity.local_layer_objects(local)) == []
    assert remote.outputs["flux"]["kustomizations"] == local.outputs["layers"]
    synced = set(remote.outputs["flux"]["kustomizations"])
    assert synced >= SWITCHED_ON[variant] and not synced & SWITCHED_OFF[variant], synced


@pytest.fixture(scope="module")
def pair() -> tuple[ProgramRun, ProgramRun]:
    return run_pair()


def non_bootstrap_names(run: ProgramRun) -> list[str]:
    """The non-bootstrap layer names, in order, for the settings the run used."""
    from components.settings.load import load_settings
    from tests.fixtures.config import FakeConfig

    config = stack_config("remote")
    if run.stack == "local":
        config = {**config, "mode": "local", "app": dict(IMAGE_SOURCE)}
    return [layer.name for layer in layers.active_layers(load_settings(FakeConfig(config), run.stack), bootstrap=False)]


def test_flux_applies_what_the_local_stack_applies(pair):
    remote, local = pair
    assert flux_parity.parity_problems(remote, local, REPO) == []


def test_one_kustomization_per_application_layer_in_layer_order(pair):
    remote, local = pair
    expected = non_bootstrap_names(remote)
    # Registration order under mocks is not program order: compare sets, and the ordered outputs.
    assert sorted(k["metadata"]["name"] for k in flux_parity.kustomizations(remote)) == sorted(expected)
    assert sorted(flux_parity.local_layer_objects(local)) == sorted(expected)
    assert remote.outputs["flux"]["kustomizations"] == expected
    assert local.outputs["layers"] == expected


def test_every_path_is_a_non_empty_directory_of_the_repository(pair):
    remote, _ = pair
    for kustomization in flux_parity.kustomizations(remote):
        assert flux_parity.path_problems(kustomization, REPO) == []


def test_depends_on_names_existing_kustomizations_without_cycles(pair):
    remote, _ = pair
    assert flux_parity.dependency_problems(flux_parity.kustomizations(remote)) == []


def test_remote_stack_applies_no_application_layer_object(pair):
    remote, local = pair
    assert flux_parity.direct_application_problems(remote, flux_parity.local_layer_objects(local)) == []


def test_kustomizations_read_the_one_git_repository(pair):
    remote, _ = pair
    (repository,) = flux_parity.git_repositories(remote)
    for kustomization in flux_parity.kustomizations(remote):
        assert kustomization["spec"]["sourceRef"] == {"kind": "GitRepository", "name": repository["metadata"]["name"]}
        assert kustomization["metadata"]["namespace"] == repository["metadata"]["namespace"]


# --- temporary extra layers: the same checks with Kustomizations that exist whatever LAYERS holds today ---

EXTRA_CONFIG = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: extra-settings
  namespace: ${ns_app}
data:
  owner: "${platform_name:=unnamed}"
  literal: "$${not_substituted}"
"""
EXTRA_APP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: extra-app
  namespace: ${ns_app}
data:
  vault: ${vault_address}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: extra-untouched
  namespace: ${ns_app}
  annotations:
    kustomize.toolkit.fluxcd.io/substitute: disabled
data:
  template: "${kept_as_is}"
"""


@pytest.fixture(scope="module")
def extra_runs(tmp_path_factory: pytest.TempPathFactory):
    """A copy of the repository's manifests plus three layers (one disabled), patched into LAYERS, and
    one run of each stack with them: (repository root, remote run, local run)."""
    repo = tmp_path_factory.mktemp("extra") / "repo"
    shutil.copytree(REPO / "manifests", repo / "manifests")
    (repo / "manifests" / "gitops" / "extra-config").mkdir()
    (repo / "manifests" / "gitops" / "extra-config" / "settings.yaml").write_text(EXTRA_CONFIG)
    (repo / "manifests" / "gitops" / "extra-app" / "nested").mkdir(parents=True)
    (repo / "manifests" / "gitops" / "extra-app" / "nested" / "app.yaml").write_text(EXTRA_APP)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(layers, "MANIFESTS_DIR", repo / "manifests")
        patch.setattr(
            layers,
            "LAYERS",
            (
                *layers.LAYERS,
                Layer("extra-config"),
                Layer("extra-off", enabled=lambda _settings: False),
                Layer("extra-app", depends_on=("pki", "extra-off", "extra-config")),
            ),
        )
        remote, local = run_pair()
    return repo, remote, local


def test_extra_layers_become_chained_kustomizations_with_parity(extra_runs):
    extra_layers, remote, local = extra_runs
    found = {k["metadata"]["name"]: k for k in flux_parity.kustomizations(remote)}
    assert remote.outputs["flux"]["kustomizations"][-2:] == ["extra-config", "extra-app"]
    assert {"extra-config", "extra-app"} <= set(found)
    assert "extra-off" not in found  # disabled layers are neither synced nor depended on
    assert found["extra-app"]["spec"]["dependsOn"] == [{"name": "extra-config"}]
    assert found["extra-app"]["spec"]["path"] == "./manifests/gitops/extra-app"
    for kustomization in found.values():
        assert kustomization["spec"]["prune"] is True and kustomization["spec"]["wait"] is True
        validate_object(copy.deepcopy(kustomization))
    assert flux_parity.parity_problems(remote, local, extra_layers) == []
    assert flux_parity.dependency_problems(list(found.values())) == []
    assert flux_parity.direct_application_problems(remote, flux_parity.local_layer_objects(local)) == []
    applied = {o["metadata"]["name"]: o for objs in flux_parity.local_layer_objects(local).values() for o in objs}
    assert applied["extra-settings"]["data"] == {"owner": "platform", "literal": "${not_substituted}"}
    assert applied["extra-untouched"]["data"] == {"template": "${kept_as_is}"}
    # Local ConfigGroups wait for what the Kustomizations wait for.
    groups = {r.name: r for r in local.of_type("kubernetes:yaml/v2:ConfigGroup")}
    assert groups["extra-config"].urn in groups["extra-app"].dependencies
    assert groups["pki"].urn in groups["extra-app"].dependencies


def _with_kustomization(run: ProgramRun, name: str, change) -> ProgramRun:
    """A copy of `run` where Kustomization `name` was edited by `change(spec)`."""
    changed = copy.deepcopy(run)
    for registration in changed.registrations:
        if registration.inputs.get("kind") == "Kustomization" and registration.inputs["metadata"]["name"] == name:
            change(registration.inputs["spec"])
    return changed


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # A defaulted variable missing from substitute: Flux silently uses the default.
        (lambda spec: spec["postBuild"]["substitute"].pop("platform_name"), "differs"),
        # A variable without default missing from substitute: Flux fails the reconciliation.
        (lambda spec: spec["postBuild"]["substitute"].pop("ns_app"), "Flux would fail"),
        (lambda spec: spec["postBuild"]["substitute"].update(ns_app="elsewhere"), "Flux would apply"),
        (lambda spec: spec.update(path="./manifests/gitops/extra-app"), "Flux would apply"),
        (lambda spec: spec.update(path="./manifests/missing"), "does not exist"),
        (lambda spec: spec.update(path="./manifests/gitops/extra-config/settings.yaml"), "a file"),
        (lambda spec: spec.update(path="../outside"), "outside the repository"),
    ],
    ids=["default-var-dropped", "var-dropped", "var-changed", "wrong-path", "missing-path", "file-path", "escape"],
)
def test_parity_catches_a_broken_kustomization(extra_runs, change, expected):
    extra_layers, remote, local = extra_runs
    broken = _with_kustomization(remote, "extra-config", change)
    problems = flux_parity.parity_problems(broken, local, extra_layers)
    assert any(expected in p for p in problems), problems


def test_parity_catches_a_layer_only_one_side_has(extra_runs):
    extra_layers, remote, local = extra_runs
    dropped = copy.deepcopy(remote)
    dropped.registrations = [r for r in dropped.registrations if not r.name.endswith("extra-app")]
    assert any("no Kustomization" in p for p in flux_parity.parity_problems(dropped, local, extra_layers))


def test_dependency_check_catches_missing_targets_and_cycles():
    def kustomization(name: str, *depends: str) -> dict:
        return {
            "metadata": {"name": name, "namespace": "flux-system"},
            "spec": {"dependsOn": [{"name": d} for d in depends]},
        }

    assert flux_parity.dependency_problems([kustomization("a"), kustomization("b", "a")]) == []
    missing = flux_parity.dependency_problems([kustomization("a", "ghost")])
    assert missing == ["Kustomization a: dependsOn 'ghost' does not exist"]
    cycle = flux_parity.dependency_problems([kustomization("a", "c"), kustomization("b", "a"), kustomization("c", "b")])
    assert any("cycle" in p for p in cycle), cycle


def test_direct_application_check_catches_layer_objects(extra_runs):
    """The local run applies the layers itself: the check must flag exactly that."""
    _, _, local = extra_runs
    problems = flux_parity.direct_application_problems(local, flux_parity.local_layer_objects(local))
    assert any("ConfigGroup 'extra-app'" in p for p in problems), problems
    assert any("extra-settings" in p for p in problems), problems


def test_local_layers_wait_for_what_they_declare_and_not_for_their_predecessor(pair):
    """Each local ConfigGroup waits for the layers of its `depends_on`, like its Kustomization; layers that
    need nothing of each other are not chained (the first deploy's critical path: tests/unit/stacks)."""
    _, local = pair
    components = {r.urn for r in local.of_type(flux_parity.APP_LAYERS_COMPONENT)}
    groups = {r.name: r for r in local.of_type("kubernetes:yaml/v2:ConfigGroup") if r.parent in components}
    bootstrap = {r.name: r for r in local.of_type("kubernetes:yaml/v2:ConfigGroup") if r.parent not in components}
    for name, group in groups.items():
        for dependency in layers.layer_named(name).depends_on:
            target = groups.get(dependency) or bootstrap.get(dependency)
            if target is not None:
                assert target.urn in group.dependencies, f"{name} does not wait for {dependency}"
    # Not a chain: the password policy and the ingress routes need nothing of each other.
    assert groups["vault-config"].urn not in groups["ingress"].dependencies
    assert groups["ingress"].urn not in groups["vault-config"].dependencies
