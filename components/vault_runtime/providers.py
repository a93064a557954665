"""Pulumi dynamic providers for Vault init, unseal and admin bootstrap (logic in ``operations``).

Usage (all arguments keyword-only; ``connection`` is a :class:`~components.vault_runtime.transport.VaultConnection`
or the equivalent dict ``{"kube_context", "namespace", "pods", "ca_pem", "port"}``; ``kube_context=""`` is the
current context; ``pods`` must be plain strings, the other values may be Outputs, e.g. the CA PEM)::

    conn = VaultConnection(kube_context=ctx, namespace="vault", pods=settings.vault.pods, ca_pem=ca_pem)

    init = VaultInit("vault-init", connection=conn,
                     secret_shares=5, secret_threshold=3,
                     pgp_keys=None,              # or [one base64 binary public key per share]
                     root_token_pgp_key=None,    # or a base64 binary public key
                     adopt_existing=False,
                     opts=ResourceOptions(parent=..., depends_on=[vault_release], protect=True))
    # init.keys, init.keys_b64, init.root_token: secret Outputs, persisted by the engine before anything
    # later runs (additional_secret_outputs), so a failure in unseal/bootstrap never loses them.

    unseal = VaultUnseal("vault-unseal", connection=conn,
                         keys=settings.vault.unseal_keys or init.keys_b64,  # decrypted shares with PGP
                         threshold=3, timeout_seconds=300,
                         opts=ResourceOptions(parent=..., depends_on=[init]))

    boot = VaultBootstrap("vault-bootstrap", connection=conn,
                          root_token=init.root_token,  # or a decrypted/break-glass token from config
                          admin_policy=None,      # default: admin_policy.admin_policy_hcl()
                          approle_path="approle", role_name="platform-admin", policy_name="platform-admin",
                          token_ttl=3600, token_max_ttl=14400, secret_id_ttl=0,
                          opts=ResourceOptions(parent=..., depends_on=[unseal]))
    # boot.role_id, boot.secret_id (secret), boot.root_token_revoked (True)
    # pulumi-vault: vault.Provider(address=..., skip_child_token=True,
    #     auth_login=vault.ProviderAuthLoginArgs(path="auth/approle/login",
    #                                            parameters={"role_id": boot.role_id, "secret_id": boot.secret_id}))

Behaviour:
- **VaultInit** runs ``sys/init`` on ``pods[0]`` at create, and nothing else: no Vault call may fail after it
  in the same step, so the engine always records the keys. Diff never re-initialises: changing shares,
  threshold or PGP keys later is reported and the update fails with the rekey instructions. An initialised
  Vault with no state raises the recovery path; with ``adopt_existing=True`` it is adopted instead (empty
  keys: supply ``vaultUnsealKeys`` and a break-glass root token). Delete is a no-op (never de-initialise),
  so protect the resource.
- **PGP** (``pgp_keys``): the shares in ``keys``/``keys_b64`` are encrypted for their holders and cannot
  unseal. The program then passes the decrypted shares (config secret ``platform:vaultUnsealKeys``, a list
  or a JSON list string) as VaultUnseal ``keys``. Likewise ``root_token_pgp_key`` encrypts ``root_token``:
  pass the decrypted token to VaultBootstrap.
- **VaultUnseal**'s diff reads every pod's ``sys/health`` on each run and reports a change only when a pod is
  sealed or not answering; create/update unseal just those pods (leader first, followers once joined).
  No perpetual diff, no writes when all pods are unsealed.
- **VaultBootstrap** runs once with the root token: AppRole auth, the ``platform-admin`` policy, the role
  and a secret_id, a login check, then revokes the root token. Later runs need no root token. Changing its
  settings later needs a fresh root token (break-glass, ``flavour.generate_root_hint``): pass it as
  ``root_token``; the update applies the change and revokes it again.

Runtime needs: ``kubectl`` on PATH where ``pulumi up`` runs (one ``kubectl port-forward pod/<pod> :8200`` per pod
for the duration of each step; nothing secret in its argv). The engine unpickles these provider classes by
reference in its dynamic-provider process, which it starts in the project directory, so ``components`` must be
importable from there (it is: the program lives there).

Errors and logs never contain a share or token (messages pass through ``operations.redact``).
Tests drive the provider classes' create/diff/update/read directly with ``connect=`` injected; the
``*_inputs()`` builders give them exactly the properties the Resource classes send.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from components.vault_runtime import operations as ops
from components.vault_runtime.transport import ConnectFactory, VaultConnection

# The engine's placeholder for values not known during preview (pulumi.runtime.rpc.UNKNOWN).
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def _has_unknown(value: Any) -> bool:
    if isinstance(value, str):
        return value == UNKNOWN
    if isinstance(value, Mapping):
        return any(_has_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_unknown(v) for v in value)
    return False


def _key_list(value: Any) -> list[str]:
    """Shares as a list: accepts a list or a JSON list string (the config secret form)."""
    if value is None:
        return []
    if isinstance(value, str):
        value = json.loads(value) if value.strip().startswith("[") else [value]
    return [str(v) for v in value if v]


class _VaultProvider(ResourceProvider):
    """Shared plumbing: the connection factory (injectable for tests) and secret-safe error handling."""

    def __init__(self, connect: ConnectFactory | None = None) -> None:
        super().__init__()
        self._connect = connect

    @contextmanager
    def _clients(self, props: Mapping[str, Any]) -> Iterator[tuple[VaultConnection, dict[str, Any]]]:
        conn = VaultConnection.from_props(props["connection"])
        if not conn.pods:
            raise ops.VaultOperationError("connection.pods is empty: list the Vault pods (e.g. vault-0..vault-2)")
        if self._connect is not None:
            factory = self._connect
        else:
            from components.vault_runtime.transport import open_clients

            factory = open_clients
        with factory(conn) as clients:
            yield conn, clients

    @staticmethod
    @contextmanager
    def _guard(secrets: Sequence[str]) -> Iterator[None]:
        """Re-raise any failure with secrets removed and the exception chain dropped (tracebacks are logged)."""
        try:
            yield
        except ops.VaultOperationError as exc:
            raise type(exc)(ops.redact(str(exc), secrets)) from None
        except Exception as exc:
            raise ops.VaultOperationError(ops.redact(f"{type(exc).__name__}: {exc}", secrets)) from None


# --- init ---------------------------------------------------------------------------------------------------

_INIT_SETTINGS = ("secret_shares", "secret_threshold", "pgp_keys", "root_token_pgp_key")


class VaultInitProvider(_VaultProvider):
    """``sys/init`` once. Outputs hold the shares and root token; the engine stores them as secrets."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        shares, threshold = news.get("secret_shares"), news.get("secret_threshold")
        if not _has_unknown([shares, threshold]):
            if not isinstance(shares, int) or shares < 1:
                failures.append(CheckFailure("secret_shares", "must be an integer >= 1"))
            elif not isinstance(threshold, int) or not 1 <= threshold <= shares:
                failures.append(CheckFailure("secret_threshold", f"must be between 1 and secret_shares ({shares})"))
            elif shares > 1 and threshold < 2:
                failures.append(CheckFailure("secret_threshold", "must be >= 2 when secret_shares > 1"))
        pgp = news.get("pgp_keys") or []
        if pgp and not _has_unknown(pgp) and isinstance(shares, int) and len(pgp) != shares:
            failures.append(CheckFailure("pgp_keys", f"{len(pgp)} keys for {shares} shares: give one per share"))
        return CheckResult(news, failures)

    def create(self, props: dict[str, Any]) -> CreateResult:
        result: ops.InitResult | None = None
        adopted = False
        try:
            with self._clients(props) as (conn, clients), self._guard([]):
                pod = conn.pods[0]
                try:
                    result = ops.initialize(
                        clients[pod],
                        int(props["secret_shares"]),
                        int(props["secret_threshold"]),
                        list(props.get("pgp_keys") or []),
                        props.get("root_token_pgp_key") or "",
                        pod=pod,
                    )
                except ops.AlreadyInitialized:
                    if not props.get("adopt_existing"):
                        raise
                    adopted = True
        except Exception:
            # sys/init succeeded but closing the transport failed: the keys matter more, return them.
            if result is None:
                raise
        conn = VaultConnection.from_props(props["connection"])
        outs = {k: props.get(k) for k in ("connection", *_INIT_SETTINGS, "adopt_existing")}
        outs.update(
            keys=result.keys if result else [],
            keys_b64=result.keys_b64 if result else [],
            root_token=result.root_token if result else "",
            shares_encrypted=bool(props.get("pgp_keys")),
            root_token_encrypted=bool(props.get("root_token_pgp_key")),
            adopted=adopted,
        )
        return CreateResult(id_=f"{conn.kube_context or 'current'}/{conn.namespace}/{conn.pods[0]}", outs=outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # Connection changes (new context name, CA rotation) need no Vault call: the engine records the
        # new inputs with the old outputs. Only init settings are compared; they cannot change in place.
        changed = [k for k in _INIT_SETTINGS if (olds.get(k) or None) != (news.get(k) or None)]
        return DiffResult(changes=bool(changed), replaces=[], stables=[], delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        from components.vault_runtime.flavour import Flavour, rekey_hint

        changed = [k for k in _INIT_SETTINGS if (olds.get(k) or None) != (news.get(k) or None)]
        raise ops.VaultOperationError(
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
) -> dict[str, Any]:
    """VaultInit's input properties as the engine passes them to the provider (shared with the tests)."""
    return {
        "connection": _connection_props(connection),
        "secret_shares": secret_shares,
        "secret_threshold": secret_threshold,
        "pgp_keys": list(pgp_keys) if isinstance(pgp_keys, list | tuple) else (pgp_keys or None),
        "root_token_pgp_key": root_token_pgp_key or None,
        "adopt_existing": adopt_existing,
    }


class VaultInit(Resource, module="vault", name="Init"):
    """Initialise Vault once; outputs ``keys``, ``keys_b64``, ``root_token`` (secrets)."""

    keys: pulumi.Output[list[str]]
    keys_b64: pulumi.Output[list[str]]
    root_token: pulumi.Output[str]
    shares_encrypted: pulumi.Output[bool]
    root_token_encrypted: pulumi.Output[bool]
    adopted: pulumi.Output[bool]

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
            ),
            "keys": None,
            "keys_b64": None,
            "root_token": None,
            "shares_encrypted": None,
            "root_token_encrypted": None,
            "adopted": None,
        }
        secret = pulumi.ResourceOptions(additional_secret_outputs=["keys", "keys_b64", "root_token"])
        super().__init__(VaultInitProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret))


