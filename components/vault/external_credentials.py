"""Credentials that come from config instead of being generated in Vault: Pulumi writes them to Vault's KV v1.

The manifests never carry a credential. Every consumer (MinIO's Tenant, the registry, the pull Secret) reads
it from `kv/<app kv path>/<name>` (names in components/settings/names.py) through a VSO VaultStaticSecret,
the same way for both backends: vault-config-operator generates them (RandomSecret) for MinIO and the
in-cluster registry; for an external S3 endpoint or registry the Vault configuration component writes
`kv_entries()` from the `s3AccessKeyId`/`s3SecretAccessKey`/`registryPassword` config secrets.
"""

from __future__ import annotations

import pulumi

from components.settings import names
from components.settings.model import Settings


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
        entries[names.kv_path(settings, names.S3_REGISTRY_SECRET)] = pulumi.Output.secret(
            pulumi.Output.all(s3.access_key_id, s3.secret_access_key).apply(
                lambda keys: {names.ACCESS_KEY_ID: keys[0], names.SECRET_ACCESS_KEY: keys[1]}
            )
        )
    registry = settings.registry
    if not registry.in_cluster:
        if registry.password is None:  # load_settings() already refuses this
            raise ValueError("external registry without a password")
        entries[names.kv_path(settings, names.REGISTRY_PASSWORD_SECRET)] = pulumi.Output.secret(
            registry.password.apply(lambda password: {names.PASSWORD: password})
        )
    return entries
