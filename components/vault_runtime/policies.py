"""What the program writes into Vault besides its admin identity: the operators' ACL policies, the Kubernetes-auth
roles that carry them, the mounts, and the HCL renderer every policy (the admin's too) goes through.

Plain functions of the settings, so Pulumi (pulumi-vault `Policy`/`AuthBackendRole`/`Mount`, see
`components/vault/configuration.py`), the admin policy that pins exactly these names and contents
(`admin_policy.py`) and the real-server tests all use the very same values.

The operators' policies are least privilege by construction: every path is exact or uses `+` (exactly one segment)
for the entries of the app's KV folder; there is no `*` glob, no `sudo`, no `sys/mounts`, no `list`.

- VSO, one policy per namespace it logs in from (each bound to a role of that namespace only):
  the app namespace (`names.VSO_POLICY`, role `vault.operatorRole`) reads exactly the KV entries the app
  namespace's VSO objects sync and the two database roles' credentials; MinIO's namespace
  (`names.VSO_STORAGE_POLICY`) reads only MinIO's two entries; VSO's own namespace (`names.VSO_CACHE_POLICY`)
  uses only the transit key that encrypts its client cache. Lease renewal is in Vault's `default` policy.
- the app in csi mode (`names.APP_CSI_POLICY`, role `app.name`, its own ServiceAccount): reads its hashing
  secret and its database credentials, nothing else (`app_csi_rules`).
- vault-config-operator (`names.CONFIG_OPERATOR_POLICY`): exactly the paths its custom resources in
  `manifests/` call. PasswordPolicy writes `sys/policies/password/<name>`; RandomSecret asks that policy
  to `generate`, writes `kv/<folder>/<name>` (v1) or `kv2/data/<folder>/<name>` (v2; deletes through
  `kv2/metadata/...`); DatabaseSecretEngineConfig writes `<db>/config/<connection>`, reads its root
  RandomSecret once, and calls `<db>/rotate-root/<connection>`; DatabaseSecretEngineRole writes
  `<db>/roles/<role>`. The operator reads each path back to compare, and deletes it when the resource goes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from components.settings import names
from components.settings.app_secrets import app_secret_sources
from components.settings.model import Settings

CRUD = ("create", "read", "update", "delete")
DB_ROLES = (names.DB_APP_ROLE, names.DB_MIGRATIONS_ROLE)


@dataclass(frozen=True)
class Rule:
    """One `path` block: capabilities and, optionally, the only request parameters allowed (name -> allowed
    values; an empty list allows any value; a value that is a list must equal the request's list exactly)."""

    capabilities: tuple[str, ...]
    allowed_parameters: Mapping[str, list[Any]] = field(default_factory=dict)


def _hcl_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_hcl_value(item) for item in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)  # a double-quoted string with \" and \n escapes, which HCL reads the same way


def render_hcl(rules: Mapping[str, Rule | Iterable[str]]) -> str:
    """Render rules as policy HCL (deterministic: same input, same text, so no spurious diffs)."""
    blocks = []
    for path, rule in rules.items():
        if not isinstance(rule, Rule):
            rule = Rule(tuple(rule))
        lines = [f'path "{path}" {{', f"  capabilities = {_hcl_value(list(rule.capabilities))}"]
        if rule.allowed_parameters:
            lines.append("  allowed_parameters = {")
            lines += [
                f"    {json.dumps(name)} = {_hcl_value(list(values))}"
                for name, values in rule.allowed_parameters.items()
            ]
            lines.append("  }")
        blocks.append("\n".join([*lines, "}"]) + "\n")
    return "\n".join(blocks)


# KV v1 entries VSO syncs into the app namespace (registry, registry-access, postgresql layers) and into MinIO's.
APP_KV_ENTRIES = (
    names.REGISTRY_PASSWORD_SECRET,
    names.REGISTRY_PULL_PASSWORD_SECRET,
    names.S3_REGISTRY_SECRET,
    names.DB_ROOT_INITIAL_SECRET,
)
STORAGE_KV_ENTRIES = (names.MINIO_ROOT_SECRET, names.S3_REGISTRY_SECRET)


