"""Run Vault steps on the active node, surviving a leader change between or during them.

A leader election (step-down, pod restart, lost quorum for a moment) shows as HTTP 500 "local node not active
but active cluster node not found", a refused connection, or no active node at all for a few seconds. Each
step here is idempotent (it reads before it writes), so on such a failure :class:`Leader` waits a bounded
time for an active node and runs the step once more against it; a second failure is reported as is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import requests

from components.vault_runtime.api import Deadline, ServerError, redact
from components.vault_runtime.health import LEADER_WAIT, wait_active

log = logging.getLogger(__name__)
T = TypeVar("T")

# Failures that mean "this node cannot serve right now", not "the request is wrong".
RETRYABLE = (ServerError, requests.ConnectionError, requests.Timeout)


class Leader:
    """The active node for a sequence of steps (found at construction, re-found after a retryable failure)."""

    def __init__(
        self,
        clients_by_pod: Mapping[str, Any],
        deadline: Deadline,
        *,
        wait: float = LEADER_WAIT,
        secrets: tuple[str, ...] = (),
    ) -> None:
        self.clients = clients_by_pod
        self.deadline = deadline
        self.wait = wait
        self.secrets = secrets
        self.pod, self.client = wait_active(clients_by_pod, deadline, wait=wait)
        self.retries = 0

    def run(self, what: str, step: Callable[[Any, str], T]) -> T:
        """``step(client, pod)`` on the active node; once more on the (new) active node after a retryable error."""
        try:
            return step(self.client, self.pod)
        except RETRYABLE as exc:
            reason = redact(str(exc), self.secrets)[:300]
            log.warning(
                "pod %s: %s failed (%s: %s); waiting for the active node and retrying once",
                self.pod,
                what,
                type(exc).__name__,
                reason,
            )
        self.retries += 1
        self.pod, self.client = wait_active(self.clients, self.deadline, wait=self.wait)
        return step(self.client, self.pod)
