"""Raw Vault API calls with deadlines, and the errors every Vault step raises.

One call = one HTTP request whose timeout never exceeds what is left of the caller's :class:`Deadline`: a pod
that accepts the TCP connection and then never answers (a frozen process, a hung port-forward) costs at most
the remaining budget, never a fixed 30 s per call. Status codes matter here (hvac's JSON adapter hides them),
so :func:`call` returns the raw response and :func:`expect` turns a non-2xx one into an error naming the pod.

Secrets only ever travel in request bodies and the token header of a single call; every message passes
through :func:`redact`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests

# Never wait longer than this for one HTTP answer, whatever the deadline (a follower's last unseal call
# blocks while it completes its Raft join: ~2 s here, longer on a loaded cluster).
CALL_TIMEOUT = 30.0
# Below this a call cannot even finish a TLS handshake: treat the deadline as spent.
MIN_CALL_TIMEOUT = 0.2


class VaultOperationError(RuntimeError):
    """A Vault step failed; the message names the pod and what to do, and never contains a secret."""


class AlreadyInitialized(VaultOperationError):
    """Vault is initialised but the caller holds no keys for it: never re-initialise."""


class RootTokenUnusable(VaultOperationError):
    """The root token is invalid (already revoked, or PGP-encrypted)."""


class UnsealTimeout(VaultOperationError):
    """A pod did not reach the expected state before the deadline."""


class ServerError(VaultOperationError):
    """HTTP 5xx: the node could not serve the request (e.g. a leader election is under way); retryable."""


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of any secret in ``text`` (defence in depth for error messages)."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "<redacted>")
    return text


@dataclass(frozen=True)
class Deadline:
    """A point in monotonic time; calls ask it how long they may wait."""

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + max(0.0, seconds))

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def timeout(self, cap: float = CALL_TIMEOUT) -> float:
        """The timeout for one call: the remaining time, at most ``cap``; raises when nothing is left."""
        left = self.remaining()
        if left < MIN_CALL_TIMEOUT:
            raise requests.Timeout("deadline reached before the call")
        return min(cap, left)


def call(
    client: Any,
    method: str,
    path: str,
    *,
    deadline: Deadline,
    token: str | None = None,
    body: Mapping[str, Any] | None = None,
    params: Mapping[str, str] | None = None,
    cap: float = CALL_TIMEOUT,
) -> requests.Response:
    """One API call returning the raw response; its timeout is bounded by ``deadline`` (and ``cap``).

    ``token`` is sent as a header on this call only; the shared client stays token-less.
    """
    headers = {"X-Vault-Request": "true"}
    if token:
        headers["X-Vault-Token"] = token
    url = f"{client.url.rstrip('/')}/v1/{path}"
    return client.session.request(
        method,
        url,
        headers=headers,
        json=dict(body) if body is not None else None,
        params=dict(params) if params is not None else None,
        timeout=deadline.timeout(cap),
        allow_redirects=False,
    )


def errors(resp: requests.Response) -> str:
    try:
        errs = resp.json().get("errors") or []
    except ValueError:
        errs = [resp.text[:200]]
    return "; ".join(str(e) for e in errs) or f"HTTP {resp.status_code}"


def expect(resp: requests.Response, what: str, pod: str, secrets: Sequence[str] = ()) -> dict[str, Any]:
    """Return the JSON body of a 2xx response or raise naming the pod and the failed step (5xx: retryable)."""
    if resp.status_code >= 300:
        detail = redact(errors(resp), secrets)
        kind = ServerError if resp.status_code >= 500 else VaultOperationError
        raise kind(f"pod {pod}: {what} failed: HTTP {resp.status_code}: {detail}")
    if resp.status_code == 204 or not resp.content:
        return {}
    return resp.json()


def data(body: Mapping[str, Any]) -> dict[str, Any]:
    """Vault answers some sys/ endpoints both at top level and under "data"; prefer "data"."""
    inner = body.get("data")
    return dict(inner) if isinstance(inner, Mapping) else dict(body)
