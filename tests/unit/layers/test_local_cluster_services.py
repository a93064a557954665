"""The in-cluster side of the kind cluster's contract (components/cluster_contract.py), with and without
`kubernetes.cluster.create`: Traefik's node ports match the kind port mappings, and the registry is reachable
and verifiable at the fixed ClusterIP every node's containerd dials."""

from __future__ import annotations

import copy
import ipaddress
from pathlib import Path
from typing import Any

import pytest

from components.charts.traefik import traefik_values
from components.kube.kind_config import kind_cluster_config, registry_hosts_toml
from components.rendering import layers
from components.settings import kind_network as cluster_contract
from components.settings.load import load_settings
from components.settings.reader import ConfigError
from tests.fixtures.config import FakeConfig, settings_of
from tests.harness.helm_values import HELM_RELEASE, check_values
from tests.harness.program import run_stack
from tests.harness.schemas import validate_object

STATE = Path("/home/user/.local/state/platform-kind/platform")


def settings(create: bool, **config: Any):
    # The kind cluster has one node: Vault's pods may share it (required anti-affinity is refused there).
    vault = {"vault": {"antiAffinity": "preferred"}} if create else {}
    return load_settings(FakeConfig({"kubernetes": {"cluster": {"create": create}}, **vault, **config}), "local")


def rendered(create: bool, **config: Any) -> list[dict[str, Any]]:
    chosen = settings(create, **config)
    return [obj for layer in layers.active_layers(chosen) for obj in layers.render(chosen, layer)]


def one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


# ---- Traefik -----------------------------------------------------------------------------------------------


def test_traefik_node_ports_are_what_kind_maps_the_host_ports_to():
    chosen = settings(True)
    values = traefik_values(chosen)
    ports = values["ports"]
    mapped = {m["containerPort"] for m in kind_cluster_config(chosen, STATE)["nodes"][0]["extraPortMappings"]}
    assert {ports["web"]["nodePort"], ports["websecure"]["nodePort"]} == mapped == {30080, 30443}
    assert values["service"]["spec"]["type"] == "NodePort"
    assert check_values("traefik", values) == []


def test_without_the_kind_cluster_traefik_takes_the_configured_service_type_and_free_node_ports():
    values = traefik_values(settings(False))
    assert "nodePort" not in values["ports"]["web"] and "nodePort" not in values["ports"]["websecure"]
    # A local cluster seldom runs a load-balancer controller: NodePort unless ingress.serviceType says otherwise.
    assert values["service"]["spec"]["type"] == "NodePort"
    for service_type in ("LoadBalancer", "ClusterIP"):
        chosen = traefik_values(settings(False, ingress={"serviceType": service_type}))
        assert chosen["service"]["spec"]["type"] == service_type
        assert check_values("traefik", chosen) == []
    remote = traefik_values(settings_of("remote"))
    assert remote["service"]["spec"]["type"] == "LoadBalancer"


def test_the_kind_cluster_refuses_a_service_type_it_cannot_reach():
    with pytest.raises(ConfigError, match=r"ingress.serviceType.*node ports.*NodePort"):
        settings(True, ingress={"serviceType": "LoadBalancer"})


def test_the_program_installs_traefik_with_the_node_ports():
    run = run_stack("local", {"kubernetes": {"cluster": {"create": True}}})
    (release,) = [r for r in run.of_type(HELM_RELEASE) if r.name == "traefik"]
    assert release.inputs["values"]["ports"]["websecure"]["nodePort"] == cluster_contract.TRAEFIK_WEBSECURE_NODE_PORT
    mirror = run.named("registry-mirror", "kubernetes:yaml/v2:ConfigGroup")
    (service,) = mirror.inputs["objs"]
    assert service["spec"]["clusterIP"] == cluster_contract.REGISTRY_MIRROR_IP


# ---- registry mirror ---------------------------------------------------------------------------------------


def test_the_mirror_service_serves_the_registry_at_the_address_containerd_dials():
    objects = rendered(True)
    service = one(objects, "Service", "registry-mirror")
    validate_object(copy.deepcopy(service))
    assert service["spec"]["type"] == "ClusterIP"
    ip = service["spec"]["clusterIP"]
    assert ipaddress.ip_address(ip) in ipaddress.ip_network(cluster_contract.SERVICE_SUBNET)
    (port,) = service["spec"]["ports"]
    # containerd's hosts.toml names exactly this IP and port.
    assert f'[host."https://{ip}:{port["port"]}"]' in registry_hosts_toml("registry.local")
    # ... and the Service reaches the registry's TLS port.
    deployment = one(objects, "Deployment", "registry")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    # ... the read-only instance: nodes pull, they never push.
    (container,) = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "registry-pull"]
    assert port["targetPort"] in {p["name"] for p in container["ports"]}


def test_the_registry_certificate_covers_the_mirror_ip_only_with_the_kind_cluster():
    with_kind = one(rendered(True), "Certificate", "registry-tls")
    assert with_kind["spec"]["ipAddresses"] == [cluster_contract.REGISTRY_MIRROR_IP]
    without = one(rendered(False), "Certificate", "registry-tls")
    assert without["spec"]["ipAddresses"] == []
    for certificate in (with_kind, without):
        validate_object(copy.deepcopy(certificate))


@pytest.mark.parametrize(
    "create,config",
    [
        (False, {}),
        (True, {"registry": {"mode": "external", "host": "registry.example.com"}}),
    ],
)
def test_no_mirror_service_without_the_kind_cluster_or_the_in_cluster_registry(create, config):
    secrets = {"registryPassword": "pw"} if config else {}
    vault = {"vault": {"antiAffinity": "preferred"}}
    chosen = load_settings(
        FakeConfig({"kubernetes": {"cluster": {"create": create}}, **vault, **config}, secrets), "local"
    )
    assert "registry-mirror" not in [layer.name for layer in layers.active_layers(chosen)]


def test_the_main_registry_service_is_a_load_balancer_except_in_kind():
    assert one(rendered(False), "Service", "registry")["spec"]["type"] == "LoadBalancer"
    assert one(rendered(True), "Service", "registry")["spec"]["type"] == "ClusterIP"
