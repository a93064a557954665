"""Print the wall time of a first `pulumi up` of the Vault steps: healthy, one pod down, one pod frozen.

Not a test. Each round starts fresh 3-node OpenBao Raft clusters (tests/fixtures/openbao.py, TLS on 127.0.0.1)
and runs init -> unseal -> bootstrap -> root-token revoke through the engine path (tests/harness/engine.py:
a real ``python -m pulumi.dynamic`` process over gRPC, direct connections to the nodes), timing the run with
the cluster start excluded:

- healthy: all three nodes up;
- one pod down: vault-2 stopped before the run (the run must complete and warn about it);
- frozen pod: vault-2 SIGSTOPped before the run (it accepts connections and never answers), with the
  unseal timeout given by ``--frozen-timeout``;
- frozen re-run: the next run with vault-2 still frozen (unseal timeout 10 s);
- no-op re-run: the same four steps again on the healthy cluster (what `pulumi up` does when nothing
  changed: Check + Diff, only health reads).

Most of a healthy run is the server's own time: followers join through retry_join every ~2 s. With a frozen
peer, a follower's retry_join waits ~10 s on it, which the run cannot shorten.
Run: .venv/bin/python benchmarks/vault_bootstrap.py [--rounds N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.fixtures.openbao import BaoCluster, running_cluster  # noqa: E402
from tests.fixtures.vault_engine_stack import VaultStack  # noqa: E402
from tests.harness.engine import DynamicProviderServer  # noqa: E402

SCENARIOS = ("healthy", "one pod down", "frozen pod", "frozen re-run", "no-op re-run")


def first_run(server: DynamicProviderServer, cluster: BaoCluster, timeout: float) -> tuple[float, VaultStack]:
    stack = VaultStack(server, cluster, cluster.direct_connect(), unseal_timeout=timeout)
    start = time.perf_counter()
    result = stack.up()
    elapsed = time.perf_counter() - start
    assert result == dict.fromkeys(result, "created"), result
    return elapsed, stack


def run_round(base: Path, server: DynamicProviderServer, frozen_timeout: float) -> dict[str, float]:
    times: dict[str, float] = {}
    with running_cluster(base) as cluster:
        times["healthy"], stack = first_run(server, cluster, 60)
        start = time.perf_counter()
        assert set(stack.up().values()) == {"same"}
        times["no-op re-run"] = time.perf_counter() - start
    with running_cluster(base) as cluster:
        cluster.stop_node("vault-2")
        times["one pod down"], stack = first_run(server, cluster, 60)
        assert stack["unseal"].outs["unavailable_pods"] == ["vault-2"]
    with running_cluster(base) as cluster:
        cluster.freeze_node("vault-2")
        try:
            times["frozen pod"], stack = first_run(server, cluster, frozen_timeout)
            assert stack["unseal"].outs["unavailable_pods"] == ["vault-2"]
            stack.unseal_timeout = 10.0
            start = time.perf_counter()
            assert stack.up()["unseal"] == "updated"  # diff sees it, the update retries it and warns again
            times["frozen re-run"] = time.perf_counter() - start
        finally:
            cluster.thaw_node("vault-2")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--frozen-timeout", type=float, default=30.0, help="unseal timeout of the frozen-pod run")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="vault-bench-"))
    rows: list[dict[str, float]] = []
    try:
        with DynamicProviderServer() as server:
            for _ in range(args.rounds):
                rows.append(run_round(base, server, args.frozen_timeout))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print("Vault first run (init, unseal, bootstrap, revoke) through the engine path, 3-node OpenBao Raft + TLS,")
    print(f"median of {args.rounds} (min-max); frozen-pod unseal timeout {args.frozen_timeout:.0f} s")
    for name in SCENARIOS:
        values = [row[name] for row in rows]
        print(f"{name:<14}{statistics.median(values):>8.2f} s   ({min(values):.2f}-{max(values):.2f})")


if __name__ == "__main__":
    main()
