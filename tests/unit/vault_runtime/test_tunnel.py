"""pulumi-vault's tunnel: it outlives the program until the `pulumi` CLI exits, a second run adopts it, and a
stopped forward or supervisor never comes back (fake kubectl, a process tree shaped like the engine's)."""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.kube import process_tree
from components.vault_runtime import tunnel
from components.vault_runtime.transport import ForwardError, PortForward, VaultConnection
from components.vault_runtime.tunnel_supervisor import TunnelFiles
from tests.fixtures.fake_kubectl import FakeKubectl, install_fake_kubectl, start_engine_tree
from tests.fixtures.openbao import free_port
from tests.harness.program import REPO

CONN = VaultConnection(kube_context="ctx", namespace="vault")
SERVICE = "svc/vault-active"


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"vault behind the forward"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def backend() -> Iterator[int]:
    """A small HTTP server standing in for the active Vault pod; its port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def fetch(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data.decode().split("\r\n\r\n", 1)[1]


def port_free(port: int) -> bool:
    """Nobody listens and a new forward could bind it (SO_REUSEADDR, as kubectl's Go listener: closed
    connections in TIME_WAIT do not count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_for(condition, timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def gone(pid: int) -> bool:
    found = process_tree.ref(pid)
    return found is None or not process_tree.alive(found)


def write_program(workdir: Path, kubectl: FakeKubectl, port: int) -> Path:
    """The part of the program that opens the tunnel, as a file the fake language host runs."""
    program = workdir / "program.py"
    program.write_text(
        f"""
import json, os, sys
from pathlib import Path
sys.path.insert(0, {str(REPO)!r})
from components.kube import process_tree
from components.vault_runtime import tunnel
from components.vault_runtime.transport import VaultConnection
address = tunnel.open_tunnel(VaultConnection(kube_context="ctx", namespace="vault"), {SERVICE!r}, {port},
                             kubectl={str(kubectl.path)!r}, directory=Path({str(workdir / ".vault")!r}))
out = {{"pid": os.getpid(), "address": address, "anchor": process_tree.lifetime_anchor().pid}}
Path(sys.argv[1] if len(sys.argv) > 1 else {str(workdir / "program.json")!r}).write_text(json.dumps(out))
"""
    )
    return program


def test_the_tunnel_outlives_the_program_until_the_cli_exits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: int
) -> None:
    port = free_port()
    kubectl = install_fake_kubectl(tmp_path, {"vault-active": backend}, monkeypatch)
    program = write_program(tmp_path, kubectl, port)
    files = TunnelFiles(tmp_path / ".vault", port)

    first = start_engine_tree(tmp_path, program, dict(os.environ), "first")
    assert first.program_finished() == 0
    out = json.loads((tmp_path / "program.json").read_text())
    assert out["anchor"] == first.cli.pid  # the CLI two levels up, not the language host
    assert gone(out["pid"])
    # The engine's deletes after the program: the forward still answers.
    assert fetch(port) == "vault behind the forward"
    supervisor = json.loads(files.state.read_text())["pid"]

    # The pod behind the Service changes (kubectl's forward dies): the supervisor forwards again.
    os.kill(kubectl.runs()[-1]["pid"], signal.SIGKILL)
    wait_for(lambda: len(kubectl.runs()) == 2, what="a new kubectl")
    wait_for(lambda: not port_free(port), what="the port again")
    assert fetch(port) == "vault behind the forward"

    # A second run while the first CLI still runs adopts the supervisor instead of fighting for the port.
    second = start_engine_tree(tmp_path, program, dict(os.environ), "second")
    assert second.program_finished() == 0
    assert json.loads(files.state.read_text())["pid"] == supervisor and len(kubectl.runs()) == 2

    first.exit()
    time.sleep(1.5)  # three supervisor polls: it must stay for the second CLI
    assert not gone(supervisor) and fetch(port) == "vault behind the forward"

    second.exit()
    wait_for(lambda: gone(supervisor), what="the supervisor to exit")
    assert all(gone(run["pid"]) for run in kubectl.runs())
    assert port_free(port) and not files.state.exists()
    time.sleep(1.5)
    assert len(kubectl.runs()) == 2 and port_free(port)  # nothing came back


@pytest.mark.parametrize("cli_name", ["pulumi", ".pulumi-wrapped"])
def test_the_anchor_is_the_cli_above_the_language_host(tmp_path: Path, cli_name: str) -> None:
    """Named `pulumi`, or (a wrapper, a renamed binary) recognised as the language host's parent."""
    program = tmp_path / "anchor.py"
    program.write_text(
        f"import sys; sys.path.insert(0, {str(REPO)!r})\n"
        "from components.kube import process_tree\n"
        f"open({str(tmp_path / 'anchor')!r}, 'w').write(str(process_tree.lifetime_anchor().pid))\n"
    )
    tree = start_engine_tree(tmp_path, program, dict(os.environ), cli_name=cli_name)
    try:
        assert tree.program_finished() == 0
        assert int((tmp_path / "anchor").read_text()) == tree.cli.pid
    finally:
        tree.exit()


def test_without_a_cli_the_tunnel_lives_as_long_as_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: int
) -> None:
    port = free_port()
    kubectl = install_fake_kubectl(tmp_path, {"vault-active": backend}, monkeypatch)
    assert process_tree.cli_ancestor() is None
    try:
        address = tunnel.open_tunnel(CONN, SERVICE, port, directory=tmp_path)
        assert address == f"https://127.0.0.1:{port}"
        assert tunnel.open_tunnel(CONN, SERVICE, port, directory=tmp_path) == address  # once per run
        assert fetch(port) == "vault behind the forward"
        state = json.loads(TunnelFiles(tmp_path, port).state.read_text())
        assert state["anchors"] == [process_tree.current().to_list()]
    finally:
        tunnel.close_all()
    assert gone(state["pid"]) and port_free(port)
    assert kubectl.calls() == [
        ["--context", "ctx", "--namespace", "vault", "port-forward", SERVICE, f"{port}:8200", "--address", "127.0.0.1"]
    ]


