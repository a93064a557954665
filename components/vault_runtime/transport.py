"""Reach each Vault pod's API from where ``pulumi up`` runs: one ``kubectl port-forward`` per pod.

Owns the connection description (:class:`VaultConnection`), the port-forward subprocess
(:class:`PortForward`) and :func:`open_clients`, which yields one ``hvac.Client`` per pod. Nothing else.

- ``kubectl --context C -n NS port-forward pod/P :8200 --address 127.0.0.1``: no secret is ever in its argv
  (shares and tokens travel inside the TLS stream, in request bodies/headers).
- TLS is verified against the Vault CA with server name 127.0.0.1 (the Vault certificate covers that IP).
  The CA goes to a 0600 temp file deleted on exit. Sessions have ``trust_env=False`` because this machine's
  ``REQUESTS_CA_BUNDLE`` would otherwise override ``verify=``.
- Forwards start in parallel, and a forward that died (pod restarted) is restarted on the next request, so a
  poll loop in ``operations`` sees a connection error and retries instead of failing.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from components.kube.child_env import child_environment

FORWARD_LINE = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)")
START_TIMEOUT = 20.0
# After a failed start (pod missing or restarting) wait this long before spawning kubectl again, so a
# health poll loop does not fork kubectl every 50 ms.
RETRY_BACKOFF = 1.0


@dataclass(frozen=True)
class VaultConnection:
    """Where the Vault pods are: kube context ("" = current), namespace, pod names, CA PEM, API port, and a
    kubeconfig file ("" = kubectl's default; set when the program created the cluster itself)."""

    kube_context: str = ""
    namespace: str = "vault"
    pods: tuple[str, ...] = ()
    ca_pem: str = field(default="", repr=False)
    port: int = 8200
    kubeconfig: str = ""

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> VaultConnection:
        """Build from the plain dict a Pulumi resource carries (pods arrive as a list)."""
        return cls(
            kube_context=str(props.get("kube_context") or ""),
            namespace=str(props.get("namespace") or "vault"),
            pods=tuple(props.get("pods") or ()),
            ca_pem=str(props.get("ca_pem") or ""),
            port=int(props.get("port") or 8200),
            kubeconfig=str(props.get("kubeconfig") or ""),
        )

    def to_props(self) -> dict[str, Any]:
        return {
            "kube_context": self.kube_context,
            "namespace": self.namespace,
            "pods": list(self.pods),
            "ca_pem": self.ca_pem,
            "port": self.port,
            **({"kubeconfig": self.kubeconfig} if self.kubeconfig else {}),
        }


class ForwardError(requests.ConnectionError):
    """The port-forward could not be (re)started; a ConnectionError so health polls treat it as 'not yet'."""


def port_forward_argv(conn: VaultConnection, pod: str, kubectl: str = "kubectl", local_port: int = 0) -> list[str]:
    """The kubectl command line for one pod, on 127.0.0.1 only (local port 0 = kubectl picks a free one).

    ``pod`` may also be ``svc/<name>`` (e.g. ``svc/vault-active`` for a long-lived forward to the leader).
    """
    target = pod if "/" in pod else f"pod/{pod}"
    argv = [kubectl]
    if conn.kubeconfig:
        argv += ["--kubeconfig", conn.kubeconfig]
    if conn.kube_context:
        argv += ["--context", conn.kube_context]
    ports = f"{local_port or ''}:{conn.port}"
    argv += ["--namespace", conn.namespace, "port-forward", target, ports, "--address", "127.0.0.1"]
    return argv


def parse_forward_port(line: str, remote_port: int | None = None) -> int | None:
    """The local port from kubectl's ``Forwarding from 127.0.0.1:NNNNN -> 8200`` line, else None."""
    match = FORWARD_LINE.search(line)
    if not match or (remote_port is not None and int(match.group(2)) != remote_port):
        return None
    return int(match.group(1))


class PortForward:
    """One ``kubectl port-forward`` subprocess; a context manager that always stops it."""

    def __init__(
        self,
        conn: VaultConnection,
        pod: str,
        *,
        kubectl: str | None = None,
        local_port: int = 0,
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        self.conn = conn
        self.pod = pod
        self.kubectl = kubectl or shutil.which("kubectl") or "kubectl"
        self.requested_port = local_port
        self.start_timeout = start_timeout
        self.local_port: int | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        self._stderr_thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one (re)start at a time
        # Guards `_proc` and `_closed` only, never held while waiting: close() must not wait for a start in
        # progress, and a start must never hand a process to a forward that was closed meanwhile.
        self._state = threading.Lock()
        self._retry_at = 0.0
        self._last_error = ""
        self._closed = False

    def launch(self) -> None:
        """Start the subprocess without waiting for its port (lets several forwards start in parallel).

        Raises :class:`ForwardError` once closed: a keep-alive or worker thread that reaches this after
        close() must not leave a kubectl behind that holds the port."""
        self.local_port = None
        self._lines = queue.Queue()
        self._stderr = []
        with self._state:
            if self._closed:
                raise ForwardError(f"pod {self.pod}: port-forward closed")
            proc = self._proc = subprocess.Popen(
                port_forward_argv(self.conn, self.pod, self.kubectl, self.requested_port),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=child_environment(),  # never PULUMI_CONFIG & co.: kubectl hands its env to exec plugins
                start_new_session=True,  # Ctrl-C on pulumi must not race our own cleanup
            )
        # kubectl logs a line per connection: keep draining both pipes so it never blocks on a full pipe.
        threading.Thread(target=self._drain, args=(proc.stdout, self._lines), daemon=True).start()
        self._stderr_thread = threading.Thread(target=self._drain_err, args=(proc.stderr,), daemon=True)
        self._stderr_thread.start()

    @staticmethod
    def _drain(stream: Any, sink: queue.Queue[str | None]) -> None:
        for line in stream:
            sink.put(line)
        sink.put(None)

    def _drain_err(self, stream: Any) -> None:
        for line in stream:
            if len(self._stderr) < 50:
                self._stderr.append(line.strip())

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None and self.local_port is not None

    def ensure(self, timeout: float | None = None) -> int:
        """The local port, (re)starting the forward if needed, waiting at most ``timeout`` (default
        ``start_timeout``) for kubectl's port. Raises :class:`ForwardError`."""
        with self._lock:
            if self._closed:
                # A worker thread outliving its step must not start kubectl again after cleanup (launch()
                # checks again: close() may come while this start is under way).
                raise ForwardError(f"pod {self.pod}: port-forward closed")
            if self.alive():
                return int(self.local_port)  # type: ignore[arg-type]
            if self._proc is None or self._proc.poll() is not None:
                if time.monotonic() < self._retry_at:
                    raise ForwardError(self._last_error)
                self.stop()
                self.launch()
            try:
                return self._wait_for_port(self.start_timeout if timeout is None else min(timeout, self.start_timeout))
            except ForwardError as exc:
                self._last_error = str(exc)
                self._retry_at = time.monotonic() + RETRY_BACKOFF
                raise

    def _wait_for_port(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.local_port is None:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.stop()
                raise ForwardError(f"pod {self.pod}: kubectl port-forward gave no port in time") from None
            if line is None:  # kubectl exited; its stderr says why
                with self._state:
                    proc, self._proc = self._proc, None
                if proc is not None:
                    proc.wait(timeout=5)
                if self._stderr_thread is not None:
                    self._stderr_thread.join(timeout=2)
                code = proc.returncode if proc is not None else "?"
                detail = " | ".join(self._stderr[-3:]) or f"exit code {code}"
                raise ForwardError(f"pod {self.pod}: kubectl port-forward failed: {detail}")
            self.local_port = parse_forward_port(line, self.conn.port)
        return self.local_port

    def stop(self) -> None:
        """Terminate the subprocess; never raises (cleanup must not mask a result such as fresh init keys)."""
        with self._state:
            proc, self._proc = self._proc, None
        self.local_port = None
        if proc is None:
            return
        with contextlib.suppress(Exception):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)

    def __enter__(self) -> PortForward:
        self.ensure()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def close(self) -> None:
        """Stop for good: later requests fail instead of restarting kubectl, and a start under way in another
        thread either never spawns kubectl or has its process taken and stopped here."""
        with self._state:
            self._closed = True
        self.stop()


class _ForwardedSession(requests.Session):
    """A session that sends every request to the current local port of one pod's port-forward."""

    def __init__(self, forward: PortForward, ca_file: str) -> None:
        super().__init__()
        self.trust_env = False  # REQUESTS_CA_BUNDLE/proxies from the environment must not apply
        self.verify = ca_file
        self._forward = forward

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        timeout = kwargs.get("timeout")
        # kubectl's start counts against the request's own (deadline-bounded) timeout.
        wait = timeout[0] if isinstance(timeout, tuple) else timeout
        port = self._forward.ensure(float(wait) if wait else None)
        parts = urlsplit(str(url))
        url = urlunsplit((parts.scheme, f"127.0.0.1:{port}", parts.path, parts.query, parts.fragment))
        return super().request(method, url, *args, **kwargs)


def _hvac_client(url: str, session: requests.Session) -> Any:
    import hvac  # imported here: providers are pickled and loaded in the dynamic-provider process

    return hvac.Client(url=url, session=session, timeout=30)


@contextlib.contextmanager
def temp_ca_file(ca_pem: str) -> Iterator[str]:
    """The CA PEM in a 0600 temp file for the duration (requests needs a path), always deleted."""
    fd, path = tempfile.mkstemp(prefix="vault-ca-", suffix=".pem")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(ca_pem)
        yield path
    finally:
        with contextlib.suppress(OSError):
            Path(path).unlink()


@contextlib.contextmanager
def open_clients(conn: VaultConnection, *, kubectl: str | None = None) -> Iterator[dict[str, Any]]:
    """One hvac client per pod, each through its own port-forward; all forwards stop on exit."""
    if not conn.pods:
        raise ValueError("VaultConnection.pods is empty")
    with temp_ca_file(conn.ca_pem) as ca_path:
        forwards = [PortForward(conn, pod, kubectl=kubectl) for pod in conn.pods]
        try:
            for fwd in forwards:
                fwd.launch()
            # The URL's port is a placeholder: _ForwardedSession rewrites it to the live local port.
            yield {
                fwd.pod: _hvac_client(f"https://127.0.0.1:{conn.port}", _ForwardedSession(fwd, ca_path))
                for fwd in forwards
            }
        finally:
            for fwd in forwards:
                fwd.close()


@contextlib.contextmanager
def open_direct_clients(
    addresses: Mapping[str, str], ca_pem: str, *, session_factory: Callable[[], requests.Session] | None = None
) -> Iterator[dict[str, Any]]:
    """One hvac client per pod for API addresses reachable directly (tests, or running inside the cluster)."""
    with temp_ca_file(ca_pem) as ca_path:
        clients = {}
        for pod, url in addresses.items():
            session = session_factory() if session_factory else requests.Session()
            session.trust_env = False
            session.verify = ca_path
            clients[pod] = _hvac_client(url, session)
        yield clients


ConnectFactory = Callable[[VaultConnection], contextlib.AbstractContextManager[dict[str, Any]]]
