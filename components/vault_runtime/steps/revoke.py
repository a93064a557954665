"""Revoke the root token, as its own step, once the admin credentials are in the state.

Idempotent and sure of its answer: a token that no longer looks itself up is already revoked (a previous run
did it, or this run's revoke succeeded but its response was lost); a revoke that failed in transit is checked
with ``lookup-self`` instead of guessed, and retried once on the active node if the token still works.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from components.vault_runtime.api import Deadline, call, expect
from components.vault_runtime.leader import RETRYABLE, Leader

log = logging.getLogger(__name__)
REVOKE_TIMEOUT = 120.0


def token_valid(client: Any, pod: str, token: str, deadline: Deadline) -> bool:
    """Whether ``token`` still authenticates (lookup-self: 403/401/400 = revoked or never valid)."""
    resp = call(client, "GET", "auth/token/lookup-self", token=token, deadline=deadline)
    if resp.status_code in (400, 401, 403):
        return False
    expect(resp, "root token lookup", pod, [token])
    return True


def revoke_root(clients_by_pod: Mapping[str, Any], root_token: str, *, deadline: Deadline | None = None) -> bool:
    """Make sure ``root_token`` is revoked; True if this call revoked it, False if it already was."""
    deadline = deadline or Deadline.after(REVOKE_TIMEOUT)
    leader = Leader(clients_by_pod, deadline, secrets=(root_token,))

    def valid(client: Any, pod: str) -> bool:
        return token_valid(client, pod, root_token, deadline)

    def revoke(client: Any, pod: str) -> None:
        resp = call(client, "POST", "auth/token/revoke-self", token=root_token, deadline=deadline)
        expect(resp, "revoke root token", pod, [root_token])

    if not leader.run("root token lookup", valid):
        return False
    try:
        revoke(leader.client, leader.pod)
        return True
    except RETRYABLE as exc:
        # The server may have revoked it and only the answer was lost: ask instead of guessing.
        log.warning("pod %s: no answer to the root token revoke (%s); checking it", leader.pod, type(exc).__name__)
    if leader.run("root token lookup after a lost revoke answer", valid):
        leader.run("revoke root token", revoke)
    return True
