"""The ``platform-admin`` ACL policy: exactly what the Pulumi program's pulumi-vault provider manages.

Bootstrap (``operations.bootstrap_admin``) writes it once with the root token and binds it to the AppRole
that every later ``pulumi up`` logs in with; the tests apply the same rules to a real OpenBao and check both
what it allows and what it denies. One source for both.

Least privilege, by construction:
- no ``path "*"``, no ``/*`` or trailing ``*`` globs at all: every path is exact, or uses ``+`` (exactly one
  segment) where the program names things (policies, Kubernetes-auth roles);
- mounts and auth backends are listed by name (``sys/mounts/kv2`` ...), so the admin cannot mount anything
  else, and ``sys/raw``, ``sys/generate-root*``, ``sys/rekey*``, ``sys/seal``, audit devices, Raft, secret
  *data* (``kv2/data/...``, except KV v1 entries Pulumi itself writes, listed exactly) and the AppRole
  backend itself are simply not granted;
- the admin cannot rewrite its own policy nor ``default`` (attached to every token): exact paths win over
  ``+`` in Vault's ACL priority, so the read-only entries below override ``sys/policies/acl/+``.

pulumi-vault notes: configure the provider with ``auth_login`` on ``auth/<approle path>/login`` and
``skip_child_token=True`` (a child token needs ``auth/token/create``; pass ``allow_child_token=True`` here if
the program cannot skip it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from components.settings.model import Settings
from components.settings.names import (
    DATABASE_MOUNT,
    KUBERNETES_AUTH_PATH,
    KV_V1_MOUNT,
    KV_V2_MOUNT,
    REGISTRY_PASSWORD_SECRET,
    S3_REGISTRY_SECRET,
    TRANSIT_MOUNT,
    VSO_CACHE_KEY,
    kv_path,
)

ADMIN_POLICY_NAME = "platform-admin"
ADMIN_APPROLE_PATH = "approle"
ADMIN_ROLE_NAME = "platform-admin"

CRUD = ("create", "read", "update", "delete")
CRUDS = (*CRUD, "sudo")  # sys/auth/<path> needs sudo to enable/disable/read


def admin_policy_rules(
    *,
    mounts: Iterable[str] = (KV_V2_MOUNT, KV_V1_MOUNT, TRANSIT_MOUNT, DATABASE_MOUNT),
    auth_backends: Iterable[str] = (KUBERNETES_AUTH_PATH,),
    transit_keys: Mapping[str, Iterable[str]] | None = None,
    kv_entries: Iterable[str] = (),
    kv2_config_mounts: Iterable[str] = (),
    password_policies: Iterable[str] = (),
    database_mounts: Iterable[str] = (),
    policy_name: str = ADMIN_POLICY_NAME,
    allow_child_token: bool = False,
) -> dict[str, tuple[str, ...]]:
    """Path -> capabilities for the admin policy, in the order written.

    The defaults match ``components/vault/configuration.py``: ``vault.Mount`` x4, ``transit.SecretBackendKey``
    (``vso-client-cache``), ``AuthBackend`` + ``kubernetes.AuthBackendConfig`` + ``AuthBackendRole``s,
    ``vault.Policy``s. Optional extras for resources the program may add:

    - ``kv_entries``: full KV v1 paths Pulumi writes with ``vault.kv.Secret`` (e.g. ``kv/<ns>/s3-registry``);
      exact paths, so the admin can write those entries and read nothing else in the KV mounts.
    - ``kv2_config_mounts``: KV v2 mounts whose engine config ``<mount>/config`` Pulumi manages.
    - ``password_policies``: ``sys/policies/password/<name>`` managed by Pulumi (vault-config-operator
      manages ``default-password-policy`` in this product, so none by default).
    - ``database_mounts``: DB engine connection config/roles managed by Pulumi (vault-config-operator does it
      here, so none by default).
    """
    if transit_keys is None:
        transit_keys = {TRANSIT_MOUNT: (VSO_CACHE_KEY,)}
    rules: dict[str, tuple[str, ...]] = {
        # pulumi-vault reads the mount and auth tables (fallback when a single-mount read is unsupported).
        "sys/mounts": ("read",),
        "sys/auth": ("read",),
    }
    rules.update(_mount_and_auth_rules(mounts, auth_backends))
    for mount, keys in transit_keys.items():
        for key in keys:
            rules[f"{mount}/keys/{key}"] = CRUD
            rules[f"{mount}/keys/{key}/config"] = ("update",)
    for entry in kv_entries:
        rules[entry] = CRUD
    for mount in kv2_config_mounts:
        rules[f"{mount}/config"] = CRUD  # engine settings only; never data/ or metadata/
    for mount in database_mounts:
        rules[f"{mount}/config/+"] = CRUD
        rules[f"{mount}/roles/+"] = CRUD
        rules[f"{mount}/rotate-root/+"] = ("update",)
    for name in password_policies:
        rules[f"sys/policies/password/{name}"] = CRUD
    rules.update(_acl_policy_rules(policy_name))
    if allow_child_token:
        rules["auth/token/create"] = ("update",)
    return rules


def _mount_and_auth_rules(mounts: Iterable[str], auth_backends: Iterable[str]) -> dict[str, tuple[str, ...]]:
    rules: dict[str, tuple[str, ...]] = {}
    for mount in mounts:
        rules[f"sys/mounts/{mount}"] = CRUD
        rules[f"sys/mounts/{mount}/tune"] = ("read", "update")
    for path in auth_backends:
        rules[f"sys/auth/{path}"] = CRUDS
        rules[f"sys/auth/{path}/tune"] = ("read", "update", "sudo")
        rules[f"sys/mounts/auth/{path}/tune"] = ("read", "update")
        rules[f"auth/{path}/config"] = CRUD
        rules[f"auth/{path}/role"] = ("list",)
        rules[f"auth/{path}/role/+"] = CRUD
    return rules


def _acl_policy_rules(policy_name: str) -> dict[str, tuple[str, ...]]:
    """ACL policies: the current API and its legacy alias (older clients use sys/policy/<name>)."""
    rules: dict[str, tuple[str, ...]] = {}
    for prefix in ("sys/policies/acl", "sys/policy"):
        rules[prefix] = ("list",) if prefix == "sys/policies/acl" else ("read",)
        rules[f"{prefix}/+"] = CRUD
        # Exact paths outrank "+": the admin may read, never rewrite, its own policy and `default`.
        rules[f"{prefix}/{policy_name}"] = ("read",)
        rules[f"{prefix}/default"] = ("read",)
    return rules


def render_hcl(rules: Mapping[str, Iterable[str]]) -> str:
    """Render rules as policy HCL (deterministic: same input, same text, so no spurious diffs)."""
    blocks = []
    for path, caps in rules.items():
        quoted = ", ".join(f'"{c}"' for c in caps)
        blocks.append(f'path "{path}" {{\n  capabilities = [{quoted}]\n}}\n')
    return "\n".join(blocks)


def admin_policy_hcl(**kwargs: Any) -> str:
    """The admin policy as HCL; keyword arguments as :func:`admin_policy_rules`."""
    return render_hcl(admin_policy_rules(**kwargs))


def assert_least_privilege(hcl: str) -> None:
    """Raise ValueError if a policy text has a catch-all path (used on any policy before bootstrap writes it)."""
    for line in hcl.splitlines():
        stripped = line.strip()
        if stripped.startswith("path ") and ('"*"' in stripped or "*" in stripped):
            raise ValueError(f"admin policy must not use '*' globs: {stripped}")


def admin_policy_for(settings: Settings) -> str:
    """The admin AppRole's policy for these settings: what the Vault configuration manages, plus both KV
    entries Pulumi may write (so switching S3 or registry to external later needs no break-glass to widen it)."""
    entries = [f"{KV_V1_MOUNT}/{kv_path(settings, name)}" for name in (S3_REGISTRY_SECRET, REGISTRY_PASSWORD_SECRET)]
    return admin_policy_hcl(kv_entries=entries)


class _StackFile:
    """The config of `Pulumi.<stack>.yaml` as a `components.settings.reader.ConfigSource`, without a Pulumi engine.

    Secrets are only known to be set (their ciphertext is never decrypted): the policy needs none of them.
    """

    def __init__(self, values: Mapping[str, Any]):
        self._values = values

    def get(self, key: str) -> Any:
        return self._values.get(key)

    def get_object(self, key: str) -> Any:
        return self._values.get(key)

    def get_secret(self, key: str) -> Any:
        import pulumi

        return pulumi.Output.secret("<set>") if key in self._values else None

    def keys(self) -> dict[str, bool]:
        # A secret in a stack file is `{secure: <ciphertext>}`.
        return {key: isinstance(value, Mapping) and set(value) == {"secure"} for key, value in self._values.items()}


def _parser(stacks: list[str]):  # -> argparse.ArgumentParser (imported lazily: the module is also a library)
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m components.vault_runtime.admin_policy",
        description="Print the platform-admin Vault policy (HCL) for a stack, from the config in Pulumi.<STACK>.yaml "
        "(defaults for anything unset). For an existing Vault: its operator writes this policy and binds it to the "
        "AppRole whose role id and secret id become vaultExternalRoleId / vaultExternalSecretId.",
    )
    parser.add_argument("stack", nargs="?", default="local", choices=stacks, help="the stack (default: local)")
    return parser


def main(argv: list[str] | None = None) -> str:
    """`python -m components.vault_runtime.admin_policy [STACK]`: the admin policy for STACK (default `local`).

    Unknown arguments and stacks without a `Pulumi.<STACK>.yaml` are refused (exit 2, with the usage), as is
    a stack config the program would refuse (its ConfigError, with the fix).
    """
    import sys
    from pathlib import Path

    import yaml

    from components.settings.load import load_settings
    from components.settings.model import PROJECT
    from components.settings.reader import ConfigError

    root = Path(__file__).resolve().parents[2]
    stacks = sorted(path.name.removeprefix("Pulumi.").removesuffix(".yaml") for path in root.glob("Pulumi.*.yaml"))
    parser = _parser(stacks)
    stack = parser.parse_args(sys.argv[1:] if argv is None else argv).stack
    document = yaml.safe_load((root / f"Pulumi.{stack}.yaml").read_text()) or {}
    config = document.get("config") or {}
    values = {key.removeprefix(f"{PROJECT}:"): value for key, value in config.items()}
    try:
        settings = load_settings(_StackFile(values), stack)
    except ConfigError as error:
        parser.exit(2, f"{parser.prog}: Pulumi.{stack}.yaml: {error}\n")
    policy = admin_policy_for(settings)
    assert_least_privilege(policy)
    return policy


if __name__ == "__main__":
    print(main(), end="")
