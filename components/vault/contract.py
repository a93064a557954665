"""Names Vault, its operators and the manifests must agree on: mounts, auth paths, roles, keys.

The Pulumi side (bootstrap, pulumi-vault resources, chart values) imports these; the manifests get
them through `components.layers.variables()`, so a renamed mount changes everywhere at once.
"""

from __future__ import annotations

from components.config import Settings

KV_V2_MOUNT = "kv2"
KV_V1_MOUNT = "kv"
TRANSIT_MOUNT = "transit"
DATABASE_MOUNT = "postgresql"
KUBERNETES_AUTH_PATH = "kubernetes"
# VSO encrypts its client cache with this transit key (as the original did).
VSO_CACHE_KEY = "vso-client-cache"
PASSWORD_POLICY = "default-password-policy"
# vault-config-operator authenticates with its own role: it writes config, VSO only reads.
CONFIG_OPERATOR_ROLE = "vault-config-operator"
CONFIG_OPERATOR_SERVICE_ACCOUNT = "vault-config-operator-sa"
# The VSO controller's own ServiceAccount (chart default) logs in for the client-cache transit key.
VSO_CONTROLLER_SERVICE_ACCOUNT = "vault-secrets-operator-controller-manager"
# ACL policy names (their HCL lives in components/vault/policies.py).
VSO_POLICY = "vault-secrets-operator"
CONFIG_OPERATOR_POLICY = "vault-config-operator"
DB_APP_ROLE = "app"
DB_MIGRATIONS_ROLE = "migrations"
VAULT_PORT = 8200


def service_address(settings: Settings) -> str:
    """In-cluster address of the active Vault node (the `-active` service exists only in HA)."""
    vault = settings.vault
    service = f"{vault.release_name}-active" if vault.ha else vault.release_name
    return f"https://{service}.{settings.namespaces.vault}.svc:{VAULT_PORT}"


def app_kv_path(settings: Settings) -> str:
    """Where the application's generated secrets live in the KV mounts (one folder per namespace)."""
    return settings.namespaces.app
