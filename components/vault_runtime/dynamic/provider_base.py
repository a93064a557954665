"""What every Vault dynamic provider shares: opening the pods' clients, secret-safe errors, connection props.

The engine runs these providers in ``python -m pulumi.dynamic`` (REFERENCE §7): inputs arrive through a
protobuf Struct (numbers as floats, unknowns as ``Unknown`` objects in preview; see :mod:`values`), and
an exception's text reaches the engine and the user's terminal, so every failure is re-raised redacted.
Warnings go to stderr (the engine's provider log) and into outputs the Resource classes turn into
``pulumi.log.warn`` in the program.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from pulumi.dynamic import ResourceProvider

from components.vault_runtime.api import VaultOperationError, redact
from components.vault_runtime.transport import ConnectFactory, VaultConnection

log = logging.getLogger("components.vault_runtime")


class VaultProviderBase(ResourceProvider):
    """Shared plumbing: the connection factory (injectable for tests) and secret-safe error handling."""

    def __init__(self, connect: ConnectFactory | None = None) -> None:
        super().__init__()
        self._connect = connect

    @contextmanager
    def _clients(self, props: Mapping[str, Any]) -> Iterator[tuple[VaultConnection, dict[str, Any]]]:
        conn = VaultConnection.from_props(props["connection"])
        if not conn.pods:
            raise VaultOperationError("connection.pods is empty: list the Vault pods (e.g. vault-0..vault-2)")
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
        except VaultOperationError as exc:
            raise type(exc)(redact(str(exc), secrets)) from None
        except Exception as exc:
            raise VaultOperationError(redact(f"{type(exc).__name__}: {exc}", secrets)) from None


def connection_props(connection: VaultConnection | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(connection, VaultConnection):
        return connection.to_props()
    props = dict(connection)
    if isinstance(props.get("pods"), tuple):
        props["pods"] = list(props["pods"])
    return props


def resource_id(props: Mapping[str, Any], suffix: str) -> str:
    conn = VaultConnection.from_props(props["connection"])
    return f"{conn.kube_context or 'current'}/{conn.namespace}/{suffix}"