# --- unseal -------------------------------------------------------------------------------------------------


class VaultUnsealProvider(_VaultProvider):
    """Unseal sealed pods on every run; diff reads the live cluster so nothing changes when all are unsealed."""

    def _unseal(self, props: dict[str, Any]) -> dict[str, Any]:
        keys = _key_list(props.get("keys"))
        with self._guard(keys), self._clients(props) as (conn, clients):
            unsealed = ops.unseal_all(
                clients,
                keys,
                float(props.get("timeout_seconds") or 300),
                threshold=int(props["threshold"]) if props.get("threshold") else None,
            )
        return {
            "connection": props["connection"],
            "threshold": props.get("threshold"),
            "timeout_seconds": props.get("timeout_seconds"),
            "pods": list(conn.pods),
            "unsealed_pods": unsealed,  # what the last create/update had to unseal
        }

    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = self._unseal(props)
        conn = VaultConnection.from_props(props["connection"])
        return CreateResult(id_=f"{conn.kube_context or 'current'}/{conn.namespace}/unseal", outs=outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        if _has_unknown(news.get("connection")) or _has_unknown(news.get("keys")):
            return DiffResult(changes=True)
        with self._guard(_key_list(news.get("keys"))), self._clients(news) as (_conn, clients):
            sealed = ops.sealed_pods(clients)
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
    timeout_seconds: float = 300,
) -> dict[str, Any]:
    """VaultUnseal's input properties (plain values; the Resource wraps ``keys`` as a secret)."""
    return {
        "connection": _connection_props(connection),
        "keys": keys,
        "threshold": threshold,
        "timeout_seconds": timeout_seconds,
    }


