"""What the local stack tells kind (`kubernetes.cluster.create`), as plain data.

Everything kind is told is rendered here, so the tests read exactly what `kind create
cluster` gets:

- etcd encryption at rest: an `EncryptionConfiguration` (secretbox for Secrets, identity last so data
  written before the key existed stays readable) in a host directory mounted into the control-plane node,
  and a kubeadm patch that passes `--encryption-provider-config` to the API server with a matching
  hostPath volume. The 32-byte key is a Pulumi secret (`RandomBytes`); it only ever exists in the state
  (encrypted) and in the 0600 file the provider writes at deploy time, never in argv or the repository.
- registry pulls without /etc/hosts or Docker host networking: containerd reads per-registry `hosts.toml`
  files (`config_path`) from a mounted host directory; the one for `registry.host` sends pulls to the
  registry Service's fixed ClusterIP (components/settings/kind_network.py), reachable from every node's network
  namespace, and trusts the platform root CA written next to it once the PKI exists.
- ingress: host ports `kubernetes.cluster.httpPort`/`httpsPort` (bound to 127.0.0.1 only) map to
  Traefik's fixed node ports.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from components.settings import kind_network as cluster_contract
from components.settings.model import Settings
from components.settings.versions import IMAGES

ENCRYPTION_DIR_ON_NODE = "/etc/kubernetes/encryption"
ENCRYPTION_FILE = "config.yaml"
CERTS_D_ON_NODE = "/etc/containerd/certs.d"
ENCRYPTION_KEY_NAME = "platform-1"
# Only Secrets hold secret values here. ConfigMaps are, by this platform's rules, non-secret (ports, URLs,
# log levels): encrypting them would protect nothing and costs a decryption on every read and watch of
# every ConfigMap (e.g. kube-root-ca.crt, watched by every kubelet). Add a resource here only with a reason.
ENCRYPTED_RESOURCES: tuple[str, ...] = ("secrets",)


# The rendered config names host paths under this placeholder, never the real state directory: the config is a
# replace trigger of the cluster, and the real directory depends on $XDG_STATE_HOME / $HOME of whoever runs
# `pulumi up`. The provider puts the real directory in only when it writes the file kind reads.
STATE_DIR_PLACEHOLDER = Path("/@platform-kind-state@")


def state_directory(cluster_name: str) -> Path:
    """Where the deploy-time files of one kind cluster live on the user's machine (outside the repo). Depends on
    the caller's environment: never part of a replace-relevant input (see STATE_DIR_PLACEHOLDER)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "platform-kind" / cluster_name


def with_state_directory(config_text: str, state_dir: str) -> str:
    """The rendered config with the placeholder replaced by the real state directory (what kind reads)."""
    return config_text.replace(str(STATE_DIR_PLACEHOLDER), state_dir)


def without_state_directory(config_text: str, state_dir: str) -> str:
    """The inverse: a config written with real host paths (stacks created before the placeholder) as rendered
    now, so comparing it with a new rendering sees no change where only the directory differs."""
    return config_text.replace(state_dir, str(STATE_DIR_PLACEHOLDER)) if state_dir else config_text


def encryption_configuration(key_base64: str) -> dict[str, Any]:
    """The API server's EncryptionConfiguration: secretbox (XSalsa20-Poly1305) for `ENCRYPTED_RESOURCES`.

    secretbox rather than aescbc (the Kubernetes docs advise against CBC: padding-oracle weaknesses) or
    aesgcm (needs a new key every 200k writes). `identity` comes last so objects written before encryption
    was on stay readable; it never encrypts, because the first provider is the one that writes.
    """
    return {
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "EncryptionConfiguration",
        "resources": [
            {
                "resources": list(ENCRYPTED_RESOURCES),
                "providers": [
                    {"secretbox": {"keys": [{"name": ENCRYPTION_KEY_NAME, "secret": key_base64}]}},
                    {"identity": {}},
                ],
            }
        ],
    }


