"""VaultBootstrap: the admin AppRole, set up once with the root token; the revoke is a separate child step.

Create (and an update with a break-glass root token) runs :func:`bootstrap.bootstrap_admin` and returns the
credentials; the engine persists them when create returns. Only then does the child resource
``<name>-revoke-root`` (:mod:`revoke_provider`) revoke the root token, so a crash or a lost response can
never leave a revoked root token without recorded credentials. Diff compares the bootstrap specification only
(probing Vault would need a login, which is a write): ``root_token`` is what an update would use, never a
reason for one, so setting or removing a break-glass token (``vaultRootToken``) changes nothing by itself.
Later runs need no root token.

secret_id rotation (``secret_id_ttl`` > 0): the outputs record when the secret_id expires; once half its life
has passed, diff reports a change and update mints a new one with the admin's own login
(:func:`secret_id.rotate_secret_id`, no root token), falling back to the root-token path only when the state's
secret_id no longer logs in. The child ``<name>-prune-secret-ids`` (:mod:`secret_id_provider`) destroys the
older secret_ids once the new one is in the state.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from components.vault_runtime.api import RootTokenUnusable
from components.vault_runtime.dynamic.provider_base import VaultProviderBase, connection_props, log, resource_id
from components.vault_runtime.dynamic.revoke_provider import VaultRootTokenRevoke
from components.vault_runtime.dynamic.secret_id_provider import VaultSecretIdPrune
from components.vault_runtime.steps.bootstrap import AdminCredentials, AdminSpec, bootstrap_admin
from components.vault_runtime.steps.secret_id import SecretIdUnusable, rotate_secret_id
from components.vault_runtime.transport import VaultConnection
from components.vault_runtime.values import int_or, is_unknown

# What the diff compares: the admin specification. ``root_token`` is carried (the update needs it) but never
# compared: after bootstrap it is revoked, and `pulumi config rm vaultRootToken` after a break-glass change
# swaps it back to init's revoked token; an update with it could only fail with RootTokenUnusable.
SPEC_SETTINGS = (
    "approle_path",
    "role_name",
    "policy_name",
    "admin_policy",
    "token_ttl",
    "token_max_ttl",
    "secret_id_ttl",
    "secret_id_bound_cidrs",
    "audit_file_path",
)
BOOTSTRAP_SETTINGS = (*SPEC_SETTINGS, "root_token")


def admin_spec(props: Mapping[str, Any]) -> AdminSpec:
    from components.vault_runtime.admin_policy import admin_policy_hcl

    return AdminSpec(
        policy_hcl=props.get("admin_policy") or admin_policy_hcl(),
        approle_path=props.get("approle_path") or "approle",
        role_name=props.get("role_name") or "platform-admin",
        policy_name=props.get("policy_name") or "platform-admin",
        token_ttl=int_or(props.get("token_ttl"), 3600),
        token_max_ttl=int_or(props.get("token_max_ttl"), 4 * 3600),
        secret_id_ttl=int_or(props.get("secret_id_ttl"), 0),
        bound_cidrs=tuple(props.get("secret_id_bound_cidrs") or ()),
        audit_file_path=str(props.get("audit_file_path") or ""),
    )


def rotation_due(outs: Mapping[str, Any], now: float | None = None) -> bool:
    """The recorded secret_id has passed half its TTL (or its expiry is unknown: minted before the TTL existed)."""
    ttl = int_or(outs.get("secret_id_ttl"), 0)
    if ttl <= 0 or not outs.get("secret_id"):
        return False
    expires_at = float(outs.get("secret_id_expires_at") or 0)
    return expires_at <= 0 or (time.time() if now is None else now) >= expires_at - ttl / 2


class VaultBootstrapProvider(VaultProviderBase):
    """Admin AppRole via the root token; the root token is revoked by the separate revoke step."""

    def _bootstrap(self, props: dict[str, Any], olds: Mapping[str, Any]) -> dict[str, Any]:
        root_token = str(props.get("root_token") or "")
        existing_secret_id = olds.get("secret_id") or None
        spec = admin_spec(props)
        # A new TTL (or none recorded) applies to new secret_ids only: mint one instead of keeping the old.
        rotate = rotation_due({**olds, "secret_id_ttl": spec.secret_id_ttl}) or (
            int_or(olds.get("secret_id_ttl"), 0) != spec.secret_id_ttl
        )
        with self._guard([root_token, existing_secret_id or ""]), self._clients(props) as (_conn, clients):
            creds = bootstrap_admin(clients, root_token, spec, existing_secret_id=existing_secret_id, rotate=rotate)
        if creds.destroyed_secret_ids:
            log.warning("destroyed %d stray secret-id(s) of role %s", creds.destroyed_secret_ids, spec.role_name)
        return self._outs(props, spec, creds, olds)

    def _rotate(self, props: dict[str, Any], olds: Mapping[str, Any]) -> dict[str, Any]:
        """A new secret_id with the admin's own login; the root-token path only if the old one is unusable."""
        spec, role_id, old_secret_id = admin_spec(props), str(olds.get("role_id") or ""), str(olds["secret_id"])
        try:
            with self._guard([old_secret_id]), self._clients(props) as (_conn, clients):
                creds = rotate_secret_id(clients, spec, role_id, old_secret_id)
        except SecretIdUnusable as unusable:
            try:
                return self._bootstrap(props, {**olds, "secret_id": None})
            except RootTokenUnusable as no_root:
                raise RootTokenUnusable(f"{unusable}; and no usable root token: {no_root}") from None
        return self._outs(props, spec, creds, olds)

    @staticmethod
    def _outs(
        props: Mapping[str, Any], spec: AdminSpec, creds: AdminCredentials, olds: Mapping[str, Any]
    ) -> dict[str, Any]:
        outs = {k: props.get(k) for k in ("connection", *BOOTSTRAP_SETTINGS)}
        outs.update(admin_policy=spec.policy_hcl, role_id=creds.role_id, secret_id=creds.secret_id)
        kept = creds.secret_id == olds.get("secret_id")
        expires_at = time.time() + spec.secret_id_ttl if spec.secret_id_ttl else 0
        outs.update(
            secret_id_accessor=creds.secret_id_accessor,
            secret_id_expires_at=olds.get("secret_id_expires_at", expires_at) if kept else expires_at,
        )
        return outs

    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = self._bootstrap(props, {})
        return CreateResult(id_=resource_id(props, outs["role_id"]), outs=outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # Defaults are normalised so an omitted admin_policy equals the rendered default recorded at create.
        # An unknown root_token (preview before init) is no reason either: only the specification decides.
        if any(is_unknown(news.get(k)) for k in SPEC_SETTINGS):
            return DiffResult(changes=True, replaces=[], stables=[], delete_before_replace=False)
        changed = admin_spec(olds) != admin_spec(news)
        changed = changed or rotation_due(olds)  # secret_id rotation: time, not inputs
        return DiffResult(changes=changed, replaces=[], stables=[], delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        if admin_spec(olds) == admin_spec(news) and rotation_due(olds):
            return UpdateResult(outs=self._rotate(news, olds))  # the admin renews its own secret_id
        # Needs a live root token: a break-glass one passed as root_token (the original one is revoked).
        return UpdateResult(outs=self._bootstrap(news, olds))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Leave the AppRole in place: removing it without a root token is impossible anyway."""


def bootstrap_inputs(
    *,
    connection: VaultConnection | Mapping[str, Any],
    root_token: Any,
    admin_policy: Any = None,
    approle_path: str = "approle",
    role_name: str = "platform-admin",
    policy_name: str = "platform-admin",
    token_ttl: int = 3600,
    token_max_ttl: int = 4 * 3600,
    secret_id_ttl: int = 0,
    secret_id_bound_cidrs: Any = (),
    audit_file_path: str = "",
) -> dict[str, Any]:
    """VaultBootstrap's input properties (plain values; the Resource wraps ``root_token`` as a secret)."""
    return {
        "connection": connection_props(connection),
        "root_token": root_token,
        "admin_policy": admin_policy,
        "approle_path": approle_path,
        "role_name": role_name,
        "policy_name": policy_name,
        "token_ttl": token_ttl,
        "token_max_ttl": token_max_ttl,
        "secret_id_ttl": secret_id_ttl,
        "secret_id_bound_cidrs": list(secret_id_bound_cidrs or ()),
        "audit_file_path": audit_file_path,
    }


class VaultBootstrap(Resource, module="vault", name="Bootstrap"):
    """Admin AppRole for pulumi-vault; outputs ``role_id``, ``secret_id`` (secret). ``revoke`` is the child
    step that revokes the root token once these outputs are in the state."""

    role_id: pulumi.Output[str]
    secret_id: pulumi.Output[str]
    secret_id_accessor: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        connection: VaultConnection | Mapping[str, Any],
        root_token: pulumi.Input[str],
        admin_policy: pulumi.Input[str] | None = None,
        approle_path: str = "approle",
        role_name: str = "platform-admin",
        policy_name: str = "platform-admin",
        token_ttl: int = 3600,
        token_max_ttl: int = 4 * 3600,
        secret_id_ttl: int = 0,
        secret_id_bound_cidrs: tuple[str, ...] = (),
        audit_file_path: str = "",
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        inputs = bootstrap_inputs(
            connection=connection,
            root_token=root_token,
            admin_policy=admin_policy,
            approle_path=approle_path,
            role_name=role_name,
            policy_name=policy_name,
            token_ttl=token_ttl,
            token_max_ttl=token_max_ttl,
            secret_id_ttl=secret_id_ttl,
            secret_id_bound_cidrs=secret_id_bound_cidrs,
            audit_file_path=audit_file_path,
        )
        outputs = ("role_id", "secret_id", "secret_id_accessor", "secret_id_expires_at")
        props = {**inputs, "root_token": pulumi.Output.secret(root_token), **dict.fromkeys(outputs)}
        secret = pulumi.ResourceOptions(additional_secret_outputs=["secret_id", "root_token"])
        super().__init__(VaultBootstrapProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret))
        # After the credentials are persisted (depends on this resource and its role_id output).
        self.revoke = VaultRootTokenRevoke(
            f"{name}-revoke-root",
            connection=connection,
            root_token=root_token,
            role_id=self.role_id,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self]),
        )
        # After a new secret_id is persisted: destroy the older ones (with the new one's login).
        self.prune = VaultSecretIdPrune(
            f"{name}-prune-secret-ids",
            connection=connection,
            role_id=self.role_id,
            secret_id=self.secret_id,
            keep_accessor=self.secret_id_accessor,
            approle_path=approle_path,
            role_name=role_name,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self]),
        )
