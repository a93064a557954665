"""(3) Restarted pods come back sealed: the next run's VaultUnseal diff notices and its update unseals them.

Through the engine path (tests/fixtures/vault_engine_stack.py), on one fresh 3-node cluster: restart the leader (a
follower takes over; only the restarted pod gets unseal calls), then a wrong-key attempt (clear error, no key
in it), then restart every node (pod 0 first, then the rest, until Raft has quorum again).
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from tests.fixtures.openbao import BaoCluster
from tests.fixtures.vault_engine_stack import VaultStack
from tests.harness.engine import DynamicProviderServer, ProviderError

# Registers the OpenBao fixtures even when tests/conftest.py does not list the plugin (idempotent if it does).
pytest_plugins = ["tests.fixtures.openbao"]
pytestmark = pytest.mark.slow


def states(cluster: BaoCluster) -> dict[str, dict]:
    return {pod: cluster.health(pod) for pod in cluster.pods}


def test_restarted_nodes_are_unsealed_by_the_next_run(
    bao_cluster: BaoCluster, provider_server: DynamicProviderServer, tmp_path: Path
) -> None:
    connect = bao_cluster.direct_connect(record=str(tmp_path / "requests.log"))
    stack = VaultStack(provider_server, bao_cluster, connect)
    stack.up(("init", "unseal"))
    assert stack.up(("init", "unseal")) == {"init": "same", "unseal": "same"}

    # One node: the leader. A follower takes over; vault-0 rejoins sealed.
    bao_cluster.restart_node("vault-0")
    assert states(bao_cluster)["vault-0"]["sealed"]
    mark = len(connect.recorded())
    assert stack.up(("unseal",)) == {"unseal": "updated"}
    assert stack["unseal"].outs["unsealed_pods"] == ["vault-0"]
    written_ports = {port for method, _, port in connect.recorded()[mark:] if method != "GET"}
    assert written_ports == {bao_cluster.ports["vault-0"]}  # the unsealed pods got no writes
    assert stack.up(("unseal",)) == {"unseal": "same"}

    # A wrong share: a clear error naming the pod, and the share is not in it; the state is unchanged.
    bao_cluster.restart_node("vault-2")
    bogus = [base64.b64encode(os.urandom(33)).decode() for _ in range(2)]
    stack.unseal_keys, stack.unseal_timeout = bogus, 20
    before = dict(stack["unseal"].outputs)
    with pytest.raises(ProviderError) as err:
        stack.up(("unseal",))
    assert "pod vault-2" in err.value.details
    assert not any(b in err.value.details for b in bogus)
    assert stack["unseal"].outputs == before
    stack.unseal_keys, stack.unseal_timeout = None, 60
    assert stack.up(("unseal",)) == {"unseal": "updated"}
    assert stack["unseal"].outs["unsealed_pods"] == ["vault-2"]

    # Every node: pod 0 first (it holds the Raft data like the others; no leader until a majority is unsealed).
    bao_cluster.restart_all()
    assert all(s["sealed"] for s in states(bao_cluster).values())
    assert stack.up(("unseal",)) == {"unseal": "updated"}
    assert stack["unseal"].outs["unsealed_pods"][0] == "vault-0"
    assert sorted(stack["unseal"].outs["unsealed_pods"]) == ["vault-0", "vault-1", "vault-2"]
    after = states(bao_cluster)
    assert all(not s["sealed"] for s in after.values())
    assert sum(not s["standby"] for s in after.values()) == 1
    assert stack.up(("unseal",)) == {"unseal": "same"}
