"""The ``platform-admin`` ACL policy: exactly what the Pulumi program's pulumi-vault provider manages, and nothing
that would let its holder grant itself more.

Bootstrap (``steps.bootstrap``) writes it once with the root token and binds it to the AppRole every later
``pulumi up`` logs in with; the tests apply it to a real OpenBao and replay each escalation against it
(``tests/integration/test_vault_configuration.py``). One source for both, and for the operator of an existing
Vault (``python -m components.vault_runtime.admin_policy``).

Cannot escalate, by construction (each line is an attack it stops):
- every path is exact: no ``*``, no ``+`` (``assert_least_privilege``). Policies and Kubernetes-auth roles are
  granted by the names the program uses (``policies.managed_policies`` / ``policies.roles``, for every switch the
  settings can flip without renaming anything: S3 in-cluster or external, VSO or CSI, backups on or off);
- their content is pinned with ``allowed_parameters``: a policy may only be written with one of the exact bodies
  the program renders (an exact string match: the bodies neither start nor end with ``*``, the only glob
  ``allowed_parameters`` knows); a role only with its exact ServiceAccount names, namespaces and policy (list
  values must equal the request's list), an empty namespace selector, and none of the legacy aliases
  (``policies``, ``bound_cidrs``: every parameter not listed is refused);
- Kubernetes auth: enabled only at ``kubernetes`` and only with ``type = "kubernetes"``; never disabled (no
  ``delete`` on ``sys/auth/kubernetes``); its config only with the API address of this placement
  (``kubernetes_host``), so TokenReviews cannot be sent to a server that approves any token;
- secrets engines: only the program's mounts, each only with its own ``type``;
- no ``sys/policy/...`` (legacy), no ``default`` or ``platform-admin`` rewrite, no ``auth/token/create*``, no
  ``sys/audit*``, no AppRole role writes: of AppRole it may only mint a secret_id for *its own* role (the role's
  ``secret_id_ttl`` and CIDRs cap it) and destroy that role's secret_ids, which the rotation needs;
- ``sys/raw``, ``sys/generate-root*``, ``sys/rekey*``, ``sys/seal``, Raft, secret data (``kv2/data/...``; KV v1
  entries Pulumi writes are listed exactly) are simply not granted.

Residual (README "Threat model"): the admin may *delete* the program's mounts, policies and roles (destroying data
or access, not gaining any), tune mounts, and with Vault outside this cluster set the reviewer token and API CA of
Kubernetes auth (neither is known when the policy is written); a CA of its own only matters to an attacker who can
also intercept the traffic to the configured API address.

pulumi-vault: the provider logs in with ``auth_login`` on ``auth/<approle path>/login`` and
``skip_child_token=True`` (a child token needs ``auth/token/create``). The parameter lists below are the fields
terraform-provider-vault 5.x (pulumi-vault 7.x) sends for each resource.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from components.settings import placement
from components.settings.model import S3Backend, SecretsDelivery, Settings
from components.settings.names import (
    KUBERNETES_AUTH_PATH,
    KV_V1_MOUNT,
    REGISTRY_PASSWORD_SECRET,
    S3_REGISTRY_SECRET,
    TRANSIT_MOUNT,
    VSO_CACHE_KEY,
    kv_path,
)
from components.vault_runtime.policies import MOUNTS, Role, Rule, managed_policies, render_hcl, roles

__all__ = [
    "admin_policy_for",
    "admin_policy_hcl",
    "admin_policy_rules",
    "admin_policy_rules_for",
    "assert_least_privilege",
    "render_hcl",
]

ADMIN_POLICY_NAME = "platform-admin"
ADMIN_APPROLE_PATH = "approle"
ADMIN_ROLE_NAME = "platform-admin"

CRUD = ("create", "read", "update", "delete")
ANY: list[Any] = []  # allowed_parameters: any value
# `sys/mounts/<path>` and `sys/auth/<path>` bodies (vault/api MountInput, EnableAuthOptions) besides `type`.
MOUNT_FIELDS = ("description", "config", "local", "seal_wrap", "external_entropy_access", "options")
# A Kubernetes-auth role's token_* fields (terraform-provider-vault's addTokenFields): lifetimes and limits only.
TOKEN_FIELDS = (
    "token_ttl",
    "token_max_ttl",
    "token_explicit_max_ttl",
    "token_period",
    "token_num_uses",
    "token_type",
    "token_bound_cidrs",
    "token_no_default_policy",
    "alias_name_source",
    "alias_metadata",
)


def _exactly(values: Iterable[str]) -> list[Any]:
    """allowed_parameters values matching a request list equal to ``values`` in any order (a Terraform set)."""
    return [list(order) for order in itertools.permutations(values)]


def mount_rule(engine: str) -> Rule:
    return Rule(CRUD, {"type": [engine], **{name: ANY for name in MOUNT_FIELDS}})


def role_rule(role_variants: Iterable[Role]) -> Rule:
    """One Kubernetes-auth role name: only the bindings the program gives it (any of them if they differ)."""
    allowed: dict[str, list[Any]] = {
        "bound_service_account_names": [],
        "bound_service_account_namespaces": [],
        "token_policies": [],
    }
    for role in role_variants:
        for key, values in (
            ("bound_service_account_names", role.service_accounts),
            ("bound_service_account_namespaces", role.namespaces),
            ("token_policies", (role.policy,)),
        ):
            allowed[key] += [v for v in _exactly(values) if v not in allowed[key]]
    return Rule(
        CRUD,
        {
            **allowed,
            "bound_service_account_namespace_selector": [""],
            "audience": [""],
            **{name: ANY for name in TOKEN_FIELDS},
        },
    )


def kubernetes_config_rule(kubernetes_host: str, disable_local_ca_jwt: bool) -> Rule:
    return Rule(
        CRUD,
        {
            "kubernetes_host": [kubernetes_host],
            "disable_local_ca_jwt": [disable_local_ca_jwt],
            "kubernetes_ca_cert": ANY,
            "token_reviewer_jwt": ANY,
            "pem_keys": [""],
            "issuer": [""],
            "disable_iss_validation": ANY,
            "use_annotations_as_alias_metadata": ANY,
        },
    )


def _kubernetes_auth_rules(
    roles_by_name: Mapping[str, Iterable[Role]], kubernetes_host: str, disable_local_ca_jwt: bool
) -> dict[str, Rule]:
    auth = KUBERNETES_AUTH_PATH
    # sys/auth/<path> needs sudo to enable and read; no delete: the admin can never disable Kubernetes auth.
    rules = {
        f"sys/auth/{auth}": Rule(("create", "read", "update", "sudo"), mount_rule("kubernetes").allowed_parameters),
        f"sys/auth/{auth}/tune": Rule(("read", "update", "sudo")),
        f"sys/mounts/auth/{auth}/tune": Rule(("read", "update")),
        f"auth/{auth}/config": kubernetes_config_rule(kubernetes_host, disable_local_ca_jwt),
        f"auth/{auth}/role": Rule(("list",)),
    }
    for name, variants in roles_by_name.items():
        rules[f"auth/{auth}/role/{name}"] = role_rule(variants)
    return rules


def admin_policy_rules(
    *,
    policies: Mapping[str, Iterable[str]] | None = None,
    roles_by_name: Mapping[str, Iterable[Role]] | None = None,
    mounts: Iterable[tuple[str, str]] = tuple((path, engine) for path, engine, _ in MOUNTS),
    kubernetes_host: str = placement.IN_CLUSTER_API,
    disable_local_ca_jwt: bool = False,
    transit_keys: Mapping[str, Iterable[str]] | None = None,
    kv_entries: Iterable[str] = (),
    kv2_config_mounts: Iterable[str] = (),
    password_policies: Iterable[str] = (),
    policy_name: str = ADMIN_POLICY_NAME,
    approle_path: str = ADMIN_APPROLE_PATH,
    role_name: str = ADMIN_ROLE_NAME,
    allow_child_token: bool = False,
) -> dict[str, Rule]:
    """Path -> rule for the admin policy, in the order written.

    ``policies``: name -> the bodies the program may write under that name; ``roles_by_name``: Kubernetes-auth
    role name -> its bindings (``admin_policy_for`` fills both from the settings). Optional extras:
    ``kv_entries`` (full KV v1 paths Pulumi writes with ``vault.kv.Secret``), ``kv2_config_mounts`` (KV v2 mounts
    whose ``<mount>/config`` Pulumi manages), ``password_policies`` (``sys/policies/password/<name>``).
    """
    transit_keys = {TRANSIT_MOUNT: (VSO_CACHE_KEY,)} if transit_keys is None else transit_keys
    rules: dict[str, Rule] = {
        # pulumi-vault reads the mount and auth tables (fallback when a single-mount read is unsupported).
        "sys/mounts": Rule(("read",)),
        "sys/auth": Rule(("read",)),
    }
    for path, engine in mounts:
        rules[f"sys/mounts/{path}"] = mount_rule(engine)
        rules[f"sys/mounts/{path}/tune"] = Rule(("read", "update"))
    rules.update(_kubernetes_auth_rules(roles_by_name or {}, kubernetes_host, disable_local_ca_jwt))
    for mount, keys in transit_keys.items():
        for key in keys:
            rules[f"{mount}/keys/{key}"] = Rule(CRUD)
            rules[f"{mount}/keys/{key}/config"] = Rule(("update",))
    for entry in kv_entries:
        rules[entry] = Rule(CRUD)
    for mount in kv2_config_mounts:
        rules[f"{mount}/config"] = Rule(CRUD)  # engine settings only; never data/ or metadata/
    for name in password_policies:
        rules[f"sys/policies/password/{name}"] = Rule(CRUD)
    rules["sys/policies/acl"] = Rule(("list",))
    rules[f"sys/policies/acl/{policy_name}"] = Rule(("read",))  # its own policy: read, never rewrite
    for name, bodies in (policies or {}).items():
        rules[f"sys/policies/acl/{name}"] = Rule(CRUD, {"policy": sorted(set(bodies))})
    # Its own secret_ids only (rotation): mint one (capped by the role's TTL and CIDRs), list and destroy them.
    role = f"auth/{approle_path}/role/{role_name}"
    rules[f"{role}/secret-id"] = Rule(("update", "list"), {"metadata": [""]})
    rules[f"{role}/secret-id-accessor/destroy"] = Rule(("update",), {"secret_id_accessor": ANY})
    if allow_child_token:
        rules["auth/token/create"] = Rule(("update",))
    return rules


def admin_policy_hcl(**kwargs: Any) -> str:
    """The admin policy as HCL; keyword arguments as :func:`admin_policy_rules`."""
    return render_hcl(admin_policy_rules(**kwargs))


def assert_least_privilege(hcl: str) -> None:
    """Raise ValueError if a policy text has a glob path (``*``) or a one-segment wildcard (``+``): every path the
    admin is granted must be exact (used on any admin policy before bootstrap writes it)."""
    for line in hcl.splitlines():
        stripped = line.strip()
        if stripped.startswith("path ") and ("*" in stripped or "+" in stripped):
            raise ValueError(f"admin policy must use exact paths, no '*' globs or '+' wildcards: {stripped}")


def _switch_variants(settings: Settings) -> list[Settings]:
    """These settings with every switch flipped that changes which policies and roles exist but renames nothing
    (S3 in-cluster/external, VSO/CSI, backups): flipping one later then needs no break-glass to widen the policy."""
    variants = []
    for backend, delivery, backups in itertools.product(S3Backend, SecretsDelivery, (False, True)):
        variants.append(
            replace(
                settings,
                s3=replace(settings.s3, backend=backend),
                app=replace(settings.app, secrets_delivery=delivery),
                backup=replace(settings.backup, enabled=backups),
            )
        )
    return variants


def admin_policy_for(settings: Settings) -> str:
    """The admin AppRole's policy for these settings, as HCL (``admin_policy_rules_for``)."""
    return render_hcl(admin_policy_rules_for(settings))


def admin_policy_rules_for(settings: Settings) -> dict[str, Rule]:
    """The admin AppRole's rules for these settings: what the Vault configuration manages (for every switch
    variant, see ``_switch_variants``), plus both KV entries Pulumi may write."""
    bodies: dict[str, set[str]] = {}
    role_variants: dict[str, list[Role]] = {}
    for variant in _switch_variants(settings):
        for name, body in managed_policies(variant).items():
            bodies.setdefault(name, set()).add(body)
        for role in roles(variant):
            if role not in role_variants.setdefault(role.name, []):
                role_variants[role.name].append(role)
    auth = placement.kubernetes_auth_inputs(settings)
    entries = [f"{KV_V1_MOUNT}/{kv_path(settings, name)}" for name in (S3_REGISTRY_SECRET, REGISTRY_PASSWORD_SECRET)]
    return admin_policy_rules(
        policies={name: sorted(found) for name, found in sorted(bodies.items())},
        roles_by_name=dict(sorted(role_variants.items())),
        kubernetes_host=auth.kubernetes_host,
        disable_local_ca_jwt=auth.disable_local_ca_jwt,
        kv_entries=entries,
    )


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
