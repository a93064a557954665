"""The `${var}` substitution variables, each function owned by the layer that declares it in `LAYERS`.

Values are strings, as Flux's `postBuild.substitute` requires; lists are JSON (a YAML flow sequence), so a
list whose length follows the config is one variable. `components.rendering.layers.variables()` joins every
layer's variables (a name declared twice is an error) for both stacks: the local renderer substitutes them,
the remote stack hands the same dict to Flux.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from components.settings import kind_network, names, placement
from components.settings.app_secrets import app_secret_sources
from components.settings.model import Settings
from components.settings.versions import IMAGES


def common_variables(settings: Settings) -> dict[str, str]:
    """Names every layer may use: the namespaces (all of them, so any layer can name any namespace)."""
    ns = settings.namespaces
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
        "ns_node_exporter": ns.node_exporter,
        # Where the Secrets Store CSI driver and the Vault CSI provider run (app.secretsDelivery: csi).
        "ns_secrets_store_csi": names.SECRETS_STORE_CSI_NAMESPACE,
    }


def pki_variables(settings: Settings) -> dict[str, str]:
    pki = settings.pki
    return {
        "pki_key_algorithm": pki.key_algorithm,
        "pki_key_size": str(pki.key_size),
        "pki_root_ca_duration": pki.root_ca_duration,
        "pki_root_ca_renew_before": pki.root_ca_renew_before,
        "pki_intermediate_ca_duration": pki.intermediate_ca_duration,
        "pki_intermediate_ca_renew_before": pki.intermediate_ca_renew_before,
        "pki_leaf_duration": pki.leaf_duration,
        "pki_leaf_renew_before": pki.leaf_renew_before,
        "pki_organization": pki.organization,
    }


def vault_server_variables(settings: Settings) -> dict[str, str]:
    """Vault's own certificates (manifests of the `vault` layer): names from `settings.placement`, which the
    chart values use too, so a certificate and the volume that mounts it cannot drift apart."""
    return {
        "vault_release": settings.vault.release_name,
        "vault_server_dns_names": json.dumps(placement.server_dns_names(settings)),
        "vault_server_ip_addresses": json.dumps(placement.server_ip_addresses(settings)),
        "vault_tls_secret": placement.tls_secret(settings),
        "vault_service_account": placement.service_account(settings),
        "vault_postgres_client_secret": names.POSTGRES_CLIENT_CERT_SECRET,
        "vault_db_root_user": names.DB_ROOT_USER,
    }


def vault_client_variables(settings: Settings) -> dict[str, str]:
    """What Vault's clients (the operators, their identities and CA, the app) need: address, mounts, roles."""
    return {
        "vault_address": placement.vault_address(settings),
        # The port the app cluster's operators dial Vault on (network policies with Vault elsewhere).
        "vault_client_port": str(placement.client_port(settings)),
        "vault_ca_secret": names.VAULT_CA_SECRET,
        "vault_token_reviewer": placement.TOKEN_REVIEWER_SERVICE_ACCOUNT,
        "vault_kv_mount": names.KV_V1_MOUNT,
        "vault_kv2_mount": names.KV_V2_MOUNT,
        "vault_transit_mount": names.TRANSIT_MOUNT,
        "vault_db_mount": names.DATABASE_MOUNT,
        "vault_auth_path": names.KUBERNETES_AUTH_PATH,
        "vault_operator_role": settings.vault.operator_role,
        "vault_operator_sa": settings.vault.operator_service_account,
        "vault_storage_role": names.VSO_STORAGE_ROLE,
        "vault_config_operator_role": names.CONFIG_OPERATOR_ROLE,
        "vault_config_operator_sa": names.CONFIG_OPERATOR_SERVICE_ACCOUNT,
        "vault_app_kv_path": names.app_kv_path(settings),
    }


def vault_config_variables(_settings: Settings) -> dict[str, str]:
    return {"vault_password_policy": names.PASSWORD_POLICY}


def s3_variables(settings: Settings) -> dict[str, str]:
    """S3 as the registry sees it (both backends) and the MinIO tenant's names."""
    s3 = settings.s3
    endpoint = f"https://minio.{settings.namespaces.storage}.svc" if s3.in_cluster else s3.endpoint
    return {
        "s3_backend": s3.backend,
        "s3_endpoint": endpoint,
        "s3_region": s3.region,
        "s3_bucket": s3.bucket,
        "s3_minio_storage_size": s3.minio_storage_size,
        "s3_minio_user": names.S3_MINIO_USER,
        "s3_registry_secret": names.S3_REGISTRY_SECRET,
        "minio_root_secret": names.MINIO_ROOT_SECRET,
        "minio_root_user": names.MINIO_ROOT_USER,
        "image_minio": IMAGES["minio"],
    }


def registry_variables(settings: Settings) -> dict[str, str]:
    """The registry server. In the program's kind cluster its Service is a ClusterIP (no load-balancer
    controller; Pulumi would wait for an address forever) and its certificate covers the mirror IP that
    containerd dials (components/settings/kind_network.py)."""
    kind = settings.kubernetes.cluster.create
    return {
        "registry_host": settings.registry.host,
        "registry_username": settings.registry.username,
        "registry_password_secret": names.REGISTRY_PASSWORD_SECRET,
        "registry_pull_user": pull_username(settings),
        "registry_pull_password_secret": names.REGISTRY_PULL_PASSWORD_SECRET,
        "image_registry": IMAGES["registry"],
        "registry_service_type": "ClusterIP" if kind else "LoadBalancer",
        "registry_ip_addresses": json.dumps([kind_network.REGISTRY_MIRROR_IP] if kind else []),
    }


