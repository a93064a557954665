"""The typed, immutable settings every layer reads (built by `components.settings.load`).

Feature switches are enums decided once at load time; layers ask derived properties
(`settings.s3.in_cluster`, `settings.vault.placement`, `settings.app.csi`) instead of comparing strings.
Secrets stay `pulumi.Output`s (fields excluded from equality) and never become plain values here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

import pulumi

PROJECT = "platform"


class StackMode(StrEnum):
    LOCAL = "local"  # every layer applied by Pulumi
    REMOTE = "remote"  # bootstrap layers by Pulumi, application layers by Flux from Git


class S3Backend(StrEnum):
    MINIO = "minio"  # an in-cluster MinIO tenant
    EXTERNAL = "external"  # an S3 endpoint the user provides


class RegistryMode(StrEnum):
    IN_CLUSTER = "in-cluster"  # the program deploys a CNCF distribution registry
    EXTERNAL = "external"  # the app pulls from a registry the user provides


class SecretsDelivery(StrEnum):
    VSO = "vso"  # Kubernetes Secrets synced by the Vault Secrets Operator, mounted as files
    CSI = "csi"  # files from the Secrets Store CSI driver and the Vault CSI provider (no Secret objects)


class AntiAffinity(StrEnum):
    REQUIRED = "required"  # one Vault pod per node
    PREFERRED = "preferred"  # single-node clusters


class VaultPlacement(StrEnum):
    """Where Vault runs, decided once from `vault.kubeContext` / `vault.externalAddress`."""

    SAME_CLUSTER = "same-cluster"  # Vault, its certificates and TokenReview binding next to the app
    SECOND_CLUSTER = "second-cluster"  # Vault + cert-manager + PKI in the `vault.kubeContext` cluster
    EXTERNAL = "external"  # an existing Vault at `vault.externalAddress`; nothing of Vault is deployed


@dataclass(frozen=True)
class LocalClusterSettings:
    """A kind cluster the local stack can create for itself."""

    create: bool
    name: str
    encryption_at_rest: bool
    http_port: int
    https_port: int
    workers: int = 0  # worker nodes besides the control plane (3 allow vault.antiAffinity: required)


@dataclass(frozen=True)
class KubernetesSettings:
    context: str  # "" means the kubeconfig's current context
    cluster: LocalClusterSettings


@dataclass(frozen=True)
class NamespaceSettings:
    flux: str
    cert_manager: str
    monitoring: str
    vault: str
    vault_secrets_operator: str
    vault_config_operator: str
    database_operator: str
    storage_operator: str
    storage: str
    ingress: str
    app: str
    # kube-prometheus-stack's node-exporter (hostNetwork, hostPID, host paths): the one `privileged` namespace.
    node_exporter: str

    def all(self) -> tuple[str, ...]:
        """Every distinct namespace, in a stable order."""
        return tuple(dict.fromkeys(vars(self).values()))


@dataclass(frozen=True)
class PkiSettings:
    key_algorithm: str
    key_size: int
    root_ca_duration: str
    root_ca_renew_before: str
    intermediate_ca_duration: str
    intermediate_ca_renew_before: str
    leaf_duration: str
    leaf_renew_before: str
    organization: str


class SealType(StrEnum):
    """How Vault's root key is protected (`vault.seal.type`)."""

    SHAMIR = "shamir"  # key shares; every restarted pod waits for the program (or an operator) to unseal it
    TRANSIT = "transit"  # another Vault/OpenBao's transit engine: pods unseal themselves
    AWSKMS = "awskms"
    GCPCKMS = "gcpckms"
    AZUREKEYVAULT = "azurekeyvault"


@dataclass(frozen=True)
class SealSettings:
    """An auto-unseal seal (anything but Shamir): the stanza's non-secret attributes and where its secrets come
    from. Secrets never enter the HCL: `environment` maps an environment variable of the Vault pods to a secret
    config value (a Kubernetes Secret Pulumi creates feeds it), `files` maps a file name in the mounted seal
    Secret to one (GCP credentials JSON); `ca_cert` (transit, public) is mounted beside them."""

    type: SealType = SealType.SHAMIR
    attributes: tuple[tuple[str, str], ...] = ()  # HCL `key = "value"` lines, in order
    ca_cert: str = ""
    service_account_annotations: dict[str, str] = field(default_factory=dict)  # workload identity
    environment: dict[str, pulumi.Output[str]] = field(default_factory=dict, compare=False)
    files: dict[str, pulumi.Output[str]] = field(default_factory=dict, compare=False)

    @property
    def auto(self) -> bool:
        """Pods unseal themselves; `sys/init` then returns recovery keys instead of unseal shares."""
        return self.type is not SealType.SHAMIR


