"""Print Vault bootstrap wall time through the providers against a raw-API floor, and the no-op re-run time.

Not a test. Each round starts a fresh 3-node OpenBao Raft cluster (tests/fixtures/openbao.py, TLS on
127.0.0.1) and times, with the cluster start excluded:

- providers: VaultInit.create + VaultUnseal.create (3 pods) + VaultBootstrap.create, direct connections;
- floor: the same API calls with plain ``requests`` and no safety (no read-before-write, no login check):
  sys/init, sys/unseal on pod 0, followers polled until joined then unsealed in parallel, wait for all unsealed
  and a leader, then approle enable, policy, role, role-id, secret-id, root revoke;
- no-op re-run: the three providers' diff() on the bootstrapped cluster (what `pulumi up` does when nothing
  changed), directly and through the kubectl transport (a fake kubectl proxying, so it counts the subprocess
  start, not a real API server).

Most of the bootstrap time is the server's: followers join through retry_join every ~2 s and the last unseal
call blocks while the join completes. Run: .venv/bin/python benchmarks/vault_bootstrap.py [--rounds N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from components.vault_runtime.admin_policy import admin_policy_hcl  # noqa: E402
from components.vault_runtime.providers import (  # noqa: E402
    VaultBootstrapProvider,
    VaultInitProvider,
    VaultUnsealProvider,
    bootstrap_inputs,
    init_inputs,
    unseal_inputs,
)
from tests.fixtures.openbao import BaoCluster, install_fake_kubectl, running_cluster  # noqa: E402

SHARES, THRESHOLD = 3, 2
POLL = 0.05


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def providers_bootstrap(cluster: BaoCluster) -> tuple[dict[str, float], dict]:
    connect = cluster.connect_factory()
    conn = cluster.connection()
    t: dict[str, float] = {}
    state: dict = {}
    start = time.perf_counter()
    state["init_in"] = init_inputs(connection=conn, secret_shares=SHARES, secret_threshold=THRESHOLD)
    state["init"] = VaultInitProvider(connect).create(state["init_in"])
    t["init"] = time.perf_counter() - start
    outs = state["init"].outs
    state["unseal_in"] = unseal_inputs(connection=conn, keys=outs["keys_b64"], threshold=THRESHOLD)
    t["unseal"] = timed(lambda: state.update(unseal=VaultUnsealProvider(connect).create(state["unseal_in"])))
    state["boot_in"] = bootstrap_inputs(connection=conn, root_token=outs["root_token"])
    t["bootstrap"] = timed(lambda: state.update(boot=VaultBootstrapProvider(connect).create(state["boot_in"])))
    t["total"] = time.perf_counter() - start
    return t, state


def floor_bootstrap(cluster: BaoCluster) -> dict[str, float]:
    session = cluster.session()
    addrs = [n.addr for n in cluster.nodes]

    def health(addr: str) -> dict:
        try:
            return session.get(
                f"{addr}/v1/sys/health",
                params={"standbyok": "true", "sealedcode": "200", "uninitcode": "200"},
                timeout=5,
            ).json()
        except requests.RequestException:
            return {}

    def until(addr: str, pred: Callable[[dict], bool]) -> None:
        while not pred(health(addr)):
            time.sleep(POLL)

    def unseal(addr: str, keys: list[str]) -> None:
        for key in keys[:THRESHOLD]:
            session.put(f"{addr}/v1/sys/unseal", json={"key": key}, timeout=30).raise_for_status()

    t: dict[str, float] = {}
    start = time.perf_counter()
    out = session.put(
        f"{addrs[0]}/v1/sys/init", json={"secret_shares": SHARES, "secret_threshold": THRESHOLD}, timeout=60
    ).json()
    t["init"] = time.perf_counter() - start
    keys, root = out["keys_base64"], out["root_token"]
    mark = time.perf_counter()
    unseal(addrs[0], keys)
    until(addrs[0], lambda h: h.get("sealed") is False)

    def follower(addr: str) -> None:
        until(addr, lambda h: bool(h.get("initialized")))
        unseal(addr, keys)

    with ThreadPoolExecutor(len(addrs) - 1) as pool:
        list(pool.map(follower, addrs[1:]))
    for addr in addrs:
        until(addr, lambda h: h.get("sealed") is False)
    t["unseal"] = time.perf_counter() - mark
    mark = time.perf_counter()
    headers = {"X-Vault-Token": root}
    leader = next(a for a in addrs if health(a).get("standby") is False)
    for method, path, body in (
        ("POST", "sys/auth/approle", {"type": "approle"}),
        ("PUT", "sys/policies/acl/platform-admin", {"policy": admin_policy_hcl()}),
        ("POST", "auth/approle/role/platform-admin", {"token_policies": ["platform-admin"], "token_ttl": 3600}),
        ("GET", "auth/approle/role/platform-admin/role-id", None),
        ("POST", "auth/approle/role/platform-admin/secret-id", {}),
        ("POST", "auth/token/revoke-self", None),
    ):
        session.request(method, f"{leader}/v1/{path}", json=body, headers=headers, timeout=10).raise_for_status()
    t["bootstrap"] = time.perf_counter() - mark
    t["total"] = time.perf_counter() - start
    return t


def noop_rerun(cluster: BaoCluster, state: dict, connect=None) -> float:
    start = time.perf_counter()
    init, unseal, boot = state["init"], state["unseal"], state["boot"]
    changes = [
        VaultInitProvider(connect).diff(init.id, init.outs, state["init_in"]).changes,
        VaultUnsealProvider(connect).diff(unseal.id, unseal.outs, state["unseal_in"]).changes,
        VaultBootstrapProvider(connect).diff(boot.id, boot.outs, state["boot_in"]).changes,
    ]
    elapsed = time.perf_counter() - start
    assert changes == [False, False, False], changes
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="vault-bench-"))
    ours: list[dict[str, float]] = []
    floor: list[dict[str, float]] = []
    noop_direct: list[float] = []
    noop_kubectl: list[float] = []
    try:
        for _ in range(args.rounds):
            run_round(base, ours, floor, noop_direct, noop_kubectl)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print_report(args.rounds, ours, floor, noop_direct, noop_kubectl)


def run_round(
    base: Path,
    ours: list[dict[str, float]],
    floor: list[dict[str, float]],
    noop_direct: list[float],
    noop_kubectl: list[float],
) -> None:
    """One fresh cluster through the providers (then the no-op re-runs), one fresh cluster for the floor."""
    with running_cluster(base) as cluster:
        times, state = providers_bootstrap(cluster)
        ours.append(times)
        noop_direct += [noop_rerun(cluster, state, cluster.connect_factory()) for _ in range(5)]
        with pytest.MonkeyPatch.context() as mp:
            install_fake_kubectl(base, cluster.ports, mp)
            noop_kubectl += [noop_rerun(cluster, state) for _ in range(3)]
    with running_cluster(base) as cluster:
        floor.append(floor_bootstrap(cluster))


def print_report(
    rounds: int,
    ours: list[dict[str, float]],
    floor: list[dict[str, float]],
    noop_direct: list[float],
    noop_kubectl: list[float],
) -> None:
    def med(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    print(f"Vault bootstrap, 3-node OpenBao Raft + TLS on 127.0.0.1, {SHARES}/{THRESHOLD} shares, median of {rounds}")
    print(f"{'step':<12}{'providers':>12}{'raw floor':>12}{'ratio':>8}")
    for key in ("init", "unseal", "bootstrap", "total"):
        a, b = med(ours, key), med(floor, key)
        print(f"{key:<12}{a:>11.2f}s{b:>11.2f}s{a / b:>8.2f}")
    print(f"no-op re-run (3 diffs), direct connections: {statistics.median(noop_direct) * 1000:.0f} ms")
    print(
        f"no-op re-run (3 diffs), via kubectl transport (fake kubectl): {statistics.median(noop_kubectl) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
