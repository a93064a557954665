"""The manifest layers, their order, and the variables substituted into them.

One `Layer` is one directory under `manifests/` and, in the remote stack, one Flux Kustomization.
`bootstrap` layers are applied by Pulumi in both stacks (the program needs them before Vault exists);
the others are applied by Pulumi in the local stack and by Flux in the remote stack. `variables()` is
the single dict both use: the local renderer substitutes it, Flux gets it as `postBuild.substitute`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.charts import secrets_csi
from components.rendering import storage_secrets
from components.rendering.renderer import MANIFESTS_DIR, render_layer
from components.rendering.vault_variables import vault_variables
from components.settings import kind_network as cluster_contract
from components.settings import names as contract
from components.settings.model import Settings
from components.settings.versions import IMAGES


@dataclass(frozen=True)
class Layer:
    name: str
    depends_on: tuple[str, ...] = ()
    bootstrap: bool = False
    enabled: Callable[[Settings], bool] = lambda _settings: True

    @property
    def directory(self) -> Path:
        return MANIFESTS_DIR / self.name


# In dependency order. A layer only depends on layers listed before it. Planned order:
#   bootstrap (Pulumi in both stacks): pki, vault, vault-operators
#   handed to Flux in remote:          vault-config, s3 (MinIO only), registry (in-cluster only),
#                                      postgresql, database-engine, migrations, app, ingress,
#                                      network-policies
LAYERS: tuple[Layer, ...] = (
    # Monitors for operators installed before the monitoring CRDs (applied by OperatorsComponent).
    Layer("operators-monitoring", bootstrap=True),
    Layer("pki", bootstrap=True),
    # Vault's certificates (VaultComponent; in the second cluster with vault.kubeContext, none with an existing
    # Vault), then what its operators need (ServiceAccounts, CA, TokenReview): vault-operators when Vault runs
    # in this cluster, vault-operators-external otherwise (VaultSettings.placement).
    Layer("vault", depends_on=("pki",), bootstrap=True, enabled=lambda s: s.vault.deployed),
    Layer("vault-operators", depends_on=("vault",), bootstrap=True, enabled=lambda s: s.vault.in_app_cluster),
    Layer("vault-operators-external", bootstrap=True, enabled=lambda s: not s.vault.in_app_cluster),
    # The password policy every generated secret uses (vault-config-operator).
    Layer("vault-config"),
    # MinIO tenant + its Vault-generated credentials; absent with an external S3 endpoint.
    Layer("s3", depends_on=("pki",), enabled=lambda s: s.s3.in_cluster),
    # The registry server; absent when registry.mode is external.
    Layer("registry", depends_on=("pki", "s3"), enabled=lambda s: s.registry.in_cluster),
    # kubernetes.cluster.create: the registry's second Service at the fixed ClusterIP every kind node's
    # containerd pulls through (components/cluster_contract.py).
    Layer(
        "registry-mirror",
        depends_on=("registry",),
        enabled=lambda s: s.kubernetes.cluster.create and s.registry.in_cluster,
    ),
    # The app's pull Secret from the registry password in Vault: both registry modes.
    Layer("registry-access", depends_on=("registry",)),
    # CloudNativePG cluster (TLS, client certificates), Vault's DB engine, Flyway Job, the app.
    Layer("postgresql", depends_on=("vault-config",)),
    Layer("database-engine", depends_on=("postgresql",)),
    Layer("migrations", depends_on=("database-engine", "registry-access")),
    # The app's objects common to both secret-delivery modes, then its Deployment with the mode's secrets:
    # app-vso = VSO-synced Secrets mounted as files; app-csi = the Secrets Store CSI volume (no Secret objects).
    Layer("app", depends_on=("migrations",)),
    Layer("app-vso", depends_on=("app",), enabled=lambda s: not s.app.csi),
    # csi with Vault here: the CSI provider's CA from this cluster's PKI. Vault elsewhere: a Secret Pulumi writes
    # with that Vault's CA (components/vault/trust.py), so no layer.
    Layer(
        "app-csi-vault-ca",
        depends_on=("pki",),
        enabled=lambda s: s.app.csi and s.vault.in_app_cluster,
    ),
    Layer("app-csi", depends_on=("app", "app-csi-vault-ca"), enabled=lambda s: s.app.csi),
    Layer("ingress", depends_on=("pki",)),
    # Last: default-deny everywhere once every component (and its allow rules) exists.
    Layer("network-policies"),
    # Policies of namespaces and workloads that exist only with some config: Flux applies whole directories,
    # so each condition is a directory of its own (never a policy for a namespace that is not there).
    Layer("network-policies-vault", depends_on=("network-policies",), enabled=lambda s: s.vault.in_app_cluster),
    Layer(
        "network-policies-vault-external",
        depends_on=("network-policies",),
        enabled=lambda s: not s.vault.in_app_cluster,
    ),
    # app.secretsDelivery: csi with Vault here: Vault admits the CSI provider's pods (kube-system) on 8200.
    Layer(
        "network-policies-vault-csi",
        depends_on=("network-policies-vault",),
        enabled=lambda s: s.vault.in_app_cluster and s.app.csi,
    ),
    Layer("network-policies-minio", depends_on=("network-policies",), enabled=lambda s: s.s3.in_cluster),
    Layer(
        "network-policies-registry", depends_on=("network-policies",), enabled=lambda s: s.registry.in_cluster
    ),
    Layer(
        "network-policies-registry-minio",
        depends_on=("network-policies-registry",),
        enabled=lambda s: s.registry.in_cluster and s.s3.in_cluster,
    ),
    Layer(
        "network-policies-registry-s3",
        depends_on=("network-policies-registry",),
        enabled=lambda s: s.registry.in_cluster and not s.s3.in_cluster,
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
    """Every `${var}` the manifests may use. Values are strings, as Flux requires."""
    ns = settings.namespaces
    pki = settings.pki
    return {
        "platform_name": "platform",
        "ns_flux": ns.flux,
        "ns_cert_manager": ns.cert_manager,
        "ns_monitoring": ns.monitoring,
        "ns_vault": ns.vault,
        "ns_vault_secrets_operator": ns.vault_secrets_operator,
        "ns_vault_config_operator": ns.vault_config_operator,
        "ns_database_operator": ns.database_operator,
        "ns_storage_operator": ns.storage_operator,
        "ns_storage": ns.storage,
        "ns_ingress": ns.ingress,
        "ns_app": ns.app,
        # Where the Secrets Store CSI driver and the Vault CSI provider run (app.secretsDelivery: csi).
        "ns_secrets_store_csi": secrets_csi.NAMESPACE,
        "pki_key_algorithm": pki.key_algorithm,
        "pki_key_size": str(pki.key_size),
        "pki_root_ca_duration": pki.root_ca_duration,
        "pki_root_ca_renew_before": pki.root_ca_renew_before,
        "pki_intermediate_ca_duration": pki.intermediate_ca_duration,
        "pki_intermediate_ca_renew_before": pki.intermediate_ca_renew_before,
        "pki_leaf_duration": pki.leaf_duration,
        "pki_leaf_renew_before": pki.leaf_renew_before,
        "pki_organization": pki.organization,
        "vault_address": contract.service_address(settings),
        "vault_release": settings.vault.release_name,
        "vault_kv_mount": contract.KV_V1_MOUNT,
        "vault_kv2_mount": contract.KV_V2_MOUNT,
        "vault_transit_mount": contract.TRANSIT_MOUNT,
        "vault_db_mount": contract.DATABASE_MOUNT,
        "vault_auth_path": contract.KUBERNETES_AUTH_PATH,
        "vault_operator_role": settings.vault.operator_role,
        "vault_operator_sa": settings.vault.operator_service_account,
        "vault_config_operator_role": contract.CONFIG_OPERATOR_ROLE,
        "vault_config_operator_sa": contract.CONFIG_OPERATOR_SERVICE_ACCOUNT,
        "vault_password_policy": contract.PASSWORD_POLICY,
        "vault_app_kv_path": contract.app_kv_path(settings),
        "db_app_role": contract.DB_APP_ROLE,
        "db_migrations_role": contract.DB_MIGRATIONS_ROLE,
        # S3, registry, ingress (manifests/s3, registry, registry-access, ingress, network-policies).
        **storage_secrets.variables(settings),
        # The kind cluster's registry mirror (fixed ClusterIP, certificate IP SAN): components/cluster_contract.py.
        **cluster_contract.manifest_variables(settings.kubernetes.cluster.create),
        "image_minio": IMAGES["minio"],
        "image_registry": IMAGES["registry"],
        "ingress_host": settings.ingress.host,
        "app_name": settings.app.name,
        "app_http_port": str(settings.app.http_port),
        # Vault's certificates, ServiceAccount and CA Secrets (components/vault/variables.py).
        **vault_variables(settings),
        **_database_variables(settings),
    }


def _database_variables(settings: Settings) -> dict[str, str]:
    """PostgreSQL, Vault's database engine, the migrations Job and the application (app_name,
    app_http_port and ingress_host are above)."""
    pg, app = settings.postgres, settings.app
    return {
        "postgres_cluster": contract.POSTGRES_CLUSTER,
        "postgres_port": str(contract.POSTGRES_PORT),
        "postgres_instances": str(pg.instances),
        "postgres_storage_size": pg.storage_size,
        "postgres_database": pg.database,
        "postgres_image": IMAGES["postgresql"],
        "postgres_client_cert_dir": contract.POSTGRES_CLIENT_CERT_DIR,
        # NOLOGIN group roles: the owner of every table, and read/write without DDL.
        "db_owner_role": f"{pg.database}_owner",
        "db_rw_role": f"{pg.database}_rw",
        "db_root_user": contract.DB_ROOT_USER,
        "db_root_initial_secret": contract.DB_ROOT_INITIAL_SECRET,
        "db_connection": contract.DB_CONNECTION,
        "db_app_ttl": pg.app_role_ttl,
        "db_migrations_ttl": pg.migrations_role_ttl,
        "db_root_rotation_period": pg.root_rotation_period,
        "app_image": app.image,
        "migrations_image": app.migrations_image,
        "app_replicas": str(app.replicas),
        "app_metrics_port": str(app.metrics_port),
        "app_log_level": app.log_level,
        "app_otlp_endpoint": app.otlp_endpoint,
        # A JSON object is a YAML flow mapping: the ConfigMap's `data` comes out as given, in both stacks.
        "app_env": json.dumps(dict(sorted(app.env.items()))),
        "app_hashing_secret": contract.APP_HASHING_SECRET,
        "registry_pull_secret": contract.REGISTRY_PULL_SECRET,
    }


def render(settings: Settings, layer: Layer) -> list[dict[str, Any]]:
    """The objects of one layer for this stack's settings."""
    return render_layer(layer.directory, variables(settings))
