"""VaultInit: ``sys/init`` once; its outputs hold the shares and root token (secrets the engine persists).

Create runs ``sys/init`` on ``pods[0]`` and nothing else: no Vault call may fail after it in the same step,
so the engine always records the keys. Diff never re-initialises: changing shares, threshold or PGP keys is
reported and the update fails with the rekey instructions. An initialised Vault with no state raises the
recovery path; with ``adopt_existing=True`` it is adopted instead (empty keys: supply ``vaultUnsealKeys`` and a
break-glass root token). Delete is a no-op (never de-initialise), so protect the resource.

With ``auto_unseal`` (an auto-unseal seal: transit, a cloud KMS) ``sys/init`` takes ``recovery_shares`` /
``recovery_threshold`` / ``recovery_pgp_keys`` instead: ``keys`` stay empty and the recovery keys (they
authorise generate-root, never unseal) are the secret outputs ``recovery_keys`` / ``recovery_keys_b64``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from components.vault_runtime.api import AlreadyInitialized, VaultOperationError
from components.vault_runtime.dynamic.provider_base import VaultProviderBase, connection_props, resource_id
from components.vault_runtime.steps.initialise import InitResult, initialize
from components.vault_runtime.transport import VaultConnection
from components.vault_runtime.values import as_int, is_unknown

# `auto_unseal` is an init setting too: the seal decides what sys/init returns, and changing it later is a seal
# migration (never done in place). A state written before it existed has none: None and False are the same.
INIT_SETTINGS = ("secret_shares", "secret_threshold", "pgp_keys", "root_token_pgp_key", "auto_unseal")
SECRET_OUTPUTS = ("keys", "keys_b64", "root_token", "recovery_keys", "recovery_keys_b64")


def _same(old: Any, new: Any) -> bool:
    # None and [] are the same; 3 and 3.0 too (Python equality), which is how they arrive from the engine.
    return (old or None) == (new or None)


def check_init(news: Mapping[str, Any]) -> list[CheckFailure]:
    """Shares/threshold/PGP rules; unknown values (preview) are left to the real run."""
    failures = []
    raw_shares, raw_threshold = news.get("secret_shares"), news.get("secret_threshold")
    shares, threshold = as_int(raw_shares), as_int(raw_threshold)
    if not is_unknown(raw_shares):
        if shares is None or shares < 1:
            failures.append(CheckFailure("secret_shares", "must be an integer >= 1"))
        elif not is_unknown(raw_threshold):
            if threshold is None or not 1 <= threshold <= shares:
                failures.append(CheckFailure("secret_threshold", f"must be between 1 and secret_shares ({shares})"))
            elif shares > 1 and threshold < 2:
                failures.append(CheckFailure("secret_threshold", "must be >= 2 when secret_shares > 1"))
    pgp = news.get("pgp_keys") or []
    if pgp and not is_unknown(pgp) and shares is not None and len(pgp) != shares:
        failures.append(CheckFailure("pgp_keys", f"{len(pgp)} keys for {shares} shares: give one per share"))
    return failures


class VaultInitProvider(VaultProviderBase):
    """``sys/init`` once. Outputs hold the shares and root token; the engine stores them as secrets."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, check_init(news))

    def create(self, props: dict[str, Any]) -> CreateResult:
        result: InitResult | None = None
        adopted = False
        try:
            with self._clients(props) as (conn, clients), self._guard([]):
                pod = conn.pods[0]
                try:
                    result = initialize(
                        clients[pod],
                        int(as_int(props["secret_shares"]) or 0),
                        int(as_int(props["secret_threshold"]) or 0),
                        list(props.get("pgp_keys") or []),
                        props.get("root_token_pgp_key") or "",
                        pod=pod,
                        recovery=bool(props.get("auto_unseal")),
                    )
                except AlreadyInitialized:
                    if not props.get("adopt_existing"):
                        raise
                    adopted = True
        except Exception:
            # sys/init succeeded but closing the transport failed: the keys matter more, return them.
            if result is None and not adopted:
                raise
        outs = {k: props.get(k) for k in ("connection", *INIT_SETTINGS, "adopt_existing")}
        outs.update(
            keys=result.keys if result else [],
            keys_b64=result.keys_b64 if result else [],
            root_token=result.root_token if result else "",
            recovery_keys=result.recovery_keys if result else [],
            recovery_keys_b64=result.recovery_keys_b64 if result else [],
            shares_encrypted=bool(props.get("pgp_keys")),
            root_token_encrypted=bool(props.get("root_token_pgp_key")),
            adopted=adopted,
        )
        conn = VaultConnection.from_props(props["connection"])
        return CreateResult(id_=resource_id(props, conn.pods[0]), outs=outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # Connection changes (new context name, CA rotation) need no Vault call: the engine records the
        # new inputs with the old outputs. Only init settings are compared; they cannot change in place.
        changed = [k for k in INIT_SETTINGS if is_unknown(news.get(k)) or not _same(olds.get(k), news.get(k))]
        return DiffResult(changes=bool(changed), replaces=[], stables=[], delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        from components.vault_runtime.flavour import Flavour, rekey_hint

        changed = [k for k in INIT_SETTINGS if not _same(olds.get(k), news.get(k))]
        if "auto_unseal" in changed:
            raise VaultOperationError(
                "Vault is already initialised with another seal (vault.seal): moving between Shamir and an "
                "auto-unseal seal is a seal migration (`vault operator unseal -migrate` on every pod, see the "
                "Vault seal migration guide), which the program does not do; set vault.seal back to what this "
                "Vault was initialised with"
            )
        raise VaultOperationError(
            f"Vault is already initialised; {', '.join(changed)} cannot change in place (never re-initialised). "
            f"To change them, {rekey_hint(Flavour.VAULT)} (OpenBao: {rekey_hint(Flavour.OPENBAO)}), "
            "then set the config back to match or `pulumi state delete` + `--import` the resource"
        )

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        # Shares cannot be read back from Vault: refresh keeps the recorded state.
        return ReadResult(id_, props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Never de-initialise: deleting the resource only forgets the keys (hence protect=True)."""


def init_inputs(
    *,
    connection: VaultConnection | Mapping[str, Any],
    secret_shares: Any,
    secret_threshold: Any,
    pgp_keys: Any = None,
    root_token_pgp_key: Any = None,
    adopt_existing: bool = False,
    auto_unseal: bool = False,
) -> dict[str, Any]:
    """VaultInit's input properties as the program registers them (shared with the tests)."""
    return {
        "auto_unseal": auto_unseal,
        "connection": connection_props(connection),
        "secret_shares": secret_shares,
        "secret_threshold": secret_threshold,
        "pgp_keys": list(pgp_keys) if isinstance(pgp_keys, list | tuple) else (pgp_keys or None),
        "root_token_pgp_key": root_token_pgp_key or None,
        "adopt_existing": adopt_existing,
    }


class VaultInit(Resource, module="vault", name="Init"):
    """Initialise Vault once; outputs ``keys``, ``keys_b64``, ``root_token`` (secrets), or under an auto-unseal
    seal (``auto_unseal=True``) ``recovery_keys`` / ``recovery_keys_b64`` (secrets) instead of ``keys``."""

    keys: pulumi.Output[list[str]]
    keys_b64: pulumi.Output[list[str]]
    root_token: pulumi.Output[str]
    shares_encrypted: pulumi.Output[bool]
    root_token_encrypted: pulumi.Output[bool]
    adopted: pulumi.Output[bool]
    recovery_keys: pulumi.Output[list[str]]
    recovery_keys_b64: pulumi.Output[list[str]]

    def __init__(
        self,
        name: str,
        *,
        connection: VaultConnection | Mapping[str, Any],
        secret_shares: pulumi.Input[int],
        secret_threshold: pulumi.Input[int],
        pgp_keys: pulumi.Input[Sequence[str]] | None = None,
        root_token_pgp_key: pulumi.Input[str] | None = None,
        adopt_existing: bool = False,
        auto_unseal: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            **init_inputs(
                connection=connection,
                secret_shares=secret_shares,
                secret_threshold=secret_threshold,
                pgp_keys=pgp_keys,
                root_token_pgp_key=root_token_pgp_key,
                adopt_existing=adopt_existing,
                auto_unseal=auto_unseal,
            ),
            **dict.fromkeys((*SECRET_OUTPUTS, "shares_encrypted", "root_token_encrypted", "adopted")),
        }
        secret = pulumi.ResourceOptions(additional_secret_outputs=list(SECRET_OUTPUTS))
        super().__init__(VaultInitProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret))