def test_a_tunnel_that_cannot_start_says_why_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    kubectl = install_fake_kubectl(tmp_path, {}, monkeypatch)  # no pod behind the Service
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r'did not come up: .*pods "vault-active" not found'):
        tunnel.open_tunnel(CONN, SERVICE, port, directory=tmp_path)
    assert time.monotonic() - started < 10
    with pytest.raises(RuntimeError, match=r"did not come up: .*No such file"):
        tunnel.open_tunnel(CONN, SERVICE, port, kubectl=str(tmp_path / "missing"), directory=tmp_path)
    wait_for(lambda: not TunnelFiles(tmp_path, port).state.exists(), what="the supervisor to stop")
    assert all(gone(run["pid"]) for run in kubectl.runs()) and port_free(port)


def test_a_tunnel_to_another_target_replaces_the_old_supervisor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: int
) -> None:
    port = free_port()
    kubectl = install_fake_kubectl(tmp_path, {"vault-active": backend, "vault": backend}, monkeypatch)
    files = TunnelFiles(tmp_path, port)
    try:
        tunnel.open_tunnel(CONN, SERVICE, port, directory=tmp_path)
        old = json.loads(files.state.read_text())["pid"]
        tunnel.open_tunnel(CONN, "svc/vault", port, directory=tmp_path)  # e.g. vault.ha turned off
        new = json.loads(files.state.read_text())["pid"]
        assert new != old and gone(old) and gone(kubectl.runs()[0]["pid"])
        assert fetch(port) == "vault behind the forward"
        assert [run["argv"][run["argv"].index("port-forward") + 1] for run in kubectl.runs()] == [SERVICE, "svc/vault"]
    finally:
        tunnel.close_all()
    assert gone(new) and port_free(port)


def test_a_supervisor_stopped_during_a_restart_is_not_resurrected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: int
) -> None:
    port = free_port()
    kubectl = install_fake_kubectl(tmp_path, {"vault-active": backend}, monkeypatch)
    try:
        tunnel.open_tunnel(CONN, SERVICE, port, directory=tmp_path)
        state = json.loads(TunnelFiles(tmp_path, port).state.read_text())
        # The next kubectl start hangs before it binds, then its forward dies: the supervisor is mid-restart.
        gate = tmp_path / "gate"
        kubectl.configure(gate=str(gate))
        os.kill(kubectl.runs()[-1]["pid"], signal.SIGKILL)
        wait_for(lambda: len(kubectl.runs()) == 2, what="the restart to start kubectl")
        os.kill(state["pid"], signal.SIGTERM)
        wait_for(lambda: gone(state["pid"]), what="the supervisor to exit")
        gate.write_text("")  # a kubectl that survived would bind now
        time.sleep(1.0)
        assert all(gone(run["pid"]) for run in kubectl.runs()) and len(kubectl.runs()) == 2
        assert port_free(port)
    finally:
        tunnel.close_all()


def test_close_during_a_restart_spawns_no_kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The race of issue 15, made deterministic: close() lands between the restart's stop() and launch()."""
    kubectl = install_fake_kubectl(tmp_path, {}, monkeypatch)
    forward = PortForward(CONN, "vault-0")
    at_launch, closed = threading.Event(), threading.Event()
    real_launch = PortForward.launch

    def paused_launch(self: PortForward) -> None:
        at_launch.set()
        assert closed.wait(10)
        real_launch(self)

    monkeypatch.setattr(PortForward, "launch", paused_launch)
    errors: list[BaseException] = []

    def keep_alive() -> None:
        try:
            forward.ensure()
        except ForwardError as error:
            errors.append(error)

    worker = threading.Thread(target=keep_alive)
    worker.start()
    assert at_launch.wait(10)
    forward.close()  # must not wait for the restart that is under way
    closed.set()
    worker.join(10)
    assert [str(e) for e in errors] == ["pod vault-0: port-forward closed"]
    assert kubectl.calls() == [] and forward._proc is None
