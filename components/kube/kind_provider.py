"""A Pulumi dynamic provider that creates and deletes a kind cluster with the `kind` CLI.

create: write the deploy-time files under the state directory (the etcd encryption configuration 0600,
the kind config 0600, containerd's hosts.toml files), run `kind create cluster --name N --config FILE
--kubeconfig FILE`, check the API server really runs with `--encryption-provider-config`, and return the
kubeconfig as a secret output. delete: `kind delete cluster` and remove the key file. Any change of the
rendered config, the key or the node files replaces the cluster; nothing is updated in place.

Secrets never reach argv or the environment of a child process: the key is only in the 0600 file the
config points at. kind writes its kubeconfig to our own file, never the user's ~/.kube/config.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider

from components.kube.child_env import child_environment
from components.kube.kind_config import encryption_configuration, with_state_directory, without_state_directory
from components.kube.provider_values import is_unknown

CONFIG_FILE = "kind-config.yaml"
KUBECONFIG_FILE = "kubeconfig"
ENCRYPTION_FILE = "encryption/config.yaml"
API_SERVER_MANIFEST = "/etc/kubernetes/manifests/kube-apiserver.yaml"
# Inputs whose change means a different cluster. Not `state_dir`: it follows the caller's $HOME/$XDG_STATE_HOME,
# and the config carries a placeholder for it (kind_config.STATE_DIR_PLACEHOLDER). A run from another shell
# changes no replace-relevant input; the state keeps the directory the cluster was created with.
REPLACE_ON = ("cluster_name", "config", "encryption_key", "node_files")
CREATE_TIMEOUT_SECONDS = 600


class KindError(RuntimeError):
    """kind or Docker failed; the message says what to run to fix it."""


def create_command(cluster_name: str, config_path: Path, kubeconfig_path: Path) -> list[str]:
    # --wait: the Kubernetes provider starts applying right after; nodes must be Ready by then.
    return [
        "kind",
        "create",
        "cluster",
        "--name",
        cluster_name,
        "--config",
        str(config_path),
        "--kubeconfig",
        str(kubeconfig_path),
        "--wait",
        "180s",
    ]


def delete_command(cluster_name: str, kubeconfig_path: Path) -> list[str]:
    return ["kind", "delete", "cluster", "--name", cluster_name, "--kubeconfig", str(kubeconfig_path)]


def _run(argv: list[str], *, timeout: int = CREATE_TIMEOUT_SECONDS) -> str:
    if shutil.which(argv[0]) is None:
        raise KindError(
            f"`{argv[0]}` is not on PATH. The local stack with kubernetes.cluster.create needs kind "
            "(https://kind.sigs.k8s.io, >= 0.29) and a running Docker; install them or set "
            "kubernetes.cluster.create to false and use an existing context"
        )
    # kind and docker get the allow-listed environment only (no PULUMI_CONFIG, no passphrase).
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, env=child_environment())
    if result.returncode != 0:
        raise KindError(f"`{' '.join(argv[:3])}` failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    return result.stdout


def _write_private(path: Path, text: str, mode: int = 0o600) -> None:
    """Create the file with its final mode from the start: no moment where the key is world-readable."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    path.chmod(mode)  # an existing file keeps its old mode through O_CREAT


def write_files(props: dict[str, Any]) -> tuple[Path, Path]:
    """Write every deploy-time file; returns (config path, kubeconfig path)."""

    state_dir = Path(props["state_dir"])
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    state_dir.chmod(0o700)
    key = props.get("encryption_key")
    if key:
        _write_private(state_dir / ENCRYPTION_FILE, yaml.safe_dump(encryption_configuration(key), sort_keys=False))
    for relative, text in (props.get("node_files") or {}).items():
        # Non-secret (containerd hosts.toml): readable by containerd inside the node whatever its uid mapping.
        _write_private(state_dir / relative, text, mode=0o644)
    config_path = state_dir / CONFIG_FILE
    _write_private(config_path, with_state_directory(props["config"], str(state_dir)))
    return config_path, state_dir / KUBECONFIG_FILE


def verify_encryption(cluster_name: str) -> None:
    """Fail if the API server runs without the encryption flag (a kubeadm patch kind did not apply)."""
    manifest = _run(["docker", "exec", f"{cluster_name}-control-plane", "cat", API_SERVER_MANIFEST], timeout=60)
    if "--encryption-provider-config=" not in manifest:
        raise KindError(
            f"kind cluster {cluster_name!r} came up without --encryption-provider-config (the kubeadm patch was "
            f"not applied; kind too old or too new?). Fix: kind delete cluster --name {cluster_name}, then use "
            "kind >= 0.29 or set kubernetes.cluster.encryptionAtRest to false"
        )


class KindClusterProvider(ResourceProvider):
    """create/delete/diff of one kind cluster (see the module docstring)."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        name = props["cluster_name"]
        existing = _run(["kind", "get", "clusters"], timeout=60).split()
        if name in existing:
            raise KindError(
                f"a kind cluster named {name!r} already exists and is not this stack's. Fix: kind delete cluster "
                f"--name {name}, or set kubernetes.cluster.name to another name"
            )
        config_path, kubeconfig_path = write_files(props)
        _run(create_command(name, config_path, kubeconfig_path))
        kubeconfig_path.chmod(0o600)
        if props.get("encryption_key"):
            verify_encryption(name)
        return CreateResult(id_=name, outs={**props, "kubeconfig": kubeconfig_path.read_text()})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # A cluster created before the placeholder has real paths in its recorded config: compare it as rendered now.
        olds = {**olds, "config": without_state_directory(olds.get("config") or "", olds.get("state_dir") or "")}
        # An unknown value (preview) may differ: a replacement is what would happen if it does.
        replaces = [key for key in REPLACE_ON if is_unknown(news.get(key)) or olds.get(key) != news.get(key)]
        return DiffResult(changes=bool(replaces), replaces=replaces, delete_before_replace=True)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        state_dir = Path(props["state_dir"])
        _run(delete_command(props["cluster_name"], state_dir / KUBECONFIG_FILE))
        for relative in (ENCRYPTION_FILE, KUBECONFIG_FILE):
            (state_dir / relative).unlink(missing_ok=True)


class KindCluster(pulumi.dynamic.Resource):
    """A kind cluster; `kubeconfig` is a secret output for the Kubernetes provider."""

    kubeconfig: pulumi.Output[str]
    # The directory the cluster was created with (kept in the state when a later run computes another one).
    state_dir: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        cluster_name: str,
        config: str,
        encryption_key: pulumi.Input[str] | None,
        node_files: dict[str, str],
        state_dir: str,
        opts: pulumi.ResourceOptions | None = None,
    ):
        props = {
            "cluster_name": cluster_name,
            "config": config,
            "encryption_key": encryption_key,
            "node_files": node_files,
            "state_dir": state_dir,
            "kubeconfig": None,  # an output: unknown until the cluster exists
        }
        opts = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(additional_secret_outputs=["kubeconfig", "encryption_key"])
        )
        super().__init__(KindClusterProvider(), resource_name, props, opts)
