"""Connections that only some configurations need, through the rendered NetworkPolicies of every active layer:
the Vault CSI provider into Vault (csi mode, Vault here), kind nodes pulling from the registry."""

from __future__ import annotations

from typing import Any

import pytest

from components.charts import secrets_csi
from components.rendering import layers
from components.settings import kind_network as cluster_contract
from components.settings.load import load_settings
from tests.fixtures.config import FakeConfig
from tests.fixtures.vault_placement import EXTERNAL_CONFIG, SEPARATE
from tests.harness.network_policy import Host, Pod, admits, selects
from tests.harness.program import run_stack

# The vault chart's CSI DaemonSet labels its pods `<vault.name>-csi-provider` (templates/csi-daemonset.yaml);
# vault.name is the chart name unless nameOverride is set, which provider_values() does not do.
CSI_PROVIDER = Pod(
    secrets_csi.NAMESPACE,
    {"app.kubernetes.io/name": "vault-csi-provider", "app.kubernetes.io/instance": secrets_csi.PROVIDER_RELEASE},
)
OTHER_KUBE_SYSTEM_POD = Pod("kube-system", {"k8s-app": "kube-dns"})
VAULT_POD = Pod("vault", {"app.kubernetes.io/name": "vault", "component": "server"})
REGISTRY_POD = Pod("sms-proxy", {"app.kubernetes.io/name": "registry", "app.kubernetes.io/part-of": "platform"})
# A kind node's address on Docker's `kind` network: containerd dials the mirror ClusterIP from there, and
# kube-proxy hands the registry pod a connection from the node, not from a pod.
KIND_NODE = Host("172.18.0.2")
CSI = {"app": {"secretsDelivery": "csi"}}


def policies(config: dict[str, Any]) -> list[dict[str, Any]]:
    settings = load_settings(FakeConfig(config), "local")
    return [
        obj
        for layer in layers.active_layers(settings)
        for obj in layers.render(settings, layer)
        if obj["kind"] == "NetworkPolicy"
    ]


def active(config: dict[str, Any]) -> set[str]:
    return {layer.name for layer in layers.active_layers(load_settings(FakeConfig(config), "local"))}


def test_vault_admits_the_csi_provider_in_csi_mode():
    rendered = policies(CSI)
    assert admits(rendered, VAULT_POD, 8200, CSI_PROVIDER)
    # Only Vault's API port, and only the provider's pods of kube-system.
    assert not admits(rendered, VAULT_POD, 8201, CSI_PROVIDER)
    assert not admits(rendered, VAULT_POD, 8200, OTHER_KUBE_SYSTEM_POD)
    assert not admits(rendered, VAULT_POD, 8200, Pod("default", dict(CSI_PROVIDER.labels)))


def test_without_csi_the_provider_is_not_admitted():
    assert not admits(policies({}), VAULT_POD, 8200, CSI_PROVIDER)
    assert "network-policies-vault-csi" not in active({})


@pytest.mark.parametrize("placement", [SEPARATE, EXTERNAL_CONFIG], ids=["second-cluster", "existing"])
def test_the_csi_rule_exists_only_where_vault_runs_here(placement):
    assert "network-policies-vault-csi" in active(CSI)
    assert "network-policies-vault-csi" not in active({**CSI, **placement})