def vso_rules(settings: Settings) -> dict[str, tuple[str, ...]]:
    """Path -> capabilities for VSO in the app namespace: its KV entries, its hashing secret, both DB roles."""
    folder = names.app_kv_path(settings)
    rules: dict[str, tuple[str, ...]] = {f"{names.KV_V1_MOUNT}/{folder}/{entry}": ("read",) for entry in APP_KV_ENTRIES}
    rules[f"{names.KV_V2_MOUNT}/data/{folder}/{names.APP_HASHING_SECRET}"] = ("read",)
    for role in DB_ROLES:
        rules[f"{names.DATABASE_MOUNT}/creds/{role}"] = ("read",)
    return rules


def vso_storage_rules(settings: Settings) -> dict[str, tuple[str, ...]]:
    """Path -> capabilities for VSO in MinIO's namespace: MinIO's root and registry-user entries, nothing else."""
    folder = names.app_kv_path(settings)
    return {f"{names.KV_V1_MOUNT}/{folder}/{entry}": ("read",) for entry in STORAGE_KV_ENTRIES}


def vso_backup_rules(settings: Settings) -> dict[str, tuple[str, ...]]:
    """Path -> capabilities for VSO in Vault's namespace (backup.enabled): the S3 entry the snapshots upload with."""
    return {f"{names.KV_V1_MOUNT}/{names.app_kv_path(settings)}/{names.S3_REGISTRY_SECRET}": ("read",)}


def vso_cache_rules(_settings: Settings) -> dict[str, tuple[str, ...]]:
    """Path -> capabilities for the VSO controller (its namespace): the client-cache transit key only."""
    return {
        f"{names.TRANSIT_MOUNT}/encrypt/{names.VSO_CACHE_KEY}": ("update",),
        f"{names.TRANSIT_MOUNT}/decrypt/{names.VSO_CACHE_KEY}": ("update",),
    }


def config_operator_rules(settings: Settings) -> dict[str, tuple[str, ...]]:
    """Path -> capabilities for vault-config-operator (the writer of engine config and generated secrets)."""
    folder = names.app_kv_path(settings)
    db = names.DATABASE_MOUNT
    rules: dict[str, tuple[str, ...]] = {
        f"sys/policies/password/{names.PASSWORD_POLICY}": CRUD,
        f"sys/policies/password/{names.PASSWORD_POLICY}/generate": ("read",),
        f"{names.KV_V1_MOUNT}/{folder}/+": CRUD,
        f"{names.KV_V2_MOUNT}/data/{folder}/+": ("create", "read", "update"),
        f"{names.KV_V2_MOUNT}/metadata/{folder}/+": ("delete",),
        f"{db}/config/{names.DB_CONNECTION}": CRUD,
        f"{db}/rotate-root/{names.DB_CONNECTION}": ("update",),
    }
    for role in DB_ROLES:
        rules[f"{db}/roles/{role}"] = CRUD
    return rules


def app_csi_rules(settings: Settings) -> dict[str, tuple[str, ...]]:
    """Path -> capabilities for the app itself in `app.secretsDelivery: csi` (role `settings.app.name`).

    Exactly what the app's SecretProviderClass reads (components/settings/app_secrets.py): the hashing secret
    and the app database role's credentials. Nothing of the migrations role, nothing of the operators' paths.
    """
    return {source.secret_path: ("read",) for source in app_secret_sources(settings)}


def snapshot_rules() -> dict[str, tuple[str, ...]]:
    """The Raft snapshot CronJob (`backup.enabled`): take a snapshot. No restore (that is `update` on
    `sys/storage/raft/snapshot(-force)`, a root-token break-glass step, README "Backup and restore"), no data."""
    return {"sys/storage/raft/snapshot": ("read",)}


def app_csi_policy_hcl(settings: Settings) -> str:
    return render_hcl(app_csi_rules(settings))


def vso_policy_hcl(settings: Settings) -> str:
    return render_hcl(vso_rules(settings))


def config_operator_policy_hcl(settings: Settings) -> str:
    return render_hcl(config_operator_rules(settings))


