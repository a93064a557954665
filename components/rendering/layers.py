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


def deploys_app_workloads(settings: Settings) -> bool:
    """The migrations Job and the app Deployment run: their images can be pulled. The local stack's in-cluster
    registry starts empty, so there only with `app.imageSource` (copied in by components/kube/image_copy.py):
    never a Job waiting for an image nothing will put there. An external registry, or the remote stack's
    registry (which CI pushes to; Flux retries until the image is there), always."""
    local_registry = settings.mode == "local" and settings.registry.in_cluster
    return not local_registry or settings.app.image_source is not None


@dataclass(frozen=True)
class Layer:
    """One manifest directory. `folder` defaults to the name (network-policy variants share a parent)."""

    name: str
    depends_on: tuple[str, ...] = ()
    bootstrap: bool = False
    enabled: Callable[[Settings], bool] = _always
    variables: Variables | None = None
    folder: str = ""
    # Its workloads start only with secrets Vault issues (VSO-synced or CSI-mounted), and the local stack waits
    # for them: the layer waits for Vault's configuration (roles, policies, mounts), not only for the CRDs.
    reads_vault: bool = False
    # Its pods pull the app or migrations image: with `app.imageSource` it waits for their copy into the registry.
    pulls_app_images: bool = False
    # Holds data (a database, object storage): the local stack protects and retains its objects (README "Teardown").
    stateful: bool = False

    @property
    def path(self) -> str:
        """The directory relative to `manifests/` (and to `flux.path` in Git)."""
        return f"{'bootstrap' if self.bootstrap else 'gitops'}/{self.folder or self.name}"

    @property
    def directory(self) -> Path:
        return MANIFESTS_DIR / self.path


def policy_variant(variant: str, enabled: Callable[[Settings], bool], variables: Variables | None = None) -> Layer:
    """A NetworkPolicy directory that applies only with some config: manifests/bootstrap/network-policies/<variant>/."""
    return Layer(
        f"network-policies-{variant}",
        bootstrap=True,
        enabled=enabled,
        variables=variables,
        folder=f"network-policies/{variant}",
    )


