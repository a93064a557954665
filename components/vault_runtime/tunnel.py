"""The pulumi-vault provider's way in: one port-forward to the active Vault, up until the `pulumi` CLI exits.

The pulumi-vault provider needs a fixed address for the whole deployment, unlike the dynamic providers,
which open a forward per step. The program therefore has `kubectl port-forward svc/<release>-active` held
on `vault.localPort` (a fixed port: the address is part of the provider's configuration, and a changing
port would show as a diff every run) once Vault is unsealed and bootstrapped.

The forward belongs to a detached supervisor process (``tunnel_supervisor``), not to the program: the engine
runs pulumi-vault deletes after the program has exited, and `pulumi refresh|destroy --run-program` run the
program only first. The supervisor lives until the `pulumi` CLI that runs this program exits (its *anchor*,
``components.kube.process_tree``; without a CLI above us, this process). A second program run (the update
after `pulumi up`'s preview, another `pulumi` command while one runs) adopts the live supervisor for the
same target by adding its anchor, instead of fighting for the port; one for another target is stopped first.
The CA goes to a file because pulumi-vault only takes CA paths; it is public, but the file is still 0600.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from components.kube import process_tree
from components.kube.child_env import child_environment
from components.vault_runtime.transport import START_TIMEOUT, VaultConnection
from components.vault_runtime.tunnel_supervisor import TunnelFiles, live_anchors

LOCAL_ADDRESS = "https://127.0.0.1:{port}"
STATE_DIRECTORY = Path(".vault")
# `python -m components...` in the supervisor must import the program's package, whatever our cwd.
PROGRAM_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = START_TIMEOUT + 10.0
STOP_TIMEOUT = 15.0

_lock = threading.Lock()
_open: dict[tuple[str, int], TunnelFiles] = {}


def ca_file_path(stack: str) -> Path:
    """Where the provider's CA file lives: per stack, outside the repo's tracked files (.gitignore'd)."""
    return STATE_DIRECTORY / f"{stack}-ca.pem"


def write_ca_file(path: Path, ca_pem: str) -> None:
    path.parent.mkdir(mode=0o700, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(ca_pem)


def open_tunnel(
    conn: VaultConnection,
    service: str,
    local_port: int,
    *,
    kubectl: str | None = None,
    directory: Path | None = None,
) -> str:
    """Have a supervised forward to `service` on 127.0.0.1:`local_port` (adopted or started, then ready);
    returns the address. Idempotent within a run, so every Output that needs the address may call it."""
    key = (f"{conn.kubeconfig}/{conn.kube_context}/{conn.namespace}/{service}", local_port)
    with _lock:
        if key not in _open:
            files = TunnelFiles((directory or STATE_DIRECTORY).resolve(), local_port)
            target = {
                "connection": {**conn.to_props(), "ca_pem": "", "pods": []},  # the forward needs no CA
                "service": service,
                "kubectl": kubectl or shutil.which("kubectl") or "kubectl",
            }
            pid = _adopt_or_start(files, target, process_tree.lifetime_anchor())
            try:
                _wait_ready(files, pid)
            except RuntimeError:
                _release(files)  # a supervisor nobody else uses must not go on trying for the CLI's lifetime
                raise
            _open[key] = files
    return LOCAL_ADDRESS.format(port=local_port)


def _adopt_or_start(files: TunnelFiles, target: dict[str, Any], anchor: process_tree.ProcessRef) -> int:
    """The pid of the supervisor for `target`, now anchored to `anchor` too."""
    deadline = time.monotonic() + STOP_TIMEOUT
    while True:
        with files.locked():
            state = files.read()
            recorded = (state or {}).get("supervisor")
            supervisor = process_tree.ProcessRef.from_list(recorded) if recorded else None
            if state is None or supervisor is None or not process_tree.alive(supervisor):
                return _start(files, target, anchor)
            if state.get("target") == target:
                anchors = live_anchors(state)
                if anchor.to_list() not in anchors:
                    anchors.append(anchor.to_list())
                files.write({**state, "anchors": anchors})
                return supervisor.pid
            # Another target on this port (config changed): stop that supervisor, then start ours.
            os.kill(supervisor.pid, signal.SIGTERM)
        if time.monotonic() > deadline:
            raise RuntimeError(f"the tunnel supervisor {supervisor.pid} on port {files.port} did not stop")
        time.sleep(0.2)


def _start(files: TunnelFiles, target: dict[str, Any], anchor: process_tree.ProcessRef) -> int:
    """Spawn a detached supervisor and record it (the caller holds the lock, so it reads this state)."""
    descriptor = os.open(files.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "components.vault_runtime.tunnel_supervisor"],
            stdin=subprocess.PIPE,
            # Never the program's pipes: the language host and the CLI must not wait for the supervisor's EOF.
            stdout=descriptor,
            stderr=descriptor,
            cwd=PROGRAM_ROOT,
            env=child_environment(),
            start_new_session=True,  # Ctrl-C on pulumi reaches the CLI; the supervisor follows the CLI's exit
            text=True,
        )
    finally:
        os.close(descriptor)
    supervisor = process_tree.ref(process.pid) or process_tree.ProcessRef(process.pid)
    files.write(
        {
            "pid": process.pid,
            "supervisor": supervisor.to_list(),
            "target": target,
            "anchors": [anchor.to_list()],
            "ready": False,
            "error": "",
        }
    )
    assert process.stdin is not None
    process.stdin.write(json.dumps({**target, "directory": str(files.directory), "local_port": files.port}))
    process.stdin.close()
    return process.pid


def _wait_ready(files: TunnelFiles, pid: int) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        state = files.read()
        if state is None or state.get("pid") != pid:
            break
        if state.get("ready"):
            return
        if state.get("error"):
            break  # as kubectl port-forward itself: the first failure is reported, not waited out
        if not process_tree.alive(process_tree.ProcessRef.from_list(state["supervisor"])):
            break  # it died (its log says why): no point waiting
        time.sleep(0.1)
    state = files.read() or {}
    log = files.log.read_text(errors="replace").strip().splitlines()[-3:] if files.log.exists() else []
    detail = state.get("error") or " | ".join(log) or f"see {files.log}"
    raise RuntimeError(f"the tunnel to Vault on 127.0.0.1:{files.port} did not come up: {detail}")


def close_all() -> None:
    """Drop this process's claim on every tunnel it opened (tests; a real run leaves them to its CLI): a
    supervisor that no other live run is anchored to is stopped, and this waits until it has let go."""
    with _lock:
        for files in _open.values():
            _release(files)
        _open.clear()


def _release(files: TunnelFiles) -> None:
    """Remove this run's anchor; stop the supervisor if no other live run is anchored to it."""
    me = process_tree.lifetime_anchor().to_list()
    with files.locked():
        state = files.read()
        if state is None:
            return
        anchors = [anchor for anchor in live_anchors(state) if anchor != me]
        files.write({**state, "anchors": anchors})
        supervisor = process_tree.ProcessRef.from_list(state["supervisor"])
    if not anchors:
        stop_supervisor(supervisor)


def stop_supervisor(supervisor: process_tree.ProcessRef, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM that supervisor (if it is still that process) and wait until it has exited."""
    if process_tree.alive(supervisor):
        os.kill(supervisor.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while process_tree.alive(supervisor):
        if time.monotonic() > deadline:
            raise RuntimeError(f"tunnel supervisor {supervisor.pid} did not stop")
        time.sleep(0.05)
