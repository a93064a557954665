"""VaultSecretIdPrune: destroy the admin AppRole's older secret_ids, once the current one is in the state.

A child of VaultBootstrap that depends on it, like the root-token revoke: the engine has persisted the bootstrap's
outputs (the new secret_id) before this runs, so no crash can leave the state holding a destroyed secret_id. It logs
in with that secret_id (the admin's own right, ``admin_policy.py``) and destroys every other one of the role
(:func:`secret_id.prune_secret_ids`): the one a rotation replaced, and any a crashed run minted. A new secret_id
(rotation, break-glass) shows as a diff. Delete does nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from components.vault_runtime.dynamic.provider_base import VaultProviderBase, connection_props, log, resource_id
from components.vault_runtime.steps.bootstrap import AdminSpec
from components.vault_runtime.steps.secret_id import prune_secret_ids
from components.vault_runtime.transport import VaultConnection
from components.vault_runtime.values import is_unknown

PRUNE_INPUTS = ("role_id", "secret_id", "keep_accessor", "approle_path", "role_name")


class VaultSecretIdPruneProvider(VaultProviderBase):
    """Every secret_id of the admin role but the current one is destroyed."""

    def _prune(self, props: dict[str, Any]) -> dict[str, Any]:
        secret_id = str(props.get("secret_id") or "")
        spec = AdminSpec(
            policy_hcl="",
            approle_path=props.get("approle_path") or "approle",
            role_name=props.get("role_name") or "platform-admin",
        )
        with self._guard([secret_id]), self._clients(props) as (_conn, clients):
            destroyed = prune_secret_ids(
                clients, spec, str(props.get("role_id") or ""), secret_id, str(props.get("keep_accessor") or "")
            )
        if destroyed:
            log.warning("destroyed %d older secret-id(s) of role %s", destroyed, spec.role_name)
        return {"connection": props["connection"], **{k: props.get(k) for k in PRUNE_INPUTS}, "destroyed": destroyed}

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=resource_id(props, "secret-id-prune"), outs=self._prune(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = any(is_unknown(news.get(k)) or olds.get(k) != news.get(k) for k in PRUNE_INPUTS)
        return DiffResult(changes=changed, replaces=[], stables=[], delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=self._prune(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to undo: destroyed secret_ids stay destroyed."""


def prune_inputs(
    *,
    connection: VaultConnection | Mapping[str, Any],
    role_id: Any,
    secret_id: Any,
    keep_accessor: Any,
    approle_path: str = "approle",
    role_name: str = "platform-admin",
) -> dict[str, Any]:
    """VaultSecretIdPrune's input properties (plain values; the Resource wraps ``secret_id`` as a secret)."""
    return {
        "connection": connection_props(connection),
        "role_id": role_id,
        "secret_id": secret_id,
        "keep_accessor": keep_accessor,
        "approle_path": approle_path,
        "role_name": role_name,
    }


class VaultSecretIdPrune(Resource, module="vault", name="SecretIdPrune"):
    """Destroys the admin role's secret_ids other than ``keep_accessor`` (``secret_id``'s), logged in with it."""

    destroyed: pulumi.Output[int]

    def __init__(
        self,
        name: str,
        *,
        connection: VaultConnection | Mapping[str, Any],
        role_id: pulumi.Input[str],
        secret_id: pulumi.Input[str],
        keep_accessor: pulumi.Input[str],
        approle_path: str = "approle",
        role_name: str = "platform-admin",
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        inputs = prune_inputs(
            connection=connection,
            role_id=role_id,
            secret_id=pulumi.Output.secret(secret_id),
            keep_accessor=keep_accessor,
            approle_path=approle_path,
            role_name=role_name,
        )
        options = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["secret_id"]))
        super().__init__(VaultSecretIdPruneProvider(), name, {**inputs, "destroyed": None}, options)
