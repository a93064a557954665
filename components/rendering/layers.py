"""The manifest layers: where each lives, when it is on, what it waits for and which variables it owns.

One `Layer` is one directory under `manifests/` and, in the remote stack, one Flux Kustomization.
`manifests/bootstrap/` holds the layers Pulumi applies in both stacks (the program needs them before or
while Vault comes up); `manifests/gitops/` the layers Pulumi applies in the local stack and Flux applies
from Git in the remote stack. Each layer declares the `${var}` variables it owns (components/rendering/
variables.py); `variables()` joins them into the single dict both stacks use: the local renderer
substitutes it, Flux gets it as `postBuild.substitute`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.rendering import variables as var
from components.rendering.renderer import MANIFESTS_DIR, render_layer
from components.settings.model import SealType, Settings

Variables = Callable[[Settings], dict[str, str]]


def _always(_settings: Settings) -> bool:
    return True


@dataclass(frozen=True)
class Layer:
    """One manifest directory. `folder` defaults to the name (network-policy variants share a parent)."""

    name: str
    depends_on: tuple[str, ...] = ()
    bootstrap: bool = False
    enabled: Callable[[Settings], bool] = _always
    variables: Variables | None = None
    folder: str = ""
    # Holds data (a database, object storage): the local stack protects and retains its objects (README "Teardown").
    stateful: bool = False

    @property
    def path(self) -> str:
        """The directory relative to `manifests/` (and to `flux.path` in Git)."""
        return f"{'bootstrap' if self.bootstrap else 'gitops'}/{self.folder or self.name}"

    @property
    def directory(self) -> Path:
        return MANIFESTS_DIR / self.path


# In dependency order: a layer only depends on layers listed before it.
LAYERS: tuple[Layer, ...] = (
    # --- manifests/bootstrap/: Pulumi in both stacks ---
    # Monitors for operators installed before the monitoring CRDs (applied by OperatorsComponent).
    Layer("operators-monitoring", bootstrap=True),
    Layer("pki", bootstrap=True, variables=var.pki_variables),
    # Vault's certificates (VaultServerComponent; in the second cluster with vault.kubeContext, none with an
    # existing Vault), then what its operators need (ServiceAccounts, CA, TokenReview): vault-operators when
    # Vault runs in this cluster, vault-operators-external otherwise (VaultSettings.placement).
    Layer(
        "vault",
        depends_on=("pki",),
        bootstrap=True,
        enabled=lambda s: s.vault.deployed,
        variables=var.vault_server_variables,
    ),
    Layer(
        "vault-operators",
        depends_on=("vault",),
        bootstrap=True,
        enabled=lambda s: s.vault.in_app_cluster,
        variables=var.vault_client_variables,
    ),
    Layer(
        "vault-operators-external",
        bootstrap=True,
        enabled=lambda s: not s.vault.in_app_cluster,
        variables=var.vault_client_variables,
    ),
    # --- manifests/gitops/: Pulumi in the local stack, Flux in the remote stack ---
    # The password policy every generated secret uses (vault-config-operator).
    Layer("vault-config", variables=var.vault_config_variables),
    # MinIO tenant + its Vault-generated credentials; absent with an external S3 endpoint.
    Layer("s3", depends_on=("pki",), enabled=lambda s: s.s3.in_cluster, variables=var.s3_variables, stateful=True),
    # The registry server; absent when registry.mode is external.
    Layer(
        "registry", depends_on=("pki", "s3"), enabled=lambda s: s.registry.in_cluster, variables=var.registry_variables
    ),
    # kubernetes.cluster.create: the registry's second Service at the fixed ClusterIP every kind node's
    # containerd pulls through (components/settings/kind_network.py).
    Layer(
        "registry-mirror",
        depends_on=("registry",),
        enabled=lambda s: s.kubernetes.cluster.create and s.registry.in_cluster,
        variables=var.registry_mirror_variables,
    ),
    # The app's pull Secret from the registry password in Vault: both registry modes.
    Layer("registry-access", depends_on=("registry",), variables=var.registry_access_variables),
    # CloudNativePG cluster (TLS, client certificates), Vault's DB engine, Flyway Job, the app.
    Layer("postgresql", depends_on=("vault-config",), variables=var.postgresql_variables, stateful=True),
    # backup.enabled: the ScheduledBackup and the S3 keys, then the ObjectStore of the S3 backend there is.
    Layer(
        "postgresql-backup",
        depends_on=("postgresql",),
        enabled=lambda s: s.backup.enabled,
        variables=var.postgres_backup_variables,
    ),
    Layer(
        "postgresql-backup-minio",
        depends_on=("postgresql-backup",),
        enabled=lambda s: s.backup.enabled and s.s3.in_cluster,
    ),
    Layer(
        "postgresql-backup-s3",
        depends_on=("postgresql-backup",),
        enabled=lambda s: s.backup.enabled and not s.s3.in_cluster,
    ),
    Layer("database-engine", depends_on=("postgresql",), variables=var.database_engine_variables),
    Layer("migrations", depends_on=("database-engine", "registry-access"), variables=var.migrations_variables),
    # The app's objects common to both secret-delivery modes, then its Deployment with the mode's secrets:
    # app-vso = VSO-synced Secrets mounted as files; app-csi = the Secrets Store CSI volume (no Secret objects).
    Layer("app", depends_on=("migrations",), variables=var.app_variables),
    Layer("app-vso", depends_on=("app",), enabled=lambda s: not s.app.csi),
    # csi with Vault here: the CSI provider's CA from this cluster's PKI. Vault elsewhere: a Secret Pulumi writes
    # with that Vault's CA (components/vault/trust.py), so no layer.
    Layer("app-csi-vault-ca", depends_on=("pki",), enabled=lambda s: s.app.csi and s.vault.in_app_cluster),
    Layer("app-csi", depends_on=("app", "app-csi-vault-ca"), enabled=lambda s: s.app.csi),
    Layer("ingress", depends_on=("pki",), variables=var.ingress_variables),
    # backup.enabled with Vault here: the Raft snapshot CronJob, its identity and S3 credentials.
    Layer(
        "vault-backup",
        depends_on=("vault-config", "s3"),
        enabled=lambda s: s.vault_snapshots,
        variables=var.vault_backup_variables,
    ),
    # manifests/gitops/network-policies/: default-deny everywhere plus each component's allow rules (common/),
    # and the policies of namespaces and workloads that exist only with some config: Flux applies whole
    # directories, so each condition is a directory of its own (never a policy for a namespace that is not there).
    Layer("network-policies", folder="network-policies/common"),
    Layer(
        "network-policies-vault",
        depends_on=("network-policies",),
        enabled=lambda s: s.vault.in_app_cluster,
        folder="network-policies/vault",
    ),
    # vault.seal.type transit: Vault's servers out to the transit Vault (cloud KMS seals use 443, which
    # network-policies/vault already allows for the Kubernetes API).
    Layer(
        "network-policies-vault-seal-transit",
        depends_on=("network-policies-vault",),
        enabled=lambda s: s.vault.in_app_cluster and s.vault.seal.type is SealType.TRANSIT,
        variables=var.vault_seal_variables,
        folder="network-policies/vault-seal-transit",
    ),
    Layer(
        "network-policies-vault-external",
        depends_on=("network-policies",),
        enabled=lambda s: not s.vault.in_app_cluster,
        folder="network-policies/vault-external",
    ),
    # app.secretsDelivery: csi with Vault here: Vault admits the CSI provider's pods (kube-system) on 8200.
    Layer(
        "network-policies-vault-csi",
        depends_on=("network-policies-vault",),
        enabled=lambda s: s.vault.in_app_cluster and s.app.csi,
        folder="network-policies/vault-csi",
    ),
    Layer(
        "network-policies-minio",
        depends_on=("network-policies",),
        enabled=lambda s: s.s3.in_cluster,
        folder="network-policies/minio",
    ),
    Layer(
        "network-policies-registry",
        depends_on=("network-policies",),
        enabled=lambda s: s.registry.in_cluster,
        folder="network-policies/registry",
    ),
    Layer(
        "network-policies-registry-minio",
        depends_on=("network-policies-registry",),
        enabled=lambda s: s.registry.in_cluster and s.s3.in_cluster,
        folder="network-policies/registry-minio",
    ),
    Layer(
        "network-policies-registry-s3",
        depends_on=("network-policies-registry",),
        enabled=lambda s: s.registry.in_cluster and not s.s3.in_cluster,
        folder="network-policies/registry-s3",
    ),
    # The Vault snapshot CronJob (Vault's namespace, which admits it to Vault already): to the S3 backend it has.
    Layer(
        "network-policies-vault-backup-minio",
        depends_on=("network-policies-vault", "network-policies-minio"),
        enabled=lambda s: s.vault_snapshots and s.s3.in_cluster,
        folder="network-policies/vault-backup-minio",
    ),
    Layer(
        "network-policies-postgresql-backup-minio",
        depends_on=("network-policies-minio",),
        enabled=lambda s: s.backup.enabled and s.s3.in_cluster,
        folder="network-policies/postgresql-backup-minio",
    ),
    Layer(
        "network-policies-postgresql-backup-s3",
        depends_on=("network-policies",),
        enabled=lambda s: s.backup.enabled and not s.s3.in_cluster,
        folder="network-policies/postgresql-backup-s3",
    ),
    Layer(
        "network-policies-vault-backup-s3",
        depends_on=("network-policies-vault",),
        enabled=lambda s: s.vault_snapshots and not s.s3.in_cluster,
        folder="network-policies/vault-backup-s3",
    ),
)


def layer_named(name: str) -> Layer:
    """The layer of that name (for the component that applies it)."""
    return next(layer for layer in LAYERS if layer.name == name)


def active_layers(settings: Settings, *, bootstrap: bool | None = None) -> list[Layer]:
    """The layers this stack deploys, in order; `bootstrap` filters to one kind."""
    chosen = [layer for layer in LAYERS if layer.enabled(settings)]
    if bootstrap is not None:
        chosen = [layer for layer in chosen if layer.bootstrap == bootstrap]
    return chosen


def variables(settings: Settings) -> dict[str, str]:
    """Every `${var}` the manifests may use: the common ones plus each layer's own (enabled or not, so a
    layer may name another's objects). Values are strings, as Flux requires."""
    joined = var.common_variables(settings)
    owner = dict.fromkeys(joined, "common")
    declared: list[Variables] = []
    for layer in LAYERS:
        if layer.variables is None or layer.variables in declared:
            continue
        declared.append(layer.variables)
        for name, value in layer.variables(settings).items():
            if name in owner:
                raise ValueError(f"variable {name!r} is declared by layer {layer.name} and by {owner[name]}")
            owner[name] = layer.name
            joined[name] = value
    return joined


def render(settings: Settings, layer: Layer) -> list[dict[str, Any]]:
    """The objects of one layer for this stack's settings."""
    return render_layer(layer.directory, variables(settings))
