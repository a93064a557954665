"""The local kind cluster: what kind is told (encryption, registry mirror, ports) and how the program wires it."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.kube.kind_config import (
    CERTS_D_ON_NODE,
    ENCRYPTION_DIR_ON_NODE,
    encryption_configuration,
    kind_cluster_config,
    node_files,
    registry_hosts_toml,
)
from components.settings import kind_network as cluster_contract
from components.settings.load import load_settings
from components.settings.versions import IMAGES
from tests.fixtures.config import FakeConfig
from tests.harness.program import PlatformMocks, ProgramRun, run_stack

KIND = "pulumi-python:dynamic:Resource"
PROVIDER = "pulumi:providers:kubernetes"
STATE = Path("/home/user/.local/state/platform-kind/platform")
FAKE_KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n"


def settings(**cluster: Any):
    # One node: Vault's pods may share it (required anti-affinity is refused there).
    return load_settings(
        FakeConfig({"kubernetes": {"cluster": {"create": True, **cluster}}, "vault": {"antiAffinity": "preferred"}}),
        "local",
    )


def control_plane(config: dict[str, Any]) -> dict[str, Any]:
    return next(node for node in config["nodes"] if node["role"] == "control-plane")


def api_server_patch(config: dict[str, Any]) -> dict[str, Any]:
    patches = [yaml.safe_load(p) for p in config.get("kubeadmConfigPatches", [])]
    found = [p for p in patches if p.get("kind") == "ClusterConfiguration"]
    assert len(found) == 1
    return found[0]["apiServer"]


# ---- rendered kind configuration -------------------------------------------------------------------------


def test_encryption_configuration_encrypts_secrets_with_secretbox_identity_last():
    key = base64.b64encode(bytes(range(32))).decode()
    config = encryption_configuration(key)
    assert (config["apiVersion"], config["kind"]) == ("apiserver.config.k8s.io/v1", "EncryptionConfiguration")
    (entry,) = config["resources"]
    assert entry["resources"] == ["secrets"]
    first, last = entry["providers"][0], entry["providers"][-1]
    # The first provider writes: it must be a real cipher; identity only reads old plaintext.
    assert list(first) == ["secretbox"]
    (only_key,) = first["secretbox"]["keys"]
    assert only_key["secret"] == key and len(base64.b64decode(only_key["secret"])) == 32
    assert last == {"identity": {}}
    assert len(entry["providers"]) == 2


def test_api_server_flag_volume_and_node_mount_agree():
    config = kind_cluster_config(settings(), STATE)
    api = api_server_patch(config)
    flag = api["extraArgs"]["encryption-provider-config"]
    (volume,) = api["extraVolumes"]
    # The flag's file is inside the volume mounted into the API server pod ...
    assert Path(flag).parent == Path(volume["mountPath"]) == Path(ENCRYPTION_DIR_ON_NODE)
    assert volume["readOnly"] is True
    # ... whose hostPath on the node is the container side of a kind extraMount from our state directory.
    mounts = {m["containerPath"]: m for m in control_plane(config)["extraMounts"]}
    mount = mounts[volume["hostPath"]]
    assert mount["hostPath"] == str(STATE / "encryption") and mount["readOnly"] is True
    # The provider writes the file under that host directory with the flag's file name.
    from components.kube.kind_provider import ENCRYPTION_FILE

    assert Path(mount["hostPath"]).parent / ENCRYPTION_FILE == STATE / "encryption" / Path(flag).name


def test_the_kind_config_never_contains_the_key():
    config = kind_cluster_config(settings(), STATE)
    text = yaml.safe_dump(config)
    assert "secretbox" not in text and "secret:" not in text


def test_without_encryption_at_rest_no_patch_and_no_mount():
    config = kind_cluster_config(settings(encryptionAtRest=False), STATE)
    assert "kubeadmConfigPatches" not in config
    assert all(m["containerPath"] != ENCRYPTION_DIR_ON_NODE for m in control_plane(config)["extraMounts"])


def test_every_node_pulls_from_the_registry_through_the_mirror():
    config = kind_cluster_config(settings(workers=2), STATE)
    (patch,) = config["containerdConfigPatches"]
    assert 'config_path = "/etc/containerd/certs.d"' in patch
    assert len(config["nodes"]) == 3
    for node in config["nodes"]:
        assert node["image"] == IMAGES["kind-node"] and "@sha256:" in node["image"]
        certs = [m for m in node["extraMounts"] if m["containerPath"] == CERTS_D_ON_NODE]
        assert certs == [{"hostPath": str(STATE / "certs.d"), "containerPath": CERTS_D_ON_NODE, "readOnly": True}]
    # The fixed ClusterIP lies in the service subnet the config sets.
    import ipaddress

    assert config["networking"]["serviceSubnet"] == cluster_contract.SERVICE_SUBNET
    assert ipaddress.ip_address(cluster_contract.REGISTRY_MIRROR_IP) in ipaddress.ip_network(
        cluster_contract.SERVICE_SUBNET
    )


def test_hosts_toml_points_the_registry_host_at_the_mirror_and_our_ca():
    files = node_files(settings())
    assert list(files) == ["certs.d/registry.local/hosts.toml"]
    text = files["certs.d/registry.local/hosts.toml"]
    assert text == registry_hosts_toml("registry.local")
    import tomllib

    parsed = tomllib.loads(text)
    assert parsed["server"] == "https://registry.local"
    mirror = parsed["host"][f"https://{cluster_contract.REGISTRY_MIRROR_IP}:{cluster_contract.REGISTRY_PORT}"]
    assert mirror["capabilities"] == ["pull", "resolve"]
    assert mirror["ca"] == f"{CERTS_D_ON_NODE}/registry.local/ca.crt"
    assert "skip_verify" not in mirror


def test_external_registry_needs_no_mirror():
    external = load_settings(
        FakeConfig(
            {
                "kubernetes": {"cluster": {"create": True}},
                "registry": {"mode": "external", "host": "r.example.com"},
                "vault": {"antiAffinity": "preferred"},
            },
            {"registryPassword": "pw"},
        ),
        "local",
    )
    assert node_files(external) == {}


def test_ingress_ports_map_to_traefiks_node_ports_on_localhost_only():
    config = kind_cluster_config(settings(httpPort=9080, httpsPort=9443), STATE)
    mappings = control_plane(config)["extraPortMappings"]
    assert {(m["hostPort"], m["containerPort"]) for m in mappings} == {
        (9080, cluster_contract.TRAEFIK_WEB_NODE_PORT),
        (9443, cluster_contract.TRAEFIK_WEBSECURE_NODE_PORT),
    }
    assert all(m["listenAddress"] == "127.0.0.1" and m["protocol"] == "TCP" for m in mappings)
    assert 30000 <= cluster_contract.TRAEFIK_WEB_NODE_PORT <= 32767
    assert 30000 <= cluster_contract.TRAEFIK_WEBSECURE_NODE_PORT <= 32767


# ---- the program under mocks ----------------------------------------------------------------------------


@pytest.fixture
def kind_answers_a_kubeconfig(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mock engine answers the kind resource with a kubeconfig output, as the real provider does."""
    original = PlatformMocks.new_resource

    def new_resource(self, args):
        resource_id, outputs = original(self, args)
        if args.typ == KIND:
            outputs = {**outputs, "kubeconfig": FAKE_KUBECONFIG}
        return resource_id, outputs

    monkeypatch.setattr(PlatformMocks, "new_resource", new_resource)


