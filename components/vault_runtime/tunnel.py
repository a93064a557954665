"""The pulumi-vault provider's way in: one port-forward to the active Vault, open while the program runs.

The pulumi-vault provider needs a fixed address for the whole deployment, unlike the dynamic providers,
which open a forward per step. The program therefore opens `kubectl port-forward svc/<release>-active`
on `vault.localPort` (a fixed port: the address is part of the provider's configuration, and a changing
port would show as a diff every run) once Vault is unsealed and bootstrapped, and stops it at exit. The
CA goes to a file because pulumi-vault only takes CA paths; it is public, but the file is still 0600.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import time
from pathlib import Path

from components.vault_runtime.transport import PortForward, VaultConnection

LOCAL_ADDRESS = "https://127.0.0.1:{port}"

_lock = threading.Lock()
_open: dict[tuple[str, int], PortForward] = {}


def ca_file_path(stack: str) -> Path:
    """Where the provider's CA file lives: per stack, outside the repo's tracked files (.gitignore'd)."""
    return Path(".vault") / f"{stack}-ca.pem"


def write_ca_file(path: Path, ca_pem: str) -> None:
    path.parent.mkdir(mode=0o700, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(ca_pem)


def open_tunnel(conn: VaultConnection, service: str, local_port: int, *, kubectl: str | None = None) -> str:
    """Start (once per program run) a forward to `service` on 127.0.0.1:`local_port`; returns the address.

    Idempotent within a run, so every Output that needs the address may call it."""
    key = (f"{conn.kube_context}/{conn.namespace}/{service}", local_port)
    with _lock:
        forward = _open.get(key)
        if forward is None:
            forward = PortForward(conn, service, kubectl=kubectl, local_port=local_port)
            forward.__enter__()
            if forward.local_port != local_port:
                forward.stop()
                raise RuntimeError(
                    f"kubectl forwarded {service} to port {forward.local_port}, not vault.localPort={local_port}"
                )
            _open[key] = forward
            atexit.register(forward.stop)
            threading.Thread(target=_keep_alive, args=(forward,), daemon=True).start()
    return LOCAL_ADDRESS.format(port=local_port)


def _keep_alive(forward: PortForward) -> None:
    # kubectl's forward dies with the pod behind the Service (e.g. a leader change during a long
    # deployment): restart it on the same port so the provider's fixed address keeps working.
    while forward in _open.values():
        with contextlib.suppress(Exception):
            forward.ensure()
        time.sleep(1.0)


def close_all() -> None:
    """Stop every forward this process opened (tests; atexit does it for the program)."""
    with _lock:
        for forward in _open.values():
            forward.stop()
        _open.clear()
