"""Unseal every sealed pod, and succeed as soon as Raft can serve: a leader is active and a quorum unsealed.

One thread per pod probes it and, once it is reachable, initialised (joined) and allowed to, feeds it shares
(:mod:`shares`). Pods with Raft data go in order: when nothing is unsealed yet, only the first ready pod
(the leader, or pod 0 after a full restart) gets shares; the others follow once one is unsealed (a fresh
follower refuses shares until its retry_join reached an unsealed leader). A coordinator watches the states:

- every pod unsealed and one active: done;
- one active, a majority unsealed, and every other pod unreachable for ``grace`` seconds (deleted, crashed,
  frozen, port-forward refused): done, those pods are reported as unavailable (the provider turns them into
  a warning naming each; the next run's diff sees them and retries);
- the deadline: done with the same report if Raft is serving, else :class:`UnsealTimeout` naming each pod.

Every call is bounded by the remaining deadline (:mod:`api`), so a frozen pod costs at most ``grace`` when
the others have quorum, and never more than the timeout.

Under an auto-unseal seal (``auto_unseal=True``) no share exists: the same threads only watch the pods until
the seal has unsealed them. With PGP-encrypted shares and none supplied, :func:`unseal_on_demand` asks for
them (:mod:`share_source`) only when a pod is actually sealed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from components.vault_runtime.api import MIN_CALL_TIMEOUT, Deadline, ServerError, UnsealTimeout, VaultOperationError
from components.vault_runtime.health import HEALTH_TIMEOUT, Health, health, healths, summary
from components.vault_runtime.steps import share_source
from components.vault_runtime.steps.shares import ShareBook, unseal_pod

# How long a pod may stay unreachable before a run that already has quorum stops waiting for it.
UNREACHABLE_GRACE = 5.0
# How long the leader choice waits for every pod's first answer (a frozen pod never gives one).
FIRST_ROUND_WAIT = 0.5
# A pod that got its threshold of shares but still reports sealed is given this long before new shares.
RESUBMIT_AFTER = 15.0
# Probe interval of a pod that is already unsealed (only the leader check needs it).
UNSEALED_POLL = 0.25


@dataclass
class UnsealReport:
    """What a run did: pods it unsealed (in order) and pods it could not reach (pod -> last state)."""

    unsealed: list[str] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)

    def warning(self) -> str:
        if not self.unavailable:
            return ""
        pods = ", ".join(f"pod {pod} ({state})" for pod, state in self.unavailable.items())
        return (
            f"Vault is unsealed with quorum, but {pods} could not be unsealed in this run; it stays sealed "
            "until it is reachable: check `kubectl get pods` / `kubectl logs`, the next `pulumi up` retries it"
        )


def quorum(pods: Sequence[str]) -> int:
    return len(pods) // 2 + 1


class _Run:
    """Shared state of one unseal run: the per-pod threads write it, the coordinator reads it."""

    def __init__(
        self, clients: Mapping[str, Any], book: ShareBook, threshold: int | None, deadline: Deadline, poll: float
    ) -> None:
        self.clients, self.book, self.threshold, self.deadline, self.poll = clients, book, threshold, deadline, poll
        self.pods = list(clients)
        self.started = time.monotonic()
        self.states: dict[str, Health | None] = dict.fromkeys(self.pods)
        self.last_answer: dict[str, float] = {}
        self.submitted: list[str] = []
        self.failure: VaultOperationError | None = None
        self.lead: str | None = None
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def record(self, pod: str, h: Health) -> None:
        with self.lock:
            self.states[pod] = h
            if h.reachable:
                self.last_answer[pod] = time.monotonic()

    def may_submit(self, pod: str) -> bool:
        """Leader first: with nothing unsealed, only the first ready pod (in pod order) gets shares."""
        with self.lock:
            states = dict(self.states)
            if any(h is not None and h.reachable and not h.sealed for h in states.values()):
                return True
            lead = states.get(self.lead) if self.lead else None
            if lead is None or not lead.reachable:
                all_probed = all(h is not None for h in states.values())
                if not all_probed and time.monotonic() - self.started < FIRST_ROUND_WAIT:
                    return False  # let the first round finish so pod order decides, not thread timing
                ready = [p for p, h in states.items() if h is not None and h.reachable and h.initialized]
                self.lead = ready[0] if ready else None
            return pod == self.lead

    def worker(self, pod: str) -> None:
        client = self.clients[pod]
        submitted_at = float("-inf")
        while not self.stop.is_set() and self.deadline.remaining() >= MIN_CALL_TIMEOUT:
            h = health(client, self.deadline)
            if self.deadline.remaining() < MIN_CALL_TIMEOUT:
                break  # a probe cut short by the deadline says nothing about the pod
            self.record(pod, h)
            # After the threshold a follower stays sealed while it completes its Raft join: give it time
            # before feeding it shares again (it may also have restarted meanwhile).
            settling = time.monotonic() - submitted_at < RESUBMIT_AFTER
            wants = h.reachable and h.sealed and h.initialized and bool(self.book.shares)  # auto-unseal: watch only
            if wants and not settling and self.may_submit(pod):
                try:
                    if unseal_pod(client, pod, self.book, self.threshold, self.deadline):
                        submitted_at = time.monotonic()
                        with self.lock:
                            if pod not in self.submitted:
                                self.submitted.append(pod)
                except (requests.RequestException, ServerError):
                    pass  # pod restarting or still joining: probe again
                except VaultOperationError as exc:  # the shares do not unseal it: retrying cannot help
                    with self.lock:
                        self.failure = self.failure or exc
                    return
                continue
            interval = UNSEALED_POLL if h.reachable and not h.sealed else self.poll
            self.stop.wait(interval)

    def outcome(self, grace: float, final: bool) -> UnsealReport | None:
        """The report once the run may end (see the module docstring), else None."""
        with self.lock:
            states, submitted = dict(self.states), list(self.submitted)
        now = time.monotonic()
        unsealed = {p for p, h in states.items() if h is not None and h.reachable and not h.sealed}
        serving = any(h is not None and h.active for h in states.values()) and len(unsealed) >= quorum(self.pods)
        pending = [p for p in self.pods if p not in unsealed]

        def gone(pod: str) -> bool:
            h = states[pod]
            return (h is None or not h.reachable) and now - self.last_answer.get(pod, self.started) >= grace

        if serving and (final or all(gone(p) for p in pending)):
            unavailable = {p: (states[p].describe() if states[p] else "no answer") for p in pending}  # type: ignore[union-attr]
            return UnsealReport([p for p in submitted if p in unsealed], unavailable)
        return None


def unseal_all(
    clients_by_pod: Mapping[str, Any],
    keys: Sequence[str],
    timeout: float = 120.0,
    *,
    threshold: int | None = None,
    poll_interval: float = 0.05,
    grace: float = UNREACHABLE_GRACE,
    auto_unseal: bool = False,
) -> UnsealReport:
    """Unseal every sealed pod it can reach within ``timeout`` seconds (see the module docstring); with
    ``auto_unseal`` wait for the seal to unseal them."""
    deadline = Deadline.after(timeout)
    book = ShareBook([] if auto_unseal else keys)
    run = _Run(clients_by_pod, book, threshold, deadline, poll_interval)
    if book.shares or auto_unseal:
        return _coordinate(run, grace, auto_unseal=auto_unseal)
    states = healths(clients_by_pod, deadline)
    for pod, h in states.items():
        run.record(pod, h)
    if all(h.reachable and not h.sealed for h in states.values()) and any(h.active for h in states.values()):
        return UnsealReport()
    report = run.outcome(grace=0.0, final=True)
    if report is not None:
        return report  # quorum without keys: the sealed pods become a warning
    sealed = ", ".join(p for p, h in states.items() if not (h.reachable and not h.sealed))
    raise VaultOperationError(
        f"pods {sealed} need unsealing but no unseal keys were supplied: with PGP-encrypted or adopted "
        f"shares, supply the decrypted shares in {share_source.ENV_VAR} (comma- or newline-separated) for "
        "`pulumi up`, or set them with `pulumi config set --secret vaultUnsealKeys '[...]'`"
    )


def unseal_on_demand(
    clients_by_pod: Mapping[str, Any],
    timeout: float,
    *,
    threshold: int | None,
    secrets: list[str],
    tty_path: str = share_source.TTY,
) -> UnsealReport:
    """PGP-encrypted shares: ask for decrypted ones (environment, else a prompt) only if a pod is sealed.

    All pods unsealed: no share is asked for. Only unreachable pods while Raft serves: the usual warning.
    The shares obtained are appended to ``secrets`` (the caller redacts errors with it), never returned.
    """
    states = healths(clients_by_pod, Deadline.after(min(timeout, 30.0)))
    sealed = [p for p, h in states.items() if h.reachable and h.sealed]
    if not sealed:
        return unseal_all(clients_by_pod, [], timeout, threshold=threshold)
    count = threshold or len(clients_by_pod)
    shares = share_source.obtain(sealed, count, tty_path=tty_path)
    if not shares:
        raise VaultOperationError(share_source.missing_message(sealed, count))
    secrets.extend(shares)
    return unseal_all(clients_by_pod, shares, timeout, threshold=threshold)


def _coordinate(run: _Run, grace: float, *, auto_unseal: bool = False) -> UnsealReport:
    threads = [
        threading.Thread(target=run.worker, args=(pod,), name=f"vault-unseal-{pod}", daemon=True) for pod in run.pods
    ]
    for thread in threads:
        thread.start()
    try:
        while True:
            if run.failure is not None:
                raise run.failure
            report = run.outcome(grace, final=run.deadline.expired())
            if report is not None:
                return report
            if run.deadline.expired():
                with run.lock:
                    states = {p: h or Health(reachable=False, error="no answer") for p, h in run.states.items()}
                seal = (
                    "the auto-unseal seal did not unseal them: check in `kubectl logs <pod>` that the seal "
                    "(transit Vault or KMS) is reachable and its credentials valid; "
                    if auto_unseal
                    else ""
                )
                raise UnsealTimeout(
                    f"timed out: Raft has no active leader with a majority of pods unsealed ({summary(states)}); "
                    f"{seal}check that the pods are Running (`kubectl get pods`, `kubectl logs <pod>`), then run "
                    "`pulumi up` again"
                )
            time.sleep(run.poll)
    finally:
        # Threads stuck in a call end by themselves: every call is bounded by the deadline.
        run.stop.set()
        for thread in threads:
            thread.join(timeout=0.05)


def sealed_pods(clients_by_pod: Mapping[str, Any], cap: float = HEALTH_TIMEOUT) -> list[str]:
    """Pods that are sealed or not answering (read-only, parallel; what VaultUnseal's diff reports)."""
    return [p for p, h in healths(clients_by_pod, cap=cap).items() if not h.reachable or h.sealed]
