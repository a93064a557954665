"""VaultUnseal: keep every Vault pod unsealed; diff reads the live cluster, so nothing changes when all are.

Diff probes every pod's ``sys/health`` in parallel (a short timeout each) and reports a change only when a
pod is sealed or not answering; with unknown connection data or keys (preview) it reports a change without
contacting Vault. Create/update unseal what they can (:mod:`unseal`): Raft serving with a quorum is success,
and pods that stayed unreachable are listed in ``unavailable_pods``, logged by the provider and turned into
a ``pulumi.log.warn`` naming each pod by the resource; the next run's diff sees them and retries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from components.vault_runtime.dynamic.provider_base import VaultProviderBase, connection_props, log, resource_id
from components.vault_runtime.steps.unseal import sealed_pods, unseal_all
from components.vault_runtime.transport import VaultConnection
from components.vault_runtime.values import as_int, is_unknown, key_list

DEFAULT_TIMEOUT = 300.0
DIFF_HEALTH_TIMEOUT = 3.0


def _timeout(props: Mapping[str, Any]) -> float:
    value = props.get("timeout_seconds")
    usable = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    return float(value) if usable else DEFAULT_TIMEOUT


class VaultUnsealProvider(VaultProviderBase):
    """Unseal sealed pods on every run; diff reads the live cluster so nothing changes when all are unsealed."""

    def _unseal(self, props: dict[str, Any]) -> dict[str, Any]:
        keys = key_list(props.get("keys"))
        with self._guard(keys), self._clients(props) as (conn, clients):
            report = unseal_all(clients, keys, _timeout(props), threshold=as_int(props.get("threshold")))
        if report.unavailable:
            log.warning("%s", report.warning())
        return {
            "connection": props["connection"],
            "threshold": props.get("threshold"),
            "timeout_seconds": props.get("timeout_seconds"),
            "pods": list(conn.pods),
            "unsealed_pods": report.unsealed,  # what the last create/update had to unseal
            "unavailable_pods": sorted(report.unavailable),  # warned about; retried by the next run
        }

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=resource_id(props, "unseal"), outs=self._unseal(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # Preview with unknown connection data (e.g. the CA not read yet) or keys: never contact Vault.
        if is_unknown(news.get("connection")) or is_unknown(news.get("keys")):
            return DiffResult(changes=True, replaces=[], stables=[], delete_before_replace=False)
        with self._guard(key_list(news.get("keys"))), self._clients(news) as (_conn, clients):
            sealed = sealed_pods(clients, cap=DIFF_HEALTH_TIMEOUT)
        return DiffResult(changes=bool(sealed), replaces=[], stables=[], delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=self._unseal(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to undo: sealing is never what removing this resource should do."""


def unseal_inputs(
    *,
    connection: VaultConnection | Mapping[str, Any],
    keys: Any,
    threshold: Any = None,
    timeout_seconds: float = DEFAULT_TIMEOUT,
) -> dict[str, Any]:
    """VaultUnseal's input properties (plain values; the Resource wraps ``keys`` as a secret)."""
    return {
        "connection": connection_props(connection),
        "keys": keys,
        "threshold": threshold,
        "timeout_seconds": timeout_seconds,
    }


def _warn_unavailable(resource: pulumi.Resource, pods: list[str] | None) -> None:
    if pods:
        pulumi.log.warn(
            f"Vault pods {', '.join(pods)} could not be unsealed in this run (unreachable); Vault serves with a "
            "quorum. Check them with `kubectl get pods` / `kubectl logs`; the next `pulumi up` retries.",
            resource=resource,
        )


class VaultUnseal(Resource, module="vault", name="Unseal"):
    """Keep every Vault pod unsealed; ``unsealed_pods`` lists what the last run unsealed."""

    pods: pulumi.Output[list[str]]
    unsealed_pods: pulumi.Output[list[str]]
    unavailable_pods: pulumi.Output[list[str]]

    def __init__(
        self,
        name: str,
        *,
        connection: VaultConnection | Mapping[str, Any],
        keys: pulumi.Input[Sequence[str]] | pulumi.Input[str],
        threshold: pulumi.Input[int] | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            **unseal_inputs(connection=connection, keys=keys, threshold=threshold, timeout_seconds=timeout_seconds),
            "pods": None,
            "unsealed_pods": None,
            "unavailable_pods": None,
        }
        props["keys"] = pulumi.Output.secret(keys)
        super().__init__(VaultUnsealProvider(), name, props, opts)
        self.unavailable_pods.apply(lambda pods: _warn_unavailable(self, pods))