def test_the_provider_label_is_the_charts():
    values = secrets_csi.provider_values()
    assert "nameOverride" not in values and "nameOverride" not in values.get("global", {})
    (rule,) = [p for p in policies(CSI) if p["metadata"]["name"] == "allow-vault-csi-provider"]
    assert rule["metadata"]["namespace"] == "vault"
    (peer,) = rule["spec"]["ingress"][0]["from"]
    assert peer["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "vault-csi-provider"}}


def test_kind_nodes_reach_the_registry_through_the_mirror():
    kind = {"kubernetes": {"cluster": {"create": True}}, "vault": {"antiAffinity": "preferred"}}
    assert {"registry-mirror", "network-policies-registry"} <= active(kind)
    rendered = policies(kind)
    https = {"https": cluster_contract.REGISTRY_PORT}
    assert admits(rendered, REGISTRY_POD, cluster_contract.REGISTRY_PORT, KIND_NODE, port_names=https)
    # The registry's namespace still denies by default: the node gets the registry port, nothing else of it.
    assert not admits(rendered, REGISTRY_POD, 5001, KIND_NODE, port_names=https)
    assert not admits(rendered, Pod("sms-proxy", {"app.kubernetes.io/name": "sms-proxy"}), 3000, KIND_NODE)


# ---- the evaluator itself ---------------------------------------------------------------------------------


def _policy(namespace: str, ingress: list[dict[str, Any]], selector: dict | None = None) -> dict[str, Any]:
    return {
        "kind": "NetworkPolicy",
        "metadata": {"name": "p", "namespace": namespace},
        "spec": {"podSelector": selector or {}, "ingress": ingress, "policyTypes": ["Ingress"]},
    }


def test_the_evaluator_follows_kubernetes_semantics():
    target = Pod("a", {"app": "x"})
    assert admits([], target, 80, Host("10.0.0.1"))  # not isolated
    assert not admits([_policy("a", [])], target, 80, Pod("a"))  # isolated, no rule
    block = [{"from": [{"ipBlock": {"cidr": "172.18.0.0/16", "except": ["172.18.0.128/25"]}}]}]
    assert admits([_policy("a", block)], target, 80, Host("172.18.0.2"))
    assert not admits([_policy("a", block)], target, 80, Host("172.18.0.200"))
    pods_only = [{"from": [{"podSelector": {}}]}]
    assert admits([_policy("a", pods_only)], target, 80, Pod("a"))
    assert not admits([_policy("a", pods_only)], target, 80, Pod("b"))
    assert not admits([_policy("a", pods_only)], target, 80, Host("172.18.0.2"))
    named = [{"ports": [{"port": "https"}]}]
    assert admits([_policy("a", named)], target, 5000, Host("1.2.3.4"), port_names={"https": 5000})
    assert not admits([_policy("a", named)], target, 5001, Host("1.2.3.4"), port_names={"https": 5000})
    # A policy of another namespace, or for other pods, does not isolate the target.
    assert admits([_policy("b", [])], target, 80, Pod("c"))
    assert admits([_policy("a", [], selector={"matchLabels": {"app": "y"}})], target, 80, Pod("c"))
    assert selects({"matchExpressions": [{"key": "k", "operator": "In", "values": ["v"]}]}, {"k": "v"})
    assert not selects({"matchExpressions": [{"key": "k", "operator": "Exists"}]}, {})


def test_only_the_operators_reach_vault_not_the_app_namespace():
    """Nothing in the app namespace calls Vault (VSO and vault-config-operator do it for the app)."""
    run = run_stack("local")
    policies = [o for o in run.k8s_objects() if o["kind"] == "NetworkPolicy" and o["metadata"]["namespace"] == "vault"]
    sources = {
        peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
        for policy in policies
        for rule in policy["spec"].get("ingress") or []
        if any(port.get("port") == 8200 for port in rule.get("ports") or [])
        for peer in rule.get("from") or []
    }
    assert {"vault-secrets-operator-system", "vault-config-operator"} <= sources
    assert "sms-proxy" not in sources


# Webhook ports of the charts' admission webhooks (chart defaults the releases keep), called by the API server
# while the releases install (their CRs and Helm hooks go through them).
INSTALL_TIME_WEBHOOKS = {
    "cert-manager": (Pod("cert-manager", {"app.kubernetes.io/name": "webhook"}), 10250),
    "kube-prometheus-stack": (Pod("monitoring", {"app": "kube-prometheus-stack-operator"}), 10250),
    "cloudnative-pg": (Pod("cnpg-system", {"app.kubernetes.io/name": "cloudnative-pg"}), 9443),
    "vault-config-operator": (Pod("vault-config-operator", {"control-plane": "vault-config-operator"}), 9443),
}
API_SERVER = Host("172.18.0.3")


def test_the_bootstrap_policies_admit_every_install_time_webhook_call():
    """The policies Pulumi applies before any release (bootstrap) already hold the allow rules: a default-deny
    that came first would otherwise refuse the API server's webhook calls and fail the installs."""
    settings = load_settings(FakeConfig({}), "local")
    bootstrap = [
        obj
        for layer in layers.active_layers(settings, bootstrap=True)
        if layer.name.startswith("network-policies")
        for obj in layers.render(settings, layer)
    ]
    assert {layer.name for layer in layers.active_layers(settings, bootstrap=False)}.isdisjoint(
        {layer.name for layer in layers.LAYERS if layer.name.startswith("network-policies")}
    )
    for chart, (pod, port) in INSTALL_TIME_WEBHOOKS.items():
        assert admits(bootstrap, pod, port, API_SERVER), chart
        denied_only = [p for p in bootstrap if p["metadata"]["name"] != "allow-webhook-from-apiserver"]
        assert not admits(denied_only, pod, port, API_SERVER), f"{chart}: the default-deny alone must refuse"
