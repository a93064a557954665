"""Where the S3 and registry credentials live in Vault, and what Pulumi writes there for external backends.

The manifests never carry a credential. Every consumer (MinIO's Tenant, the registry, the pull Secret) reads
it from Vault's KV v1 mount (`kv/<app kv path>/<name>`) through a VSO `VaultStaticSecret`, the same way for
both backends:

- `minio-root` {password}: a RandomSecret (manifests/s3); MinIO only.
- `s3-registry` {secretAccessKey[, accessKeyId]}: a RandomSecret (manifests/s3) with MinIO; Pulumi from
  the `s3AccessKeyId`/`s3SecretAccessKey` config secrets with external S3.
- `registry-password` {password}: a RandomSecret (manifests/registry) in-cluster; Pulumi from the
  `registryPassword` config secret for an external registry.

With MinIO the registry's access key id is the MinIO user name `S3_MINIO_USER` (an identifier, not a
secret): the Vault secret then holds only `secretAccessKey` and the templates fall back to that name, so the
registry manifests are identical for both backends. `kv_entries()` is what the Vault configuration
component (`components/vault/configuration.py`, `kv_entries=`) writes for the external cases.
"""

from __future__ import annotations

import pulumi

from components.settings import names as contract
from components.settings.model import Settings

MINIO_ROOT_SECRET = "minio-root"
MINIO_ROOT_USER = "minio-root"
S3_REGISTRY_SECRET = "s3-registry"
S3_MINIO_USER = "registry"
REGISTRY_PASSWORD_SECRET = "registry-password"
ACCESS_KEY_ID = "accessKeyId"
SECRET_ACCESS_KEY = "secretAccessKey"
PASSWORD = "password"


def kv_path(settings: Settings, name: str) -> str:
    """Path of one secret below the KV v1 mount (what `vault.kv.Secret` gets after `kv/`)."""
    return f"{contract.app_kv_path(settings)}/{name}"


def kv_entries(settings: Settings) -> dict[str, pulumi.Output[dict[str, str]]]:
    """KV v1 entries Pulumi must write: credentials that come from config instead of being generated.

    Empty for the all-in-cluster defaults (MinIO + in-cluster registry: vault-config-operator generates
    them). Values stay Pulumi secrets.
    """
    entries: dict[str, pulumi.Output[dict[str, str]]] = {}
    s3 = settings.s3
    if not s3.in_cluster:
        if s3.access_key_id is None or s3.secret_access_key is None:  # load_settings() already refuses this
            raise ValueError("external S3 backend without credentials")
        entries[kv_path(settings, S3_REGISTRY_SECRET)] = pulumi.Output.secret(
            pulumi.Output.all(s3.access_key_id, s3.secret_access_key).apply(
                lambda keys: {ACCESS_KEY_ID: keys[0], SECRET_ACCESS_KEY: keys[1]}
            )
        )
    registry = settings.registry
    if not registry.in_cluster:
        if registry.password is None:  # load_settings() already refuses this
            raise ValueError("external registry without a password")
        entries[kv_path(settings, REGISTRY_PASSWORD_SECRET)] = pulumi.Output.secret(
            registry.password.apply(lambda password: {PASSWORD: password})
        )
    return entries


def variables(settings: Settings) -> dict[str, str]:
    """The `${var}`s the s3, registry and registry-access manifests use (merged into `layers.variables`)."""
    s3 = settings.s3
    endpoint = s3.endpoint if not s3.in_cluster else f"https://minio.{settings.namespaces.storage}.svc"
    return {
        "s3_backend": s3.backend,
        "s3_endpoint": endpoint,
        "s3_region": s3.region,
        "s3_bucket": s3.bucket,
        "s3_minio_storage_size": s3.minio_storage_size,
        "s3_minio_user": S3_MINIO_USER,
        "s3_registry_secret": S3_REGISTRY_SECRET,
        "minio_root_secret": MINIO_ROOT_SECRET,
        "minio_root_user": MINIO_ROOT_USER,
        "registry_host": settings.registry.host,
        "registry_username": settings.registry.username,
        "registry_password_secret": REGISTRY_PASSWORD_SECRET,
        "registry_pull_secret": contract.REGISTRY_PULL_SECRET,
    }
