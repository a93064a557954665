"""Names Vault, its operators and the manifests must agree on: mounts, auth paths, roles, keys.

The Pulumi side (bootstrap, pulumi-vault resources, chart values) imports these; the manifests get
them through `components.rendering.layers.variables()`, so a renamed mount changes everywhere at once.
"""

from __future__ import annotations

from components.settings.model import Settings

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
# One Kubernetes-auth role and policy per namespace VSO logs in from: the app namespace uses `vault.operatorRole`
# with VSO_POLICY; MinIO's namespace these (its VaultAuth is in manifests/gitops/s3/); VSO's own namespace these
# (the controller's client-cache key, nothing else).
VSO_STORAGE_ROLE = "vso-storage"
VSO_STORAGE_POLICY = "vso-storage"
VSO_CACHE_ROLE = "vso-client-cache"
VSO_CACHE_POLICY = "vso-client-cache"
CONFIG_OPERATOR_POLICY = "vault-config-operator"
# app.secretsDelivery csi: the app's own ServiceAccount logs in (through the Vault CSI provider) with a
# Kubernetes-auth role named like the app (settings.app.name) that carries only this policy.
APP_CSI_POLICY = "app-secrets-csi"
# backup.enabled: the Raft snapshot CronJob's ServiceAccount (app namespace), its Kubernetes-auth role and policy
# (read `sys/storage/raft/snapshot`, nothing else), and the S3 prefix its snapshots go to.
VAULT_SNAPSHOT_IDENTITY = "vault-snapshot"
VAULT_SNAPSHOT_PREFIX = "backups/vault"
POSTGRES_BACKUP_PREFIX = "backups/postgresql"
DB_APP_ROLE = "app"
DB_MIGRATIONS_ROLE = "migrations"
VAULT_PORT = 8200

# --- PostgreSQL and Vault's database engine (manifests/gitops/postgresql, manifests/gitops/database-engine) ---
# The CloudNativePG Cluster (in the app namespace); its primary is `<POSTGRES_CLUSTER>-rw.<ns>.svc`.
POSTGRES_CLUSTER = "postgresql"
POSTGRES_PORT = 5432
# Vault's DB-engine connection: `<DATABASE_MOUNT>/config/<DB_CONNECTION>`.
DB_CONNECTION = "app-db"
# The role Vault's engine logs in as: LOGIN CREATEROLE, never the `postgres` superuser (CloudNativePG
# re-applies the superuser password from its Secret on restarts, which would undo Vault's rotation).
# It needs BOTH a client certificate whose CN is this name and the password only Vault knows.
DB_ROOT_USER = "vault"
# The Vault chart mounts a cert-manager Certificate (issuer-leaf, commonName DB_ROOT_USER, usage
# `client auth`) from this Secret in the Vault namespace at this directory in every Vault pod; the
# engine's connection URL points at `<dir>/tls.crt`, `<dir>/tls.key`, `<dir>/ca.crt` (file paths: the
# PEM-content parameters do not work with OpenBao). Mount it read-only with defaultMode 0440.
POSTGRES_CLIENT_CERT_SECRET = "postgres-client-vault"
POSTGRES_CLIENT_CERT_DIR = "/vault/userconfig/postgres-client"
# Vault-generated first password of DB_ROOT_USER (RandomSecret in kv/<app ns>); useless after the
# engine's immediate rotate-root.
DB_ROOT_INITIAL_SECRET = "postgres-vault-initial"
# The application's generated hashing secret (RandomSecret in kv2/<app ns>).
APP_HASHING_SECRET = "app-hashing"
# `kubernetes.io/dockerconfigjson` pull Secret in the app namespace (written by the registry layer).
REGISTRY_PULL_SECRET = "registry-pull"


def app_kv_path(settings: Settings) -> str:
    """Where the application's generated secrets live in the KV mounts (one folder per namespace)."""
    return settings.namespaces.app


# --- Vault's CA in each namespace whose clients verify Vault (a cert-manager Certificate's `ca.crt` with Vault
# here, a Secret Pulumi writes with that Vault's CA otherwise; components/vault/trust.py) ---
VAULT_CA_SECRET = "vault-ca"

# --- The Secrets Store CSI driver and the Vault CSI provider (app.secretsDelivery: csi) run here ---
SECRETS_STORE_CSI_NAMESPACE = "kube-system"

# --- S3 and registry credentials in Vault's KV v1 mount (`kv/<app kv path>/<name>`); every consumer reads
# them through a VSO VaultStaticSecret. components/vault/external_credentials.py writes the external ones. ---
MINIO_ROOT_SECRET = "minio-root"  # {password}: a RandomSecret (manifests s3); MinIO only
MINIO_ROOT_USER = "minio-root"
S3_REGISTRY_SECRET = "s3-registry"  # {secretAccessKey[, accessKeyId]}
# With MinIO the registry's access key id is this MinIO user name (an identifier, not a secret): the Vault
# secret then holds only `secretAccessKey` and the templates fall back to it, so the registry manifests are
# identical for both backends.
S3_MINIO_USER = "registry"
REGISTRY_PASSWORD_SECRET = "registry-password"  # {password}: the push user (registry.username)
# In-cluster registry: the pull-only user `<registry.username>-pull` (the app's pull Secret), served by a read-only
# registry instance (manifests/gitops/registry/deployment.yaml); external registries use REGISTRY_PASSWORD_SECRET.
REGISTRY_PULL_PASSWORD_SECRET = "registry-pull-password"  # {password}
ACCESS_KEY_ID = "accessKeyId"
SECRET_ACCESS_KEY = "secretAccessKey"
PASSWORD = "password"


def kv_path(settings: Settings, name: str) -> str:
    """Path of one secret below the KV v1 mount (what `vault.kv.Secret` gets after `kv/`)."""
    return f"{app_kv_path(settings)}/{name}"


# backup.enabled: VSO syncs the snapshot CronJob's S3 credentials into Vault's namespace with its own role,
# bound to the CronJob's ServiceAccount there, whose policy reads only that entry.
VSO_BACKUP_ROLE = "vso-vault-backup"
VSO_BACKUP_POLICY = "vso-vault-backup"