def registry_hosts_toml(registry_host: str) -> str:
    """containerd's `hosts.toml` for the registry host: pull through the fixed ClusterIP, trust our CA."""
    # The header keeps the module path it was first written with: this text is an input of the kind
    # cluster, and any change to it would make Pulumi replace the cluster.
    return (
        "# Written by the platform program (components/local_cluster.py): pulls of this registry host go to\n"
        "# the in-cluster registry's fixed ClusterIP; ca.crt (the platform root CA) is written beside this file.\n"
        f'server = "https://{registry_host}"\n\n'
        f'[host."{cluster_contract.registry_mirror_endpoint()}"]\n'
        '  capabilities = ["pull", "resolve"]\n'
        f'  ca = "{CERTS_D_ON_NODE}/{registry_host}/ca.crt"\n'
    )


def _api_server_patch() -> str:
    patch = {
        "kind": "ClusterConfiguration",
        "apiServer": {
            # kind generates kubeadm v1beta3 (map-form extraArgs); the patch carries no apiVersion so it
            # matches whatever version kind generates, and the provider verifies the flag after creation.
            "extraArgs": {"encryption-provider-config": f"{ENCRYPTION_DIR_ON_NODE}/{ENCRYPTION_FILE}"},
            "extraVolumes": [
                {
                    "name": "encryption-config",
                    "hostPath": ENCRYPTION_DIR_ON_NODE,
                    "mountPath": ENCRYPTION_DIR_ON_NODE,
                    "readOnly": True,
                    "pathType": "Directory",
                }
            ],
        },
    }
    return yaml.safe_dump(patch, sort_keys=False)


def kind_cluster_config(settings: Settings, state_dir: Path = STATE_DIR_PLACEHOLDER) -> dict[str, Any]:
    """The kind `Cluster` (kind.x-k8s.io/v1alpha4) for this stack, with host paths under `state_dir` (by default
    the placeholder the provider resolves: the rendered config is the same from every shell)."""
    cluster = settings.kubernetes.cluster
    certs_mount = {"hostPath": str(state_dir / "certs.d"), "containerPath": CERTS_D_ON_NODE, "readOnly": True}
    control_plane: dict[str, Any] = {
        "role": "control-plane",
        "image": IMAGES["kind-node"],
        "extraMounts": [certs_mount],
        "extraPortMappings": [
            {
                "containerPort": node_port,
                "hostPort": host_port,
                # Only this machine reaches the ingress; nothing is published on the LAN.
                "listenAddress": "127.0.0.1",
                "protocol": "TCP",
            }
            for node_port, host_port in (
                (cluster_contract.TRAEFIK_WEB_NODE_PORT, cluster.http_port),
                (cluster_contract.TRAEFIK_WEBSECURE_NODE_PORT, cluster.https_port),
            )
        ],
    }
    config: dict[str, Any] = {
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "kind": "Cluster",
        "name": cluster.name,
        "networking": {
            "podSubnet": cluster_contract.POD_SUBNET,
            "serviceSubnet": cluster_contract.SERVICE_SUBNET,
        },
        # containerd reads /etc/containerd/certs.d/<host>/hosts.toml on every pull: no restart, no /etc/hosts.
        "containerdConfigPatches": [
            f'[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "{CERTS_D_ON_NODE}"\n'
        ],
        "nodes": [control_plane]
        + [
            {"role": "worker", "image": IMAGES["kind-node"], "extraMounts": [dict(certs_mount)]}
            for _ in range(cluster.workers)
        ],
    }
    if cluster.encryption_at_rest:
        control_plane["extraMounts"].insert(
            0,
            {"hostPath": str(state_dir / "encryption"), "containerPath": ENCRYPTION_DIR_ON_NODE, "readOnly": True},
        )
        config["kubeadmConfigPatches"] = [_api_server_patch()]
    return config


def node_files(settings: Settings) -> dict[str, str]:
    """Non-secret files the provider writes under the state directory before `kind create cluster`."""
    if not settings.registry.in_cluster:
        return {}  # an external registry has its own DNS name and certificate
    host = settings.registry.host
    return {f"certs.d/{host}/hosts.toml": registry_hosts_toml(host)}