def registry_mirror_variables(_settings: Settings) -> dict[str, str]:
    return {
        "registry_mirror_ip": kind_network.REGISTRY_MIRROR_IP,
        "registry_mirror_port": str(kind_network.REGISTRY_PORT),
    }


def pull_username(settings: Settings) -> str:
    """The in-cluster registry's pull-only user (the read-only instance's htpasswd)."""
    return f"{settings.registry.username}-pull"


def registry_access_variables(settings: Settings) -> dict[str, str]:
    """The app's pull Secret: the pull-only user of the in-cluster registry; an external registry's configured
    user (its operator should make that a pull-only token)."""
    in_cluster = settings.registry.in_cluster
    return {
        "registry_pull_secret": names.REGISTRY_PULL_SECRET,
        "registry_access_user": pull_username(settings) if in_cluster else settings.registry.username,
        "registry_access_password_secret": names.REGISTRY_PULL_PASSWORD_SECRET
        if in_cluster
        else names.REGISTRY_PASSWORD_SECRET,
    }


def postgresql_variables(settings: Settings) -> dict[str, str]:
    """The CloudNativePG Cluster; NOLOGIN group roles own every table (owner) or read/write without DDL (rw)."""
    pg = settings.postgres
    return {
        "postgres_cluster": names.POSTGRES_CLUSTER,
        "postgres_port": str(names.POSTGRES_PORT),
        "postgres_instances": str(pg.instances),
        "postgres_storage_size": pg.storage_size,
        "postgres_database": pg.database,
        "postgres_image": IMAGES["postgresql"],
        "postgres_client_cert_dir": names.POSTGRES_CLIENT_CERT_DIR,
        "db_owner_role": f"{pg.database}_owner",
        "db_rw_role": f"{pg.database}_rw",
        "db_root_user": names.DB_ROOT_USER,
        "db_root_initial_secret": names.DB_ROOT_INITIAL_SECRET,
    }


def database_engine_variables(settings: Settings) -> dict[str, str]:
    pg = settings.postgres
    return {
        "db_connection": names.DB_CONNECTION,
        "db_app_role": names.DB_APP_ROLE,
        "db_migrations_role": names.DB_MIGRATIONS_ROLE,
        "db_app_ttl": pg.app_role_ttl,
        "db_migrations_ttl": pg.migrations_role_ttl,
        "db_root_rotation_period": pg.root_rotation_period,
    }


def migrations_variables(settings: Settings) -> dict[str, str]:
    return {"migrations_image": settings.app.migrations_image}


def app_variables(settings: Settings) -> dict[str, str]:
    app = settings.app
    return {
        "app_name": app.name,
        "app_image": app.image,
        "app_replicas": str(app.replicas),
        "app_http_port": str(app.http_port),
        "app_metrics_port": str(app.metrics_port),
        "app_log_level": app.log_level,
        "app_otlp_endpoint": app.otlp_endpoint,
        # A JSON object is a YAML flow mapping: the ConfigMap's `data` comes out as given, in both stacks.
        "app_env": json.dumps(dict(sorted(app.env.items()))),
        "app_hashing_secret": names.APP_HASHING_SECRET,
        **app_secret_variables(settings),
    }


def app_secret_variables(settings: Settings) -> dict[str, str]:
    """The app's secret files (components/settings/app_secrets.py) as the two delivery modes mount them:
    the projected volume's `sources` (vso) and the SecretProviderClass `objects` text (csi), both JSON so the
    whole list is one YAML value."""
    sources = app_secret_sources(settings)
    projected = [
        {
            "secret": {
                "name": f"{settings.app.name}-{source.name}",
                "items": [{"key": f.key, "path": f.file} for f in source.files],
            }
        }
        for source in sources
    ]
    objects = "".join(
        f"- objectName: {f.file}\n  secretPath: {source.secret_path}\n  secretKey: {f.key}\n"
        for source in sources
        for f in source.files
    )
    return {"app_secret_sources": json.dumps(projected), "app_csi_objects": json.dumps(objects)}


def ingress_variables(settings: Settings) -> dict[str, str]:
    return {"ingress_host": settings.ingress.host}


def vault_backup_variables(settings: Settings) -> dict[str, str]:
    """The Vault Raft snapshot CronJob (backup.*): schedule, retention, its identity, where it uploads."""
    backup = settings.backup
    return {
        "backup_schedule": backup.schedule,
        "backup_retention_days": str(backup.retention_days),
        # The in-cluster MinIO's certificate comes from the platform PKI; an external endpoint uses public CAs.
        "backup_s3_ca_file": "/etc/platform-ca/ca.crt" if settings.s3.in_cluster else "",
        "vault_snapshot_identity": names.VAULT_SNAPSHOT_IDENTITY,
        "vault_backup_role": names.VSO_BACKUP_ROLE,
        "vault_snapshot_prefix": names.VAULT_SNAPSHOT_PREFIX,
        "vault_active_address": f"https://{settings.vault.release_name}-active.{settings.namespaces.vault}.svc:8200",
        "image_curl": IMAGES["curl"],
    }


def postgres_backup_variables(settings: Settings) -> dict[str, str]:
    """PostgreSQL backups through the Barman Cloud plugin (the Cluster's plugin entry is on or inert)."""
    return {
        "postgres_backup_enabled": "true" if settings.backup.enabled else "false",
        "postgres_backup_prefix": names.POSTGRES_BACKUP_PREFIX,
    }


def vault_seal_variables(settings: Settings) -> dict[str, str]:
    """The transit seal's port (its address's, else 443), for Vault's egress NetworkPolicy."""
    address = dict(settings.vault.seal.attributes).get("address", "")
    port = urlsplit(address).port if address else None
    return {"vault_seal_transit_port": str(port or 443)}
