"""VaultUnseal: keep every Vault pod unsealed; in `pulumi up` diff reads the live cluster, in a preview never.

``live_check`` is True when the program runs for real (False in a preview: ``Settings.preview``) and is never
compared: then diff probes every pod's ``sys/health`` in parallel (a short timeout each) and reports a change
only when a pod is sealed or not answering. In a preview (``live_check`` False) diff decides from the state
alone, so `pulumi preview` starts no kubectl and needs no access to Vault: it reports a change only for pods
the last run left unavailable, or for unknown connection data or keys. Create/update unseal what they can
(:mod:`unseal`): Raft serving with a quorum is success, and pods that stayed unreachable are listed in
``unavailable_pods``, logged by the provider and turned into a ``pulumi.log.warn`` naming each pod by the
resource; the next run's diff sees them and retries.

Where the shares come from: ``keys`` (init's shares, or the config's decrypted ``vaultUnsealKeys``); with
``shares_on_demand`` (PGP-encrypted shares, none in the config) from ``VAULT_UNSEAL_KEYS`` or a prompt, only
when a pod is sealed (:mod:`share_source`; never in the state); with ``auto_unseal`` from nowhere: the seal
unseals the pods and update only waits for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from components.vault_runtime.dynamic.provider_base import VaultProviderBase, connection_props, log, resource_id
from components.vault_runtime.steps.unseal import sealed_pods, unseal_all, unseal_on_demand
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
        secrets = list(keys)  # shares asked for on demand are added: redacted from errors too
        threshold, timeout = as_int(props.get("threshold")), _timeout(props)
        with self._guard(secrets), self._clients(props) as (conn, clients):
            if props.get("auto_unseal"):
                report = unseal_all(clients, [], timeout, threshold=threshold, auto_unseal=True)
            elif not keys and props.get("shares_on_demand"):
                report = unseal_on_demand(clients, timeout, threshold=threshold, secrets=secrets)
            else:
                report = unseal_all(clients, keys, timeout, threshold=threshold)
        if report.unavailable:
            log.warning("%s", report.warning())
        return {
            "connection": props["connection"],
            "threshold": props.get("threshold"),
            "timeout_seconds": props.get("timeout_seconds"),
            "auto_unseal": bool(props.get("auto_unseal")),
            "shares_on_demand": bool(props.get("shares_on_demand")),
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
        if news.get("live_check") is False:
            # Preview: no kubectl, no Vault; only what the last run recorded.
            pending = olds.get("unavailable_pods")
            return DiffResult(changes=bool(pending), replaces=[], stables=[], delete_before_replace=False)
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
    auto_unseal: bool = False,
    shares_on_demand: bool = False,
    live_check: bool = True,
) -> dict[str, Any]:
    """VaultUnseal's input properties (plain values; the Resource wraps ``keys`` as a secret)."""
    return {
        "connection": connection_props(connection),
        "keys": keys,
        "threshold": threshold,
        "timeout_seconds": timeout_seconds,
        "auto_unseal": auto_unseal,
        "shares_on_demand": shares_on_demand,
        "live_check": live_check,
    }


def _warn_unavailable(resource: pulumi.Resource, pods: list[str] | None) -> None:
    if pods:
        pulumi.log.warn(
            f"Vault pods {', '.join(pods)} could not be unsealed in this run (unreachable); Vault serves with a "
            "quorum. Check them with `kubectl get pods` / `kubectl logs`; the next `pulumi up` retries.",
            resource=resource,
        )


class VaultUnseal(Resource, module="vault", name="Unseal"):
    """Keep every Vault pod unsealed; ``unsealed_pods`` lists what the last run unsealed. ``keys`` may be empty
    with ``auto_unseal`` (the seal unseals) or ``shares_on_demand`` (asked for when a pod is sealed)."""

    pods: pulumi.Output[list[str]]
    unsealed_pods: pulumi.Output[list[str]]
    unavailable_pods: pulumi.Output[list[str]]

    def __init__(
        self,
        name: str,
        *,
        connection: VaultConnection | Mapping[str, Any],
        keys: pulumi.Input[Sequence[str]] | pulumi.Input[str] | None,
        threshold: pulumi.Input[int] | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT,
        auto_unseal: bool = False,
        shares_on_demand: bool = False,
        live_check: bool = True,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            **unseal_inputs(
                connection=connection,
                keys=keys,
                threshold=threshold,
                timeout_seconds=timeout_seconds,
                auto_unseal=auto_unseal,
                shares_on_demand=shares_on_demand,
                # False in a preview, whose diff must not reach Vault (read-only identities, no kubectl).
                live_check=live_check,
            ),
            "pods": None,
            "unsealed_pods": None,
            "unavailable_pods": None,
        }
        props["keys"] = pulumi.Output.secret(keys)
        super().__init__(VaultUnsealProvider(), name, props, opts)
        self.unavailable_pods.apply(lambda pods: _warn_unavailable(self, pods))
