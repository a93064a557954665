"""The process that keeps pulumi-vault's port-forward up for as long as the `pulumi` CLI runs.

The engine deletes removed pulumi-vault resources after the program has exited, and `pulumi refresh|destroy
--run-program` run the program only first: a forward owned by the program would be gone by then. So
``tunnel.open_tunnel`` starts this module detached (its own session, the allow-listed environment of
``components.kube.child_env``, its spec as JSON on stdin: no secret anywhere, the forward needs none), and it

- runs one ``kubectl port-forward`` (:class:`PortForward`) on ``vault.localPort`` and restarts it when it dies
  (the pod behind the Service changed), in a worker thread;
- exits, stopping kubectl first, once every *anchor* has exited (the CLI process of each run that uses it,
  see ``components.kube.process_tree``), or on SIGTERM/SIGINT/SIGHUP. Stopping is final: close() makes any
  restart under way fail instead of leaving a kubectl that holds the port.

Its state (``.vault/tunnel-<port>.json``: pid, target, anchors, ready/error) is read and written under an
flock on ``.vault/tunnel-<port>.lock``, also held while it shuts down, so a second run either adopts a live
supervisor (adds its anchor) or starts a new one once the old one has let go of the port.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.kube import process_tree
from components.vault_runtime.transport import ForwardError, PortForward, VaultConnection

POLL_SECONDS = 0.5


@dataclass(frozen=True)
class TunnelFiles:
    """The state, lock and log files of the supervisor for one local port."""

    directory: Path
    port: int

    @property
    def state(self) -> Path:
        return self.directory / f"tunnel-{self.port}.json"

    @property
    def lock(self) -> Path:
        return self.directory / f"tunnel-{self.port}.lock"

    @property
    def log(self) -> Path:
        return self.directory / f"tunnel-{self.port}.log"

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Exclusive access to the state (between runs, and between a run and the supervisor)."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(self.lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # releases the flock

    def read(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.state.read_text())
        except (OSError, ValueError):
            return None

    def write(self, state: dict[str, Any]) -> None:
        """Atomically (a reader never sees half a file), mode 0600."""
        temporary = self.state.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(state, handle)
        temporary.replace(self.state)


def live_anchors(state: dict[str, Any]) -> list[list[int | str]]:
    """The anchors of `state` that still run."""
    refs = [process_tree.ProcessRef.from_list(anchor) for anchor in state.get("anchors", [])]
    return [anchor.to_list() for anchor in refs if process_tree.alive(anchor)]


class Supervisor:
    """One supervised forward (see the module docstring); `run()` returns when it has stopped for good."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.files = TunnelFiles(Path(spec["directory"]), int(spec["local_port"]))
        conn = VaultConnection.from_props(spec["connection"])
        self.forward = PortForward(conn, spec["service"], kubectl=spec["kubectl"], local_port=self.files.port)
        self.me = process_tree.current()
        self.stopping = threading.Event()
        self._reported: tuple[bool, str] | None = None

    def _update(self, **changes: Any) -> bool:
        """Merge `changes` into the state if it is still ours; False when another supervisor replaced us."""
        with self.files.locked():
            state = self.files.read()
            if state is None or state.get("pid") != self.me.pid:
                return False
            self.files.write({**state, **changes})
            return True

    def _keep_forwarding(self) -> None:
        # kubectl's forward dies with the pod behind the Service (a leader change, a restart): start it again
        # on the same port, so pulumi-vault's fixed address keeps working.
        while not self.stopping.is_set():
            try:
                self.forward.ensure()
                report = (True, "")
            except (ForwardError, OSError) as error:  # OSError: kubectl missing or not executable
                report = (False, str(error))
            if report != self._reported and not self.stopping.is_set():
                self._reported = report
                self._update(ready=report[0], error=report[1])
            self.stopping.wait(POLL_SECONDS)

    def _anchored(self) -> bool:
        """Whether some run still needs the tunnel (and it is still ours); records who does."""
        with self.files.locked():
            state = self.files.read()
            if state is None or state.get("pid") != self.me.pid:
                return False
            anchors = live_anchors(state)
            if anchors != state.get("anchors"):
                self.files.write({**state, "anchors": anchors})
            return bool(anchors)

    def run(self) -> None:
        worker = threading.Thread(target=self._keep_forwarding, daemon=True)
        worker.start()
        try:
            while not self.stopping.wait(POLL_SECONDS):
                if not self._anchored():
                    break
        finally:
            self.stopping.set()
            # Under the lock: a run that comes now waits until the port is free, then starts its own.
            with self.files.locked():
                self.forward.close()
                state = self.files.read()
                if state is not None and state.get("pid") == self.me.pid:
                    self.files.state.unlink(missing_ok=True)
            worker.join(timeout=10)


def main() -> None:
    spec = json.loads(sys.stdin.read())
    supervisor = Supervisor(spec)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: supervisor.stopping.set())
    supervisor.run()


if __name__ == "__main__":
    main()
