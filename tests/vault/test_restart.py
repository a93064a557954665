"""(3) Restarted pods come back sealed: the next run's VaultUnseal diff notices and its update unseals them.

One fresh 3-node cluster: restart the leader (a follower takes over; only the restarted pod gets unseal
calls), then a wrong-key attempt (clear error, no key in it), then restart every node (pod 0 first, then the
rest, until Raft has quorum again), then a pod that stays down (reported, and a timeout naming it).
"""

from __future__ import annotations

import base64
import os

import pytest

from components.vault_runtime.operations import VaultOperationError
from components.vault_runtime.providers import VaultInitProvider, VaultUnsealProvider, init_inputs, unseal_inputs
from tests.fixtures.openbao import BaoCluster, RecordingSession

# Registers the OpenBao fixtures even when tests/conftest.py does not list the plugin (idempotent if it does).
pytest_plugins = ["tests.fixtures.openbao"]
pytestmark = pytest.mark.slow


def states(cluster: BaoCluster) -> dict[str, dict]:
    return {pod: cluster.health(pod) for pod in cluster.pods}


def test_restarted_nodes_are_unsealed_by_the_next_run(bao_cluster: BaoCluster) -> None:
    log: list[tuple[str, str, int]] = []
    connect = bao_cluster.connect_factory(lambda: RecordingSession(log))
    conn = bao_cluster.connection()
    init = VaultInitProvider(connect).create(init_inputs(connection=conn, secret_shares=3, secret_threshold=2))
    keys = (init.outs or {})["keys_b64"]
    news = unseal_inputs(connection=conn, keys=keys, threshold=2, timeout_seconds=60)
    provider = VaultUnsealProvider(connect)
    state = provider.create(news)
    assert provider.diff(state.id, state.outs or {}, news).changes is False

    # One node: the leader. A follower takes over; vault-0 rejoins sealed.
    bao_cluster.restart_node("vault-0")
    assert states(bao_cluster)["vault-0"]["sealed"]
    assert provider.diff(state.id, state.outs or {}, news).changes is True
    log.clear()
    outs = provider.update(state.id, state.outs or {}, news).outs or {}
    assert outs["unsealed_pods"] == ["vault-0"]
    written_ports = {port for method, _, port in log if method != "GET"}
    assert written_ports == {bao_cluster.ports["vault-0"]}  # the unsealed pods got no writes
    assert provider.diff(state.id, outs, news).changes is False

    # A wrong share: a clear error naming the pod, and the share is not in it.
    bao_cluster.restart_node("vault-2")
    bogus = [base64.b64encode(os.urandom(33)).decode() for _ in range(2)]
    with pytest.raises(VaultOperationError, match="pod vault-2") as err:
        provider.update(state.id, outs, {**news, "keys": bogus, "timeout_seconds": 20})
    assert not any(b in str(err.value) for b in bogus)
    outs = provider.update(state.id, outs, news).outs or {}
    assert outs["unsealed_pods"] == ["vault-2"]

    # Every node: pod 0 first (it holds the Raft data like the others; no leader until a majority is unsealed).
    bao_cluster.restart_all()
    assert all(s["sealed"] for s in states(bao_cluster).values())
    assert provider.diff(state.id, outs, news).changes is True
    outs = provider.update(state.id, outs, news).outs or {}
    assert outs["unsealed_pods"][0] == "vault-0"
    assert sorted(outs["unsealed_pods"]) == ["vault-0", "vault-1", "vault-2"]
    after = states(bao_cluster)
    assert all(not s["sealed"] for s in after.values())
    assert sum(not s["standby"] for s in after.values()) == 1
    assert provider.diff(state.id, outs, news).changes is False

    # A pod that does not come back: the diff reports it, the update times out naming it.
    bao_cluster.stop_node("vault-2")
    assert provider.diff(state.id, outs, news).changes is True
    with pytest.raises(VaultOperationError, match=r"pod vault-2: timed out waiting for the pod to answer"):
        provider.update(state.id, outs, {**news, "timeout_seconds": 1})
