"""Infra layer: the Kubernetes provider and the namespaces every other layer lives in."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.kube.kind_provider import KUBECONFIG_FILE
from components.settings.model import Settings

# Namespaces that only run our own hardened workloads enforce the `restricted` Pod Security level;
# operator namespaces get `baseline` (some upstream charts still need it) and warn on `restricted`.
_RESTRICTED = ("app",)
# Host-level agents only: kube-prometheus-stack's node-exporter (hostNetwork, hostPID, host paths, hostPort).
_PRIVILEGED = ("node_exporter",)
# Namespaces whose deletion deletes data (Vault's Raft and audit volumes, the PostgreSQL cluster's volumes in the
# app's, MinIO's volume): protected (the engine refuses to delete or replace them, so renaming one in the config
# fails instead of dropping the data) and retained (even an unprotected delete leaves them in the cluster).
DATA_NAMESPACES = ("vault", "app", "storage")


def app_cluster_namespaces(settings: Settings) -> tuple[str, ...]:
    """The namespaces of the main (application) cluster: each configured one whose component runs there.

    MinIO's two only with `s3.backend: minio`; Vault's only when Vault runs here (not in the second cluster
    of `vault.kubeContext`, not an existing Vault). The manifest layers follow the same switches
    (components/layers.py), so no object is ever applied to a namespace that does not exist.
    """
    ns = settings.namespaces
    absent = set()
    if not settings.s3.in_cluster:
        absent |= {"storage_operator", "storage"}
    if not settings.vault.in_app_cluster:
        absent.add("vault")
    if not settings.monitoring.node_exporter:
        absent.add("node_exporter")
    # By field, not by name: a namespace shared by two components stays while either needs it.
    return tuple(dict.fromkeys(name for field, name in vars(ns).items() if field not in absent))


def vault_cluster_namespaces(settings: Settings) -> tuple[str, ...]:
    """The namespaces of the second cluster (`vault.kubeContext`): cert-manager (its own PKI) and Vault."""
    if not settings.vault.separate_cluster:
        return ()
    return tuple(dict.fromkeys((settings.namespaces.cert_manager, settings.namespaces.vault)))


@dataclass(frozen=True)
class InfraArgs:
    settings: Settings
    # The program's own kind cluster (kubernetes.cluster.create): its kubeconfig, and the resource to wait for.
    kubeconfig: pulumi.Input[str] | None = None
    cluster: pulumi.Resource | None = None
    # The directory that cluster was created with (its recorded state_dir): its kubeconfig file is there.
    cluster_state_dir: pulumi.Input[str] | None = None


class InfraComponent(pulumi.ComponentResource):
    """Owns the Kubernetes provider(s) and all namespaces.

    Needs: settings, and `kubeconfig` + `cluster` when the program created the cluster (the local kind cluster);
    otherwise the provider uses `kubernetes.context`. Every Kubernetes resource in the program uses
    `self.provider` (or `self.vault_provider` for Vault's own objects) explicitly, so a stray default
    provider can never deploy to whatever context happens to be current.

    `vault_provider` is `provider` unless `vault.kubeContext` puts Vault into a second cluster; then it is a
    second provider for that context, and `vault_cluster_namespaces` (cert-manager and Vault's, with
    `vault_namespace` among them) are created there; the main cluster then has no Vault namespace.
    With `vault.externalAddress` Vault is not deployed at all and `vault_namespace` is None.
    """

    provider: k8s.Provider
    vault_provider: k8s.Provider
    namespaces: dict[str, k8s.core.v1.Namespace]
    vault_cluster_namespaces: dict[str, k8s.core.v1.Namespace]
    vault_namespace: k8s.core.v1.Namespace | None

    def __init__(self, name: str, args: InfraArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:infra:Infra", name, None, opts)
        settings, kubeconfig, cluster = args.settings, args.kubeconfig, args.cluster
        self._settings = settings
        self.kind_kubeconfig_path: pulumi.Output[str] | None = None
        if args.cluster_state_dir is not None:
            self.kind_kubeconfig_path = pulumi.Output.from_input(args.cluster_state_dir).apply(
                lambda state_dir: str(Path(state_dir) / KUBECONFIG_FILE)
            )
        self.provider = k8s.Provider(
            "kubernetes",
            # A created cluster's kubeconfig wins over a context name: the context may not exist yet.
            kubeconfig=kubeconfig,
            context=None if kubeconfig is not None else settings.kubernetes.context or None,
            # Refuse to guess: objects without an explicit namespace would land in "default".
            namespace=None,
            # Explicit, not only through the kubeconfig Output: the cluster must exist before any API call.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster] if cluster else None),
        )
        vault = settings.vault
        self.vault_provider = self.provider
        if vault.separate_cluster:
            self.vault_provider = k8s.Provider(
                "kubernetes-vault",
                context=vault.kube_context,
                namespace=None,
                opts=pulumi.ResourceOptions(parent=self),
            )
        restricted = {getattr(settings.namespaces, field) for field in _RESTRICTED}
        self.privileged = {getattr(settings.namespaces, field) for field in _PRIVILEGED}
        self._data = {getattr(settings.namespaces, field) for field in DATA_NAMESPACES}
        self.namespaces = {
            namespace: self._namespace(namespace, namespace, settings, restricted, self.provider)
            for namespace in app_cluster_namespaces(settings)
        }
        # The second cluster's namespaces (vault.kubeContext). Vault's keeps the resource name it has in the
        # single-cluster case (the main cluster has none then); the others are prefixed, they exist in both.
        self.vault_cluster_namespaces = {
            namespace: self._namespace(
                namespace if namespace == settings.namespaces.vault else f"vault-cluster-{namespace}",
                namespace,
                settings,
                restricted,
                self.vault_provider,
            )
            for namespace in vault_cluster_namespaces(settings)
        }
        self.vault_namespace = None
        if vault.separate_cluster:
            self.vault_namespace = self.vault_cluster_namespaces[settings.namespaces.vault]
        elif not vault.external:
            self.vault_namespace = self.namespaces[settings.namespaces.vault]
        self.register_outputs({"namespaces": list(self.namespaces)})

    def kubectl_target(self, *, vault: bool = False) -> dict[str, Any]:
        """How kubectl reaches the app cluster (or, with `vault`, the cluster Vault runs in) from where `pulumi`
        runs: the program's kind cluster through the kubeconfig in the directory it was created with (the
        recorded state_dir, not this shell's $HOME: a run from another shell still finds it), else a context."""
        settings = self._settings
        if vault and settings.vault.kube_context:
            return {"kube_context": settings.vault.kube_context}
        if self.kind_kubeconfig_path is not None:
            return {"kube_context": f"kind-{settings.kubernetes.cluster.name}", "kubeconfig": self.kind_kubeconfig_path}
        return {"kube_context": settings.kubernetes.context}

    def _namespace(
        self, resource_name: str, namespace: str, settings: Settings, restricted: set[str], provider: k8s.Provider
    ) -> k8s.core.v1.Namespace:
        level = "restricted" if namespace in restricted else "baseline"
        if namespace in self.privileged:
            level = "privileged"
        return k8s.core.v1.Namespace(
            resource_name,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=namespace,
                labels={
                    **settings.labels,
                    "pod-security.kubernetes.io/enforce": level,
                    # A privileged namespace's pods would warn on every apply; the others show what `restricted` lacks.
                    "pod-security.kubernetes.io/warn": "privileged" if level == "privileged" else "restricted",
                },
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=provider,
                protect=True if namespace in self._data else None,
                retain_on_delete=True if namespace in self._data else None,
            ),
        )
