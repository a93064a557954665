"""Issue 15: Flux no longer applies Git content as cluster-admin. Each Kustomization impersonates its layer's
ServiceAccount, which may do exactly what that layer's rendered objects need and nothing more: checked with a small
RBAC evaluator over the registered Roles and bindings, for every config variant of the remote stack."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from components.layers.flux_rbac import APPLY_VERBS
from components.rendering import layers
from tests.fixtures.config import settings_of
from tests.fixtures.variants import LAYER_SWITCHES
from tests.harness.program import run_stack

FLUX_NAMESPACE = "flux-system"
# Independent of flux_rbac.resource_of: the plural RBAC uses for every kind a layer holds.
PLURALS = {
    "ConfigMap": "configmaps",
    "Service": "services",
    "ServiceAccount": "serviceaccounts",
    "Deployment": "deployments",
    "Job": "jobs",
    "CronJob": "cronjobs",
    "ScheduledBackup": "scheduledbackups",
    "ObjectStore": "objectstores",
    "PodDisruptionBudget": "poddisruptionbudgets",
    "NetworkPolicy": "networkpolicies",
    "Certificate": "certificates",
    "ServiceMonitor": "servicemonitors",
    "PodMonitor": "podmonitors",
    "PrometheusRule": "prometheusrules",
    "Cluster": "clusters",
    "Tenant": "tenants",
    "PasswordPolicy": "passwordpolicies",
    "RandomSecret": "randomsecrets",
    "DatabaseSecretEngineConfig": "databasesecretengineconfigs",
    "DatabaseSecretEngineRole": "databasesecretengineroles",
    "VaultStaticSecret": "vaultstaticsecrets",
    "VaultDynamicSecret": "vaultdynamicsecrets",
    "VaultAuth": "vaultauths",
    "SecretProviderClass": "secretproviderclasses",
    "IngressRoute": "ingressroutes",
    "Middleware": "middlewares",
    "ServersTransport": "serverstransports",
    "TLSOption": "tlsoptions",
    "TLSStore": "tlsstores",
}

Grant = tuple[str, str, str, str]  # namespace ("" = every namespace), group, resource, verb


def grants_of(objects: list[dict[str, Any]], account: str) -> set[Grant]:
    """Everything the ServiceAccount flux-system/<account> may do, by the RBAC rules in `objects`."""
    roles = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in objects}
    subject = {"kind": "ServiceAccount", "name": account, "namespace": FLUX_NAMESPACE}
    granted: set[Grant] = set()
    for binding in (o for o in objects if o["kind"] in ("RoleBinding", "ClusterRoleBinding")):
        if subject not in binding.get("subjects", []):
            continue
        namespace = binding["metadata"].get("namespace", "") if binding["kind"] == "RoleBinding" else ""
        ref = binding["roleRef"]
        role = roles[(ref["kind"], namespace or None if ref["kind"] == "Role" else None, ref["name"])]
        for rule in role.get("rules", []):
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    granted |= {(namespace, group, resource, verb) for verb in rule["verbs"]}
    return granted


def needed(objects: Iterable[dict[str, Any]]) -> set[Grant]:
    return {
        (o["metadata"]["namespace"], o["apiVersion"].rpartition("/")[0], PLURALS[o["kind"]], verb)
        for o in objects
        for verb in APPLY_VERBS
    }


VARIANTS = {"default": ({}, {}), **LAYER_SWITCHES}


@pytest.fixture(scope="module", params=list(VARIANTS), ids=list(VARIANTS))
def variant(request) -> tuple[Any, list[dict[str, Any]]]:
    config, secrets = VARIANTS[request.param]
    run = run_stack("remote", config, secrets)
    return settings_of("remote", config, secrets), run.k8s_objects()


def test_every_kustomization_runs_as_its_own_service_account(variant):
    _settings, objects = variant
    kustomizations = [o for o in objects if o["kind"] == "Kustomization"]
    assert kustomizations
    accounts = [k["spec"]["serviceAccountName"] for k in kustomizations]
    assert accounts == [f"flux-{k['metadata']['name']}" for k in kustomizations]
    existing = {
        o["metadata"]["name"]
        for o in objects
        if o["kind"] == "ServiceAccount" and o["metadata"]["namespace"] == FLUX_NAMESPACE
    }
    assert set(accounts) <= existing


def test_each_layer_account_may_do_exactly_what_its_layer_needs(variant):
    settings, objects = variant
    for layer in layers.active_layers(settings, bootstrap=False):
        granted = grants_of(objects, f"flux-{layer.name}")
        assert granted == needed(layers.render(settings, layer)), layer.name


def test_no_wildcard_no_cluster_binding_no_escalation(variant):
    _settings, objects = variant
    identities = [
        o
        for o in objects
        if o["kind"] in ("ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")
        and o["metadata"]["name"].startswith("flux-")
    ]
    assert identities
    for obj in identities:
        assert obj["kind"] in ("ServiceAccount", "Role", "RoleBinding"), obj["kind"]
        for rule in obj.get("rules", []):
            values = {*rule["apiGroups"], *rule["resources"], *rule["verbs"]}
            assert "*" not in values, rule
            assert not values & {"escalate", "bind", "impersonate", "secrets", "roles", "rolebindings"}, rule
        if obj["kind"] == "RoleBinding":
            assert obj["roleRef"]["name"] != "cluster-admin"


def test_the_evaluator_catches_an_extra_right(variant):
    settings, objects = variant
    layer = layers.active_layers(settings, bootstrap=False)[0]
    role = next(o for o in objects if o["kind"] == "Role" and o["metadata"]["name"] == f"flux-{layer.name}")
    widened = {**role, "rules": [*role["rules"], {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]}
    others = [o for o in objects if o is not role]
    assert grants_of([*others, widened], f"flux-{layer.name}") != needed(layers.render(settings, layer))
