"""Config of the first deploy: Vault's anti-affinity against the kind cluster's nodes, Traefik's Service type,
node-exporter's namespace, app.imageSource (issue 14)."""

from __future__ import annotations

from typing import Any

import pytest

from components.charts.monitoring import kube_prometheus_stack_values
from components.layers.infra import app_cluster_namespaces
from components.rendering import layers
from components.settings.load import load_settings
from components.settings.reader import ConfigError
from tests.fixtures.config import IMAGE_SOURCE, REMOTE_OK, FakeConfig
from tests.harness.helm_values import check_values
from tests.harness.program import run_stack

KIND = {"kubernetes": {"cluster": {"create": True}}}
EXTERNAL_CA = "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n"


def local(config: dict[str, Any]):
    return load_settings(FakeConfig(config), "local")


@pytest.mark.parametrize("workers,replicas", [(0, 3), (1, 3), (2, 5), (4, 7)])
def test_required_anti_affinity_needs_a_node_per_vault_pod_on_the_kind_cluster(workers, replicas):
    config = {
        "kubernetes": {"cluster": {"create": True, "workers": workers}},
        "vault": {"replicas": replicas, "antiAffinity": "required"},
    }
    with pytest.raises(ConfigError) as refused:
        local(config)
    message = str(refused.value)
    assert message.startswith("platform:vault.antiAffinity:") and f"has {workers + 1}" in message
    assert "pulumi config set --path 'vault.antiAffinity' preferred" in message
    assert f"kubernetes.cluster.workers {replicas - 1}" in message


@pytest.mark.parametrize(
    "config",
    [
        {"kubernetes": {"cluster": {"create": True, "workers": 2}}},  # three nodes, three pods
        {**KIND, "vault": {"antiAffinity": "preferred"}},
        {**KIND, "vault": {"replicas": 1}},  # standalone: nothing to spread
        {**KIND, "vault": {"externalAddress": "https://vault.corp.example", "externalCaCert": EXTERNAL_CA}},
    ],
    ids=["enough-nodes", "preferred", "standalone", "vault-elsewhere"],
)
def test_the_kind_cluster_accepts_what_it_can_schedule(config):
    assert local(config).kubernetes.cluster.create


def test_on_other_clusters_required_anti_affinity_is_a_warning(monkeypatch):
    warnings: list[str] = []
    monkeypatch.setattr("pulumi.log.warn", lambda message, *args, **kwargs: warnings.append(message))
    run_stack("local", {"kubernetes": {"context": "prod"}, "vault": {"antiAffinity": "required"}})
    assert any("at least 3 schedulable nodes" in w and "antiAffinity preferred" in w for w in warnings), warnings
    warnings.clear()
    run_stack("local")  # the committed stack: preferred
    assert not any("schedulable nodes" in w for w in warnings)


def test_traefik_service_type_defaults_per_stack_and_is_validated():
    assert local({}).ingress.service_type == "NodePort"
    assert load_settings(FakeConfig(REMOTE_OK), "remote").ingress.service_type == "LoadBalancer"
    existing = {"kubernetes": {"context": "prod"}}
    assert local({**existing, "ingress": {"serviceType": "ClusterIP"}}).ingress.service_type == "ClusterIP"
    with pytest.raises(ConfigError, match=r"ingress.serviceType: unknown value 'Ingress'.*LoadBalancer"):
        local({"ingress": {"serviceType": "Ingress"}})


def test_node_exporter_runs_in_its_own_privileged_namespace():
    settings = local({})
    values = kube_prometheus_stack_values(settings)
    assert values["nodeExporter"] == {"enabled": True}
    assert values["prometheus-node-exporter"]["namespaceOverride"] == "node-exporter"
    assert check_values("kube-prometheus-stack", values) == []
    assert "node-exporter" in app_cluster_namespaces(settings)
    run = run_stack("local")
    labels = {
        n.inputs["metadata"]["name"]: n.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
        for n in run.of_type("kubernetes:core/v1:Namespace")
    }
    assert labels["node-exporter"] == "privileged"
    # Nothing else is privileged: monitoring stays baseline, the app restricted.
    assert [n for n, level in labels.items() if level == "privileged"] == ["node-exporter"]
    assert labels["monitoring"] == "baseline" and labels["sms-proxy"] == "restricted"
    prometheus = next(r for r in run.of_type("kubernetes:helm.sh/v3:Release") if r.name == "kube-prometheus-stack")
    namespace = next(n for n in run.of_type("kubernetes:core/v1:Namespace") if n.name == "node-exporter")
    assert namespace.urn in prometheus.dependencies


def test_node_exporter_can_be_switched_off():
    settings = local({"monitoring": {"nodeExporter": False}})
    assert kube_prometheus_stack_values(settings)["nodeExporter"] == {"enabled": False}
    assert "node-exporter" not in app_cluster_namespaces(settings)
    assert "network-policies-node-exporter" not in {layer.name for layer in layers.active_layers(settings)}


def test_image_source_is_checked_before_anything_deploys():
    assert local({"app": IMAGE_SOURCE}).app.image_source is not None
    with pytest.raises(ConfigError, match=r"app.imageSource.migrations: the path .* required"):
        local({"app": {"imageSource": {"app": "a.tar"}}})
    with pytest.raises(ConfigError, match=r"app.image: 'docker.io/org/app:1' must be a tagged image on registry.host"):
        local({"app": {**IMAGE_SOURCE, "image": "docker.io/org/app:1"}})
    with pytest.raises(ConfigError, match=r"app.imageSource: the remote stack's in-cluster registry"):
        load_settings(FakeConfig({**REMOTE_OK, "app": IMAGE_SOURCE}), "remote")
