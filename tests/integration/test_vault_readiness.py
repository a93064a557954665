"""The rendered probe paths against a real OpenBao Raft cluster: a pod is Ready (kubelet: 200-399) exactly when it
is initialised and unsealed, and alive (liveness) whether sealed or not."""

from __future__ import annotations

import time

from components.charts.vault import LIVENESS_PATH, READINESS_PATH, vault_values
from tests.fixtures.config import settings_of
from tests.fixtures.openbao import BaoCluster


def probe(cluster: BaoCluster, node: int, path: str) -> int:
    # What the kubelet does: GET the path, any 2xx/3xx is a success.
    return cluster.session().get(f"{cluster.node(node).addr}{path}", timeout=5, allow_redirects=False).status_code


def ready(cluster: BaoCluster, node: int) -> bool:
    return 200 <= probe(cluster, node, READINESS_PATH) < 400


def alive(cluster: BaoCluster, node: int) -> bool:
    return 200 <= probe(cluster, node, LIVENESS_PATH) < 400


def test_the_rendered_probes_are_the_ones_checked_here():
    server = vault_values(settings_of("local"))["server"]
    assert server["readinessProbe"]["path"] == READINESS_PATH
    assert server["livenessProbe"]["path"] == LIVENESS_PATH


def test_uninitialised_and_sealed_pods_are_not_ready_unsealed_ones_are(bao_cluster: BaoCluster):
    assert not ready(bao_cluster, 0) and alive(bao_cluster, 0)  # uninitialised: 501
    init = bao_cluster.client(0).sys.initialize(secret_shares=1, secret_threshold=1)
    key = init["keys"][0]
    assert not ready(bao_cluster, 0) and alive(bao_cluster, 0)  # initialised, sealed: 503
    bao_cluster.client(0).sys.submit_unseal_key(key)
    deadline = time.monotonic() + 30
    while not ready(bao_cluster, 0) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ready(bao_cluster, 0)  # active
    # A standby that joined but is still sealed is NotReady; unsealed it is Ready (429 made 200 by standbyok).
    deadline = time.monotonic() + 30
    while not bao_cluster.health(1).get("initialized") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert bao_cluster.health(1)["sealed"] is True
    assert not ready(bao_cluster, 1) and alive(bao_cluster, 1)
    bao_cluster.client(1).sys.submit_unseal_key(key)
    deadline = time.monotonic() + 30
    while not ready(bao_cluster, 1) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ready(bao_cluster, 1) and bao_cluster.health(1)["standby"] is True
    # A restarted voter comes back sealed: NotReady again until unsealed (the PDB then counts it as down).
    bao_cluster.restart_node(1)
    assert not ready(bao_cluster, 1) and alive(bao_cluster, 1)