class VaultUnseal(Resource, module="vault", name="Unseal"):
    """Keep every Vault pod unsealed; ``unsealed_pods`` lists what the last run unsealed."""

    pods: pulumi.Output[list[str]]
    unsealed_pods: pulumi.Output[list[str]]

    def __init__(
        self,
        name: str,
        *,
        connection: VaultConnection | Mapping[str, Any],
        keys: pulumi.Input[Sequence[str]] | pulumi.Input[str],
        threshold: pulumi.Input[int] | None = None,
        timeout_seconds: float = 300,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            **unseal_inputs(connection=connection, keys=keys, threshold=threshold, timeout_seconds=timeout_seconds),
            "pods": None,
            "unsealed_pods": None,
        }
        props["keys"] = pulumi.Output.secret(keys)
        super().__init__(VaultUnsealProvider(), name, props, opts)


# --- bootstrap ----------------------------------------------------------------------------------------------

_BOOTSTRAP_SETTINGS = (
    "approle_path",
    "role_name",
    "policy_name",
    "admin_policy",
    "token_ttl",
    "token_max_ttl",
    "secret_id_ttl",
    "root_token",
)


def _spec(props: Mapping[str, Any]) -> ops.AdminSpec:
    from components.vault_runtime.admin_policy import admin_policy_hcl

    return ops.AdminSpec(
        policy_hcl=props.get("admin_policy") or admin_policy_hcl(),
        approle_path=props.get("approle_path") or "approle",
        role_name=props.get("role_name") or "platform-admin",
        policy_name=props.get("policy_name") or "platform-admin",
        token_ttl=int(props.get("token_ttl") or 3600),
        token_max_ttl=int(props.get("token_max_ttl") or 4 * 3600),
        secret_id_ttl=int(props.get("secret_id_ttl") or 0),
    )


