"""Unseal shares: de-duplicated, fed to one pod in combinations until one unseals it.

Vault counts a share it has already seen in the current attempt as no progress, and a combination holding a
wrong share fails only once the threshold is reached (HTTP 400, progress back to 0). So a share listed twice,
or one bad share before enough good ones, would fail a naive "first threshold shares" attempt although
enough valid shares were supplied. Here shares are compared by their decoded bytes (hex and base64 forms of
one share are the same share); after a failed combination the pod's unseal progress is reset and the next
combination is tried; a share the server rejects as malformed is dropped for good. The combination that
worked is tried first on the next pod.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import re
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from components.vault_runtime.api import Deadline, VaultOperationError, call, errors, expect
from components.vault_runtime.values import as_int

# C(5, 3) = 10, C(7, 4) = 35: enough for any sane share count, bounded for absurd ones.
MAX_COMBINATIONS = 40
_HEX = re.compile(r"[0-9a-fA-F]+")


def share_bytes(share: str) -> bytes | None:
    """The share's raw bytes from its hex or base64 form; None when it is neither."""
    text = share.strip()
    if _HEX.fullmatch(text) and len(text) % 2 == 0:
        return bytes.fromhex(text)
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def distinct(shares: Iterable[str]) -> list[str]:
    """Shares in their given order, each distinct share once (compared by decoded bytes)."""
    seen: set[bytes | str] = set()
    out = []
    for share in shares:
        if not share:
            continue
        identity: bytes | str = share_bytes(share) or share
        if identity not in seen:
            seen.add(identity)
            out.append(share)
    return out


class ShareBook:
    """The shares of one run, shared by the per-pod unseal threads (thread-safe)."""

    def __init__(self, shares: Iterable[str]) -> None:
        self.shares = distinct(shares)
        self._rejected: set[str] = set()
        self._good: tuple[str, ...] | None = None
        self._lock = threading.Lock()

    def usable(self) -> list[str]:
        with self._lock:
            return [s for s in self.shares if s not in self._rejected]

    def reject(self, share: str) -> None:
        with self._lock:
            self._rejected.add(share)

    def worked(self, combination: tuple[str, ...]) -> None:
        with self._lock:
            self._good = combination

    def combinations(self, threshold: int) -> Iterator[tuple[str, ...]]:
        """The last working combination first, then every other one in share order (bounded)."""
        with self._lock:
            good = self._good
        if good is not None and len(good) == threshold:
            yield good
        for count, combination in enumerate(itertools.combinations(self.usable(), threshold)):
            if count >= MAX_COMBINATIONS:
                return
            if combination != good and not any(s in self._rejected for s in combination):
                yield combination


def _reset(client: Any, pod: str, deadline: Deadline) -> None:
    expect(call(client, "PUT", "sys/unseal", body={"reset": True}, deadline=deadline), "unseal reset", pod)


def _try(client: Any, pod: str, combination: tuple[str, ...], book: ShareBook, deadline: Deadline) -> bool:
    """Submit one combination; True once the pod is unsealed (or a Raft follower is completing its join)."""
    for share in combination:
        resp = call(client, "PUT", "sys/unseal", body={"key": share}, deadline=deadline)
        if resp.status_code == 400:
            if "hex or base64" in errors(resp) or "length" in errors(resp):
                book.reject(share)  # malformed: no combination with it can work
            return False  # or the combination failed to decrypt the keyring: progress is back to 0
        out = expect(resp, "unseal", pod, secrets=book.shares)
        if not out.get("sealed", True) or not out.get("progress"):
            return True
    return False


def unseal_pod(client: Any, pod: str, book: ShareBook, threshold: int | None, deadline: Deadline) -> bool:
    """Unseal one sealed pod with the book's shares; False if it was not sealed (nothing sent)."""
    status = expect(call(client, "GET", "sys/seal-status", deadline=deadline), "sys/seal-status", pod)
    if not status.get("sealed", True):
        return False
    needed = as_int(status.get("t")) or threshold or len(book.shares)
    if len(book.usable()) < needed:
        raise VaultOperationError(
            f"pod {pod}: {len(book.usable())} distinct valid unseal share(s) available but the threshold is "
            f"{needed}; supply at least {needed} decrypted shares (config vaultUnsealKeys when the shares are "
            "PGP-encrypted)"
        )
    if status.get("progress"):
        # A half-done attempt (an earlier run died mid-way) would mix with ours: start clean.
        _reset(client, pod, deadline)
    tried = 0
    for combination in book.combinations(needed):
        tried += 1
        if _try(client, pod, combination, book, deadline):
            book.worked(combination)
            return True
        _reset(client, pod, deadline)
    rejected = len(book.shares) - len(book.usable())
    raise VaultOperationError(
        f"pod {pod}: still sealed after trying {tried} combination(s) of {needed} out of {len(book.shares)} "
        f"distinct share(s) ({rejected} rejected as malformed): the shares do not reach the threshold for this "
        f"Vault; supply at least {needed} valid shares"
    )