def operator_policies(settings: Settings) -> dict[str, str]:
    """Policy name -> HCL, for `VaultConfiguration(policies=...)`."""
    managed = {
        names.VSO_POLICY: vso_policy_hcl(settings),
        names.VSO_CACHE_POLICY: render_hcl(vso_cache_rules(settings)),
        names.CONFIG_OPERATOR_POLICY: config_operator_policy_hcl(settings),
        **({names.VAULT_SNAPSHOT_IDENTITY: render_hcl(snapshot_rules())} if settings.vault_snapshots else {}),
    }
    if settings.s3.in_cluster:
        managed[names.VSO_STORAGE_POLICY] = render_hcl(vso_storage_rules(settings))
    if settings.vault_snapshots:
        managed[names.VSO_BACKUP_POLICY] = render_hcl(vso_backup_rules(settings))
    return managed


def managed_policies(settings: Settings) -> dict[str, str]:
    """Every ACL policy Pulumi manages, by name (the roles below refer to them)."""
    managed = operator_policies(settings)
    if settings.app.csi:
        managed[names.APP_CSI_POLICY] = app_csi_policy_hcl(settings)
    return managed


@dataclass(frozen=True)
class Role:
    """A Kubernetes-auth role: who (ServiceAccounts in namespaces) gets which policy."""

    name: str
    service_accounts: tuple[str, ...]
    namespaces: tuple[str, ...]
    policy: str


def roles(settings: Settings) -> list[Role]:
    """The roles the operators log in with. VSO reads; vault-config-operator writes engine config.

    One VSO role and policy per namespace: a login from MinIO's namespace cannot read the app's database
    credentials, the controller's own login only reaches its cache key."""
    ns = settings.namespaces
    operator_sa = settings.vault.operator_service_account
    storage = (
        [Role(names.VSO_STORAGE_ROLE, (operator_sa,), (ns.storage,), names.VSO_STORAGE_POLICY)]
        if settings.s3.in_cluster
        else []
    )
    return [
        Role(settings.vault.operator_role, (operator_sa,), (ns.app,), names.VSO_POLICY),
        *storage,
        Role(
            names.VSO_CACHE_ROLE,
            (names.VSO_CONTROLLER_SERVICE_ACCOUNT,),
            (ns.vault_secrets_operator,),
            names.VSO_CACHE_POLICY,
        ),
        Role(
            name=names.CONFIG_OPERATOR_ROLE,
            service_accounts=(names.CONFIG_OPERATOR_SERVICE_ACCOUNT,),
            namespaces=(ns.app,),
            policy=names.CONFIG_OPERATOR_POLICY,
        ),
        *(
            # csi mode: the app's own ServiceAccount logs in (the CSI provider uses the pod's identity).
            [Role(settings.app.name, (settings.app.name,), (ns.app,), names.APP_CSI_POLICY)] if settings.app.csi else []
        ),
        *(
            # backup.enabled: the Raft snapshot CronJob's own ServiceAccount (manifests/gitops/vault-backup/), and VSO
            # logging in as it (its own VaultAuth there) to sync the S3 credentials the CronJob uploads with.
            [
                Role(
                    names.VAULT_SNAPSHOT_IDENTITY,
                    (names.VAULT_SNAPSHOT_IDENTITY,),
                    (ns.vault,),
                    names.VAULT_SNAPSHOT_IDENTITY,
                ),
                Role(names.VSO_BACKUP_ROLE, (names.VAULT_SNAPSHOT_IDENTITY,), (ns.vault,), names.VSO_BACKUP_POLICY),
            ]
            if settings.vault_snapshots
            else []
        ),
    ]


# (path, engine type, options) of every secrets engine the program mounts.
MOUNTS: tuple[tuple[str, str, dict[str, str]], ...] = (
    (names.KV_V2_MOUNT, "kv", {"version": "2"}),
    (names.KV_V1_MOUNT, "kv", {"version": "1"}),
    (names.TRANSIT_MOUNT, "transit", {}),
    (names.DATABASE_MOUNT, "database", {}),
)