def duration_seconds(duration: str) -> int:
    """A Go duration of hours, minutes and seconds (`720h`, `90m`, `1h30m`) in seconds."""
    units = {"h": 3600, "m": 60, "s": 1}
    return sum(int(amount) * units[unit] for amount, unit in re.findall(r"(\d+)([hms])", duration))


@dataclass(frozen=True)
class VaultSettings:
    release_name: str
    replicas: int
    anti_affinity: AntiAffinity
    key_shares: int
    key_threshold: int
    pgp_keys: tuple[str, ...]
    root_token_pgp_key: str
    storage_size: str
    audit_storage_size: str
    operator_role: str
    operator_service_account: str
    local_port: int
    placement: VaultPlacement
    kube_context: str  # SECOND_CLUSTER: the kubectl context Vault is deployed to
    advertise_address: str  # SECOND_CLUSTER: how the application cluster reaches that Vault
    external_address: str  # EXTERNAL: the existing Vault's address
    external_ca_cert: str  # EXTERNAL: the PEM CA that signed its certificate
    # Vault outside this cluster: the app cluster's API server address as Vault reaches it (Kubernetes auth
    # reviews the operators' tokens there). Required with SECOND_CLUSTER, optional with EXTERNAL.
    app_api_address: str = ""
    # How long the admin AppRole's secret_id lives (a Go duration); every `pulumi up` in its second half renews it.
    admin_secret_id_ttl: str = "720h"
    seal: SealSettings = field(default_factory=SealSettings)
    # With PGP-encrypted shares the program cannot unseal by itself: the decrypted shares come here.
    unseal_keys: pulumi.Output[str] | None = field(default=None, compare=False)
    # A root token for the one-time admin bootstrap when the init output cannot be used: the initial
    # token is PGP-encrypted (rootTokenPgpKey), or a break-glass token to change the admin bootstrap.
    root_token: pulumi.Output[str] | None = field(default=None, compare=False)
    # EXTERNAL: the AppRole its operator created for this program (vaultExternalRoleId / vaultExternalSecretId).
    # With it pulumi-vault configures that Vault; without it its operator configures everything by hand.
    external_role_id: pulumi.Output[str] | None = field(default=None, compare=False)
    external_secret_id: pulumi.Output[str] | None = field(default=None, compare=False)

    @property
    def external(self) -> bool:
        """Vault is not deployed by this program; everything points at `external_address`."""
        return self.placement is VaultPlacement.EXTERNAL

    @property
    def deployed(self) -> bool:
        """The program deploys Vault (in this cluster or the second one)."""
        return not self.external

    @property
    def separate_cluster(self) -> bool:
        """The Vault layer goes to its own kubectl context, the rest to `kubernetes.context`."""
        return self.placement is VaultPlacement.SECOND_CLUSTER

    @property
    def in_app_cluster(self) -> bool:
        """Vault runs in the application cluster (neither a second cluster nor an existing Vault)."""
        return self.placement is VaultPlacement.SAME_CLUSTER

    @property
    def configures_external(self) -> bool:
        """The program configures the existing Vault with pulumi-vault (AppRole credentials given)."""
        return self.external and self.external_role_id is not None

    @property
    def ha(self) -> bool:
        return self.replicas > 1

    @property
    def admin_secret_id_ttl_seconds(self) -> int:
        return duration_seconds(self.admin_secret_id_ttl)

    @property
    def pods(self) -> tuple[str, ...]:
        return tuple(f"{self.release_name}-{i}" for i in range(self.replicas))


@dataclass(frozen=True)
class S3Settings:
    backend: S3Backend
    endpoint: str
    region: str
    bucket: str
    minio_storage_size: str
    access_key_id: pulumi.Output[str] | None = field(default=None, compare=False)
    secret_access_key: pulumi.Output[str] | None = field(default=None, compare=False)

    @property
    def in_cluster(self) -> bool:
        """The program deploys MinIO (operator, tenant, namespaces) for S3."""
        return self.backend is S3Backend.MINIO