class VaultBootstrapProvider(_VaultProvider):
    """Admin AppRole via the root token, once; then the root token is revoked."""

    def _bootstrap(self, props: dict[str, Any], existing_secret_id: str | None) -> dict[str, Any]:
        root_token = str(props.get("root_token") or "")
        secrets = [root_token, existing_secret_id or ""]
        spec = _spec(props)
        with self._guard(secrets), self._clients(props) as (_conn, clients):
            pod, client = ops.pick_active(clients)
            creds = ops.bootstrap_admin(client, root_token, spec, pod=pod, existing_secret_id=existing_secret_id)
        outs = {k: props.get(k) for k in ("connection", *_BOOTSTRAP_SETTINGS)}
        outs.update(
            admin_policy=spec.policy_hcl,
            role_id=creds.role_id,
            secret_id=creds.secret_id,
            root_token_revoked=True,
        )
        return outs

    def create(self, props: dict[str, Any]) -> CreateResult:
        conn = VaultConnection.from_props(props["connection"])
        outs = self._bootstrap(props, None)
        return CreateResult(id_=f"{conn.kube_context or 'current'}/{conn.namespace}/{outs['role_id']}", outs=outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # Inputs only: probing Vault would need a login, which is a write. Defaults are normalised so an
        # omitted admin_policy equals the rendered default recorded at create.
        old_spec, new_spec = _spec(olds), _spec(news)
        changed = old_spec != new_spec or (olds.get("root_token") or "") != (news.get("root_token") or "")
        return DiffResult(changes=changed, replaces=[], stables=[], delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        # Needs a live root token: a break-glass one passed as root_token (the original one is revoked).
        return UpdateResult(outs=self._bootstrap(news, olds.get("secret_id") or None))

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
) -> dict[str, Any]:
    """VaultBootstrap's input properties (plain values; the Resource wraps ``root_token`` as a secret)."""
    return {
        "connection": _connection_props(connection),
        "root_token": root_token,
        "admin_policy": admin_policy,
        "approle_path": approle_path,
        "role_name": role_name,
        "policy_name": policy_name,
        "token_ttl": token_ttl,
        "token_max_ttl": token_max_ttl,
        "secret_id_ttl": secret_id_ttl,
    }


class VaultBootstrap(Resource, module="vault", name="Bootstrap"):
    """Admin AppRole for pulumi-vault; outputs ``role_id``, ``secret_id`` (secret), ``root_token_revoked``."""

    role_id: pulumi.Output[str]
    secret_id: pulumi.Output[str]
    root_token_revoked: pulumi.Output[bool]

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
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            **bootstrap_inputs(
                connection=connection,
                root_token=root_token,
                admin_policy=admin_policy,
                approle_path=approle_path,
                role_name=role_name,
                policy_name=policy_name,
                token_ttl=token_ttl,
                token_max_ttl=token_max_ttl,
                secret_id_ttl=secret_id_ttl,
            ),
            "role_id": None,
            "secret_id": None,
            "root_token_revoked": None,
        }
        props["root_token"] = pulumi.Output.secret(root_token)
        secret = pulumi.ResourceOptions(additional_secret_outputs=["secret_id", "root_token"])
        super().__init__(VaultBootstrapProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret))


def _connection_props(connection: VaultConnection | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(connection, VaultConnection):
        return connection.to_props()
    props = dict(connection)
    if isinstance(props.get("pods"), tuple):
        props["pods"] = list(props["pods"])
    return props
