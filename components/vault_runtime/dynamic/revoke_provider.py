"""VaultRootTokenRevoke: revoke the bootstrap root token, after the admin credentials are in the state.

A child of VaultBootstrap that depends on it, so the engine has persisted the AppRole credentials before this
runs. Create revokes (:func:`revoke.revoke_root`: a lost answer is checked with lookup-self); a new root token
(break-glass, after the bootstrap update used it) shows as a diff and the update revokes it too. A token that
is already revoked is success. Delete does nothing.

The state keeps the SHA-256 of every token this step revoked (``revoked_sha256``; revoked tokens are worthless,
and a digest is not the token), so removing the break-glass token again (`pulumi config rm vaultRootToken`
brings back init's long-revoked one) is no change: the diff decides from the state, with no Vault call.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from components.vault_runtime.dynamic.provider_base import VaultProviderBase, connection_props, resource_id
from components.vault_runtime.steps.revoke import revoke_root
from components.vault_runtime.transport import VaultConnection
from components.vault_runtime.values import is_unknown


class VaultRootTokenRevokeProvider(VaultProviderBase):
    """Make sure the root token is revoked; success if it already is."""

    def _revoke(self, props: dict[str, Any], olds: Mapping[str, Any] | None = None) -> dict[str, Any]:
        token = str(props.get("root_token") or "")
        with self._guard([token]), self._clients(props) as (_conn, clients):
            revoked_now = revoke_root(clients, token) if token else False
        return {
            "connection": props["connection"],
            "root_token": props.get("root_token"),
            "role_id": props.get("role_id"),
            "revoked": True,
            "revoked_by_this_step": revoked_now,
            "revoked_sha256": sorted({*revoked_digests(olds or {}), *([token_digest(token)] if token else [])}),
        }

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=resource_id(props, "root-token-revoke"), outs=self._revoke(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        token = news.get("root_token")
        changed = is_unknown(token) or (bool(token) and token_digest(str(token)) not in revoked_digests(olds))
        return DiffResult(changes=changed, replaces=[], stables=[], delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=self._revoke(news, olds))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to undo: a revoked token stays revoked."""


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def revoked_digests(state: Mapping[str, Any]) -> set[str]:
    """Digests of the tokens this step revoked; a state written before they were recorded has only its token."""
    digests = {str(d) for d in state.get("revoked_sha256") or [] if d}
    if state.get("revoked") and state.get("root_token"):
        digests.add(token_digest(str(state["root_token"])))
    return digests


def revoke_inputs(
    *, connection: VaultConnection | Mapping[str, Any], root_token: Any, role_id: Any = None
) -> dict[str, Any]:
    """VaultRootTokenRevoke's input properties (plain values; the Resource wraps ``root_token`` as a secret)."""
    return {"connection": connection_props(connection), "root_token": root_token, "role_id": role_id}


class VaultRootTokenRevoke(Resource, module="vault", name="RootTokenRevoke"):
    """Revokes ``root_token``; ``role_id`` (the bootstrap's output) only orders it after the bootstrap."""

    revoked: pulumi.Output[bool]

    def __init__(
        self,
        name: str,
        *,
        connection: VaultConnection | Mapping[str, Any],
        root_token: pulumi.Input[str],
        role_id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            **revoke_inputs(connection=connection, root_token=pulumi.Output.secret(root_token), role_id=role_id),
            "revoked": None,
            "revoked_by_this_step": None,
            "revoked_sha256": None,
        }
        secret = pulumi.ResourceOptions(additional_secret_outputs=["root_token"])
        super().__init__(VaultRootTokenRevokeProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret))
