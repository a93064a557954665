"""The application's secret files: one declaration per Vault source, read by every place that must agree.

Both `app.secretsDelivery` modes mount the same files under `SECRETS_DIR`: vso as a projected volume of the
VSO-synced Secrets `<app>-<source>` (manifests/gitops/app-vso/), csi as the objects of the app's
SecretProviderClass (manifests/gitops/app-csi/). The projected sources, the CSI objects and the app's own CSI
policy (components/vault/policies.py) are all derived from `app_secret_sources()`, so a new secret is one
entry here plus its VSO object in manifests/gitops/app-vso/secrets.yaml (a test checks both exist).
"""

from __future__ import annotations

from dataclasses import dataclass

from components.settings import names
from components.settings.model import Settings

SECRETS_DIR = "/mnt/secrets"


@dataclass(frozen=True)
class SecretFile:
    key: str  # the key in the Vault secret (and in the VSO-synced Secret)
    file: str  # the file name under SECRETS_DIR


@dataclass(frozen=True)
class AppSecretSource:
    """One Vault secret the app reads: VSO syncs it to the Secret `<app>-<name>`; the CSI provider reads
    `secret_path` (the Vault API path: KV v2 paths include `data/`)."""

    name: str
    secret_path: str
    files: tuple[SecretFile, ...]


def app_secret_sources(settings: Settings) -> tuple[AppSecretSource, ...]:
    folder = names.app_kv_path(settings)
    return (
        AppSecretSource(
            "common",
            f"{names.KV_V2_MOUNT}/data/{folder}/{names.APP_HASHING_SECRET}",
            (SecretFile("hashing-secret", "hashing-secret"),),
        ),
        # One source for both database files: the CSI provider reads a path once per mount, so username and
        # password come from the same lease.
        AppSecretSource(
            "db",
            f"{names.DATABASE_MOUNT}/creds/{names.DB_APP_ROLE}",
            (SecretFile("username", "db-username"), SecretFile("password", "db-password")),
        ),
    )