@dataclass(frozen=True)
class RegistrySettings:
    mode: RegistryMode
    host: str
    username: str
    password: pulumi.Output[str] | None = field(default=None, compare=False)

    @property
    def in_cluster(self) -> bool:
        """The program deploys the registry server."""
        return self.mode is RegistryMode.IN_CLUSTER


@dataclass(frozen=True)
class PostgresSettings:
    instances: int
    storage_size: str
    database: str
    app_role_ttl: str
    migrations_role_ttl: str
    root_rotation_period: str


@dataclass(frozen=True)
class ImageSource:
    """Where `pulumi up` copies the app and migrations images from into the in-cluster registry (app.imageSource):
    each an OCI image layout directory or an image archive (`docker save` or an OCI archive)."""

    app: str
    migrations: str


@dataclass(frozen=True)
class AppSettings:
    name: str
    image: str
    migrations_image: str
    replicas: int
    http_port: int
    metrics_port: int
    log_level: str
    otlp_endpoint: str
    secrets_delivery: SecretsDelivery
    env: dict[str, str]
    image_source: ImageSource | None = None

    @property
    def csi(self) -> bool:
        """Secrets reach the app through the Secrets Store CSI driver (releases, SecretProviderClass)."""
        return self.secrets_delivery is SecretsDelivery.CSI


@dataclass(frozen=True)
class IngressSettings:
    host: str
    https_port: int
    client_apps: tuple[str, ...]
    # Traefik's Service: LoadBalancer where a load-balancer controller hands out addresses, NodePort or
    # ClusterIP where none does (Helm would wait for an address forever).
    service_type: str = "LoadBalancer"


@dataclass(frozen=True)
class MonitoringSettings:
    # kube-prometheus-stack's node-exporter DaemonSet, in its own `privileged` namespace; off: no host metrics.
    node_exporter: bool = True


@dataclass(frozen=True)
class FluxSettings:
    git_url: str
    branch: str
    tag: str
    semver: str
    interval: str
    path: str
    private: bool
    known_hosts: str
    ca_cert: str
    git_username: str
    # flux.verify: the Secret (in the Flux namespace) with the public keys of trusted committers, and the mode.
    verify_secret: str = ""
    verify_mode: str = "HEAD"
    git_token: pulumi.Output[str] | None = field(default=None, compare=False)
    git_ssh_key: pulumi.Output[str] | None = field(default=None, compare=False)

    @property
    def is_ssh(self) -> bool:
        return self.git_url.startswith("ssh://")


@dataclass(frozen=True)
class BackupSettings:
    """Scheduled backups to the S3 backend (`backup.*`): Vault Raft snapshots (and PostgreSQL, see README)."""

    enabled: bool = True
    schedule: str = "17 2 * * *"  # cron, in the cluster's time zone (UTC on most)
    retention_days: int = 14


@dataclass(frozen=True)
class Settings:
    """Everything the program needs, immutable. Built by `components.settings.load.load_settings`."""

    stack: str
    mode: StackMode
    kubernetes: KubernetesSettings
    namespaces: NamespaceSettings
    pki: PkiSettings
    vault: VaultSettings
    s3: S3Settings
    registry: RegistrySettings
    postgres: PostgresSettings
    app: AppSettings
    ingress: IngressSettings
    flux: FluxSettings
    monitoring: MonitoringSettings = MonitoringSettings()
    backup: BackupSettings = field(default_factory=BackupSettings)
    # `pulumi preview` (the engine's dry run), set by `settings_from_pulumi` only: a preview opens no
    # port-forward and reads no Secret, so it runs with the read-only role of README "CI".
    preview: bool = False

    @property
    def vault_snapshots(self) -> bool:
        """The Raft snapshot CronJob runs: backups on and a Vault of this program in this cluster."""
        return self.backup.enabled and self.vault.in_app_cluster

    @property
    def labels(self) -> dict[str, str]:
        """Labels every object the program creates carries."""
        return {"app.kubernetes.io/part-of": PROJECT, "app.kubernetes.io/managed-by": "pulumi"}