# In registry order; `depends_on` names only layers listed before it. A layer depends on the layers whose objects
# it consumes and on nothing else: the layer components add what every layer needs anyway (its namespaces, the
# NetworkPolicies, the CRDs of its kinds; Vault's configuration with `reads_vault`), and independent layers
# apply in parallel (README "First deploy: order and timing").
LAYERS: tuple[Layer, ...] = (
    # --- manifests/bootstrap/: Pulumi in both stacks ---
    # manifests/bootstrap/network-policies/: default-deny everywhere plus each component's allow rules (common/),
    # and the policies of namespaces and workloads that exist only with some config (a directory per condition,
    # never a policy for a namespace that is not there). Bootstrap, not Flux: they land right after the
    # namespaces and before any workload, operators and Flux's own controllers included, so no pod ever runs
    # unguarded and every install-time connection (webhooks, Helm hooks) is already admitted. No order among
    # them: NetworkPolicies are additive, so each directory applies in parallel.
    Layer("network-policies", bootstrap=True, folder="network-policies/common"),
    policy_variant("vault", lambda s: s.vault.in_app_cluster),
    policy_variant("vault-external", lambda s: not s.vault.in_app_cluster),
    # app.secretsDelivery: csi with Vault here: Vault admits the CSI provider's pods (kube-system) on 8200.
    policy_variant("vault-csi", lambda s: s.vault.in_app_cluster and s.app.csi),
    policy_variant("minio", lambda s: s.s3.in_cluster),
    policy_variant("registry", lambda s: s.registry.in_cluster),
    policy_variant("registry-minio", lambda s: s.registry.in_cluster and s.s3.in_cluster),
    policy_variant("registry-s3", lambda s: s.registry.in_cluster and not s.s3.in_cluster),
    # monitoring.nodeExporter: its own namespace (Pod Security privileged) gets the default-deny too.
    policy_variant("node-exporter", lambda s: s.monitoring.node_exporter),
    # vault.seal.type transit: Vault's servers out to the transit Vault (cloud KMS seals use 443, which
    # network-policies/vault already allows for the Kubernetes API).
    policy_variant(
        "vault-seal-transit",
        lambda s: s.vault.in_app_cluster and s.vault.seal.type is SealType.TRANSIT,
        variables=var.vault_seal_variables,
    ),
    # backup.enabled: the Vault snapshot CronJob and PostgreSQL's WAL archiving out to the S3 backend there is.
    policy_variant("vault-backup-minio", lambda s: s.vault_snapshots and s.s3.in_cluster),
    policy_variant("postgresql-backup-minio", lambda s: s.backup.enabled and s.s3.in_cluster),
    policy_variant("postgresql-backup-s3", lambda s: s.backup.enabled and not s.s3.in_cluster),
    policy_variant("vault-backup-s3", lambda s: s.vault_snapshots and not s.s3.in_cluster),
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
        depends_on=("pki",),
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
    # The registry server (its S3 credentials are the s3 layer's); absent when registry.mode is external.
    Layer(
        "registry",
        depends_on=("pki", "s3"),
        enabled=lambda s: s.registry.in_cluster,
        variables=var.registry_variables,
        reads_vault=True,
    ),
    # kubernetes.cluster.create: the registry's second Service at the fixed ClusterIP every kind node's
    # containerd pulls through (components/settings/kind_network.py).
    Layer(
        "registry-mirror",
        depends_on=("registry",),
        enabled=lambda s: s.kubernetes.cluster.create and s.registry.in_cluster,
        variables=var.registry_mirror_variables,
    ),
    # The app's pull Secret from the registry password in Vault: both modes. Not after the registry layer (whose
    # RandomSecret writes that password when the registry is in-cluster): VSO retries until it is there, and
    # only pods that pull wait for this Secret.
    Layer("registry-access", variables=var.registry_access_variables),
    # CloudNativePG cluster (TLS, client certificates; its initial password uses the password policy), Vault's
    # DB engine, the Flyway Job (its image must be in the registry: `app.imageSource`), the app.
    Layer("postgresql", depends_on=("pki", "vault-config"), variables=var.postgresql_variables, stateful=True),
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
    Layer("database-engine", depends_on=("postgresql", "vault-config"), variables=var.database_engine_variables),
    Layer(
        "migrations",
        depends_on=("database-engine", "registry-access"),
        enabled=deploys_app_workloads,
        variables=var.migrations_variables,
        reads_vault=True,
        pulls_app_images=True,
    ),
    # The app's objects common to both secret-delivery modes (certificates, config, its hashing secret), then
    # its Deployment with the mode's secrets, after the schema migration:
    # app-vso = VSO-synced Secrets mounted as files; app-csi = the Secrets Store CSI volume (no Secret objects).
    Layer("app", depends_on=("pki", "vault-config"), variables=var.app_variables),
    Layer(
        "app-vso",
        depends_on=("app", "migrations", "registry-access"),
        enabled=lambda s: not s.app.csi and deploys_app_workloads(s),
        reads_vault=True,
        pulls_app_images=True,
    ),
    # csi with Vault here: the CSI provider's CA from this cluster's PKI. Vault elsewhere: a Secret Pulumi writes
    # with that Vault's CA (components/vault/trust.py), so no layer.
    Layer("app-csi-vault-ca", depends_on=("pki",), enabled=lambda s: s.app.csi and s.vault.in_app_cluster),
    Layer(
        "app-csi",
        depends_on=("app", "migrations", "registry-access", "app-csi-vault-ca"),
        enabled=lambda s: s.app.csi and deploys_app_workloads(s),
        reads_vault=True,
        pulls_app_images=True,
    ),
    Layer("ingress", depends_on=("pki",), variables=var.ingress_variables),
    # backup.enabled with Vault here: the Raft snapshot CronJob, its identity and S3 credentials.
    Layer(
        "vault-backup",
        depends_on=("vault-config", "s3"),
        enabled=lambda s: s.vault_snapshots,
        variables=var.vault_backup_variables,
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
