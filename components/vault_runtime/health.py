"""Each pod's state from ``sys/health`` (unauthenticated, never a write), and finding the active node.

Probes of several pods run in parallel, each bounded by the caller's deadline and a short cap, so one frozen
or missing pod costs one probe timeout per round, not one per pod and never 30 s. Writes go to the active
node (OpenBao standbys answer reads themselves, REFERENCE §3); during a leader election there is none for a
moment, so :func:`wait_active` waits a bounded time for one instead of failing at once.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import requests

from components.vault_runtime import flavour as flavours
from components.vault_runtime.api import Deadline, VaultOperationError, call

# Health with every state mapped to 200: one GET tells initialised/sealed/standby apart.
_HEALTH_PARAMS = {
    "standbyok": "true",
    "perfstandbyok": "true",
    "sealedcode": "200",
    "uninitcode": "200",
    "drsecondarycode": "200",
    "performancestandbycode": "200",
}
# A healthy pod answers sys/health in milliseconds; one that takes longer is treated as unreachable for
# this round (it is probed again in the next one).
HEALTH_TIMEOUT = 3.0
# How long to wait for an active node when there is none (leader election: ~1-10 s on Raft).
LEADER_WAIT = 30.0


@dataclass(frozen=True)
class Health:
    """One pod's state from ``sys/health``; ``reachable=False`` when the API did not answer."""

    reachable: bool
    initialized: bool = False
    sealed: bool = True
    standby: bool = True
    version: str = ""
    flavour: flavours.Flavour = flavours.Flavour.VAULT
    error: str = ""

    @property
    def active(self) -> bool:
        return self.reachable and self.initialized and not self.sealed and not self.standby

    def describe(self) -> str:
        if not self.reachable:
            return f"unreachable ({self.error})"
        if not self.initialized:
            return "uninitialised (not joined)"
        if self.sealed:
            return "sealed"
        return "active" if not self.standby else "unsealed standby"


def health(client: Any, deadline: Deadline | None = None, cap: float = HEALTH_TIMEOUT) -> Health:
    """Read ``sys/health``. Connection failures and timeouts give ``reachable=False``."""
    try:
        limit = deadline or Deadline.after(cap)
        resp = call(client, "GET", "sys/health", params=_HEALTH_PARAMS, deadline=limit, cap=cap)
        body = resp.json()
    except (requests.RequestException, ValueError) as exc:
        return Health(reachable=False, error=type(exc).__name__)
    if resp.status_code != 200 or "initialized" not in body:
        return Health(reachable=False, error=f"HTTP {resp.status_code}")
    return Health(
        reachable=True,
        initialized=bool(body["initialized"]),
        sealed=bool(body.get("sealed", True)),
        standby=bool(body.get("standby", True)),
        version=str(body.get("version", "")),
        flavour=flavours.detect(body),
    )


def healths(
    clients_by_pod: Mapping[str, Any], deadline: Deadline | None = None, cap: float = HEALTH_TIMEOUT
) -> dict[str, Health]:
    """Every pod's health, probed in parallel (a slow pod does not delay the others' answers)."""
    if not clients_by_pod:
        return {}
    with ThreadPoolExecutor(max_workers=len(clients_by_pod), thread_name_prefix="vault-health") as pool:
        futures = {pod: pool.submit(health, client, deadline, cap) for pod, client in clients_by_pod.items()}
        return {pod: future.result() for pod, future in futures.items()}


def summary(states: Mapping[str, Health]) -> str:
    return ", ".join(f"{pod}: {h.describe()}" for pod, h in states.items())


def first_active(clients_by_pod: Mapping[str, Any], deadline: Deadline) -> tuple[str | None, dict[str, Health]]:
    """Probe every pod in parallel and return as soon as one is active, without waiting for slow ones."""
    pool = ThreadPoolExecutor(max_workers=len(clients_by_pod), thread_name_prefix="vault-leader")
    futures = {pool.submit(health, client, deadline): pod for pod, client in clients_by_pod.items()}
    states: dict[str, Health] = {}
    try:
        for future in as_completed(futures):
            states[futures[future]] = future.result()
            if states[futures[future]].active:
                return futures[future], states
        return None, states
    finally:
        pool.shutdown(wait=False)  # a frozen pod's probe ends by itself (bounded by its timeout)


def wait_active(
    clients_by_pod: Mapping[str, Any],
    deadline: Deadline | None = None,
    *,
    wait: float = LEADER_WAIT,
    poll_interval: float = 0.2,
) -> tuple[str, Any]:
    """The active pod and its client, waiting up to ``wait`` seconds (and the deadline) for one to appear."""
    limit = Deadline.after(wait) if deadline is None else Deadline(min(deadline.at, time.monotonic() + wait))
    while True:
        pod, states = first_active(clients_by_pod, limit)
        if pod is not None:
            return pod, clients_by_pod[pod]
        if limit.remaining() <= poll_interval:
            raise VaultOperationError(
                f"no active Vault node after waiting {wait:.0f} s ({summary(states)}); unseal first "
                "(VaultUnseal) or check that Raft has quorum, then run `pulumi up` again"
            )
        time.sleep(poll_interval)


def pick_active(clients_by_pod: Mapping[str, Any], *, wait: float = LEADER_WAIT) -> tuple[str, Any]:
    """The active pod and its client (read-then-write sequences go there), waiting for an election."""
    return wait_active(clients_by_pod, wait=wait)