def main_provider(run: ProgramRun):
    return run.named("kubernetes", PROVIDER)


def test_with_the_switch_the_provider_uses_the_new_clusters_kubeconfig(kind_answers_a_kubeconfig):
    run = run_stack("local", {"kubernetes": {"cluster": {"create": True, "name": "dev"}}})
    (cluster,) = run.of_type(KIND)
    assert cluster.inputs["cluster_name"] == "dev"
    assert cluster.is_secret("encryption_key")
    assert set(cluster.additional_secret_outputs) >= {"kubeconfig", "encryption_key"}
    key = run.named("etcd-encryption-key", "random:index/randomBytes:RandomBytes")
    assert key.inputs["length"] == 32 and "base64" in key.additional_secret_outputs
    assert key.urn in cluster.dependencies
    rendered = yaml.safe_load(cluster.inputs["config"])
    assert rendered["name"] == "dev" and rendered["kind"] == "Cluster"

    provider = main_provider(run)
    assert cluster.urn in provider.dependencies
    assert provider.inputs.get("kubeconfig") == FAKE_KUBECONFIG
    assert provider.is_secret("kubeconfig")
    assert "context" not in provider.inputs
    # The cluster is registered before the provider, and every object goes through that provider.
    order = [r.urn for r in run.registrations]
    assert order.index(cluster.urn) < order.index(provider.urn)


def test_without_the_switch_no_cluster_and_the_context_is_used():
    run = run_stack("local", {"kubernetes": {"context": "kind-existing"}})
    assert run.of_type(KIND) == []
    assert run.of_type("random:index/randomBytes:RandomBytes") == []
    provider = main_provider(run)
    assert provider.inputs.get("context") == "kind-existing"
    assert "kubeconfig" not in provider.inputs
