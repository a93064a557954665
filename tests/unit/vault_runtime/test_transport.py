"""The kubectl port-forward transport, without a cluster: argv, port parsing, lifecycle, CA file, failures.

A fake ``kubectl`` (tests/fixtures/openbao.py) first on PATH prints kubectl's ``Forwarding from`` line and
proxies TCP to a local echo server, so the real subprocess handling is exercised.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.vault_runtime.transport import (
    ForwardError,
    PortForward,
    VaultConnection,
    open_clients,
    parse_forward_port,
    port_forward_argv,
)

# Registers the OpenBao fixtures even when tests/conftest.py does not list the plugin (idempotent if it does).
pytest_plugins = ["tests.fixtures.openbao"]

CONN = VaultConnection(kube_context="kind-dev", namespace="vault", pods=("vault-0", "vault-1"), ca_pem="PEM")


@pytest.fixture
def echo_port() -> Iterator[int]:
    """A TCP echo server on 127.0.0.1 standing in for a pod's port 8200."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            with conn:
                while data := conn.recv(4096):
                    conn.sendall(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield srv.getsockname()[1]
    stop.set()
    thread.join(timeout=2)
    srv.close()


def test_argv_has_context_namespace_pod_and_binds_loopback_only() -> None:
    assert port_forward_argv(CONN, "vault-1") == [
        "kubectl",
        "--context",
        "kind-dev",
        "--namespace",
        "vault",
        "port-forward",
        "pod/vault-1",
        ":8200",
        "--address",
        "127.0.0.1",
    ]


def test_argv_fixed_local_port_and_service_target() -> None:
    argv = port_forward_argv(CONN, "svc/vault-active", local_port=18200)
    assert argv[-4:] == ["svc/vault-active", "18200:8200", "--address", "127.0.0.1"]


def test_argv_without_context_uses_current_context() -> None:
    conn = VaultConnection(kube_context="", namespace="ns", pods=("p",), port=8300)
    argv = port_forward_argv(conn, "p", kubectl="/opt/kubectl")
    assert argv[0] == "/opt/kubectl"
    assert "--context" not in argv
    assert ":8300" in argv


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Forwarding from 127.0.0.1:38211 -> 8200\n", 38211),
        ("Forwarding from [::1]:38211 -> 8200", None),
        ("Handling connection for 38211", None),
        ("Forwarding from 127.0.0.1:1234 -> 8300", None),  # another remote port
    ],
)
def test_parse_forward_port(line: str, expected: int | None) -> None:
    assert parse_forward_port(line, 8200) == expected


def test_connection_round_trips_through_props() -> None:
    assert VaultConnection.from_props(CONN.to_props()) == CONN
    assert VaultConnection.from_props({"pods": ["a"]}).port == 8200


def test_port_forward_proxies_and_stops(fake_kubectl, echo_port: int) -> None:
    fake = fake_kubectl({"vault-0": echo_port})
    with PortForward(CONN, "vault-0") as fwd:
        port = fwd.local_port
        assert port
        pid = fwd._proc.pid  # type: ignore[union-attr]
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"ping")
            assert sock.recv(4) == b"ping"
    assert not Path(f"/proc/{pid}").exists()  # terminated and reaped
    assert fake.calls() == [port_forward_argv(CONN, "vault-0", kubectl="kubectl")[1:]]


def test_dead_forward_is_restarted_on_next_use(fake_kubectl, echo_port: int) -> None:
    fake_kubectl({"vault-0": echo_port})
    fwd = PortForward(CONN, "vault-0")
    try:
        fwd.ensure()
        old = fwd._proc
        os.kill(old.pid, signal.SIGKILL)  # type: ignore[union-attr]  # the pod restarted: kubectl exits
        old.wait(timeout=5)  # type: ignore[union-attr]
        port = fwd.ensure()
        assert fwd._proc is not old and fwd.alive()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"again")
            assert sock.recv(5) == b"again"
    finally:
        fwd.stop()


def test_missing_pod_raises_forward_error_naming_pod_and_backs_off(fake_kubectl) -> None:
    fake = fake_kubectl({})
    fwd = PortForward(CONN, "vault-9")
    for _ in range(3):  # a poll loop retrying quickly must not fork kubectl each time
        with pytest.raises(ForwardError, match=r'pod vault-9: kubectl port-forward failed: .*pods "vault-9" not found'):
            fwd.ensure()
    assert len(fake.calls()) == 1
    fwd.stop()


def test_open_clients_ca_file_is_private_and_removed(fake_kubectl, echo_port: int) -> None:
    fake_kubectl({"vault-0": echo_port, "vault-1": echo_port})
    with open_clients(CONN) as clients:
        assert set(clients) == {"vault-0", "vault-1"}
        session = clients["vault-0"].session
        ca_path = Path(session.verify)
        assert ca_path.read_text() == "PEM"
        assert stat.S_IMODE(ca_path.stat().st_mode) == 0o600
        assert session.trust_env is False  # REQUESTS_CA_BUNDLE must not override the Vault CA
    assert not ca_path.exists()
