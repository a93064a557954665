"""A Vault runtime that degrades gracefully, through the engine path, on a real 3-node OpenBao Raft cluster.

Each test runs the Vault steps as `pulumi up` does (tests/fixtures/vault_engine_stack.py: a real
``python -m pulumi.dynamic`` process over gRPC) and disturbs the cluster or the provider process: a node
down for the whole run, a frozen node (SIGSTOP), duplicated and bad shares, a leader step-down in the middle
of the bootstrap, a lost revoke answer, and crashes of the provider process at the worst moments.
"""

from __future__ import annotations

import base64
import os
import threading
import time

import pytest

from tests.fixtures.openbao import BaoCluster
from tests.fixtures.vault_engine_stack import VaultStack, approle_login, token_works, wait_for_voters
from tests.fixtures.vault_faults import Fault
from tests.harness.engine import DynamicProviderServer, ProviderCrashed, ProviderError, timed

pytest_plugins = ["tests.fixtures.openbao"]
pytestmark = pytest.mark.slow

ALL_STEPS = {"init": "created", "unseal": "created", "bootstrap": "created", "revoke": "created"}


def stack_on(server: DynamicProviderServer, cluster: BaoCluster, **kwargs) -> VaultStack:
    return VaultStack(server, cluster, cluster.direct_connect(), **kwargs)


def assert_serving(cluster: BaoCluster, stack: VaultStack) -> None:
    """The run's credentials work and the root token is gone."""
    boot = stack["bootstrap"].outs
    assert approle_login(cluster, boot["role_id"], boot["secret_id"]) == 200
    assert not token_works(cluster, stack["init"].outs["root_token"])


# --- pods that do not answer --------------------------------------------------------------------------------


def test_one_pod_down_for_the_whole_run(bao_cluster_factory, provider_server: DynamicProviderServer) -> None:
    healthy = bao_cluster_factory()
    healthy_run, healthy_seconds = timed(stack_on(provider_server, healthy).up)
    assert healthy_run == ALL_STEPS
    healthy.kill()

    degraded = bao_cluster_factory()
    degraded.stop_node("vault-2")  # before anything: the pod is missing for the whole run
    stack = stack_on(provider_server, degraded)
    run, seconds = timed(stack.up)
    assert run == ALL_STEPS  # bootstrap and revoke ran too
    assert stack["unseal"].outs["unavailable_pods"] == ["vault-2"]
    assert "pod vault-2" in provider_server.stderr_text()  # the warning names the pod
    assert_serving(degraded, stack)
    assert seconds <= healthy_seconds + 15, f"healthy {healthy_seconds:.1f} s, one pod down {seconds:.1f} s"

    # The next run retries it: the diff sees it, the update unseals it once it is back.
    degraded.start_node("vault-2")
    assert stack.up() == {"init": "same", "unseal": "updated", "bootstrap": "same", "revoke": "same"}
    assert stack["unseal"].outs["unavailable_pods"] == []
    assert stack["unseal"].outs["unsealed_pods"] == ["vault-2"]
    assert not degraded.health("vault-2")["sealed"]


def test_frozen_pod_costs_at_most_the_timeout(bao_cluster: BaoCluster, provider_server: DynamicProviderServer) -> None:
    """SIGSTOP: the kernel still accepts connections, the pod never answers. First run on a fresh cluster
    (the follower's own retry_join waits ~10 s on the frozen peer, so that run needs a longer timeout), then
    a run on the running cluster with a 10 s timeout."""
    timeout = 30.0
    stack = stack_on(provider_server, bao_cluster, unseal_timeout=timeout)
    bao_cluster.freeze_node("vault-2")
    try:
        run, seconds = timed(stack.up)
        assert run == ALL_STEPS
        assert seconds <= timeout + 5, f"first run with a frozen pod took {seconds:.1f} s"
        assert stack["unseal"].outs["unavailable_pods"] == ["vault-2"]
        assert "pod vault-2 (unreachable" in provider_server.stderr_text()
        # A later run with the pod still frozen: the diff and the update are bounded too.
        stack.unseal_timeout = 10.0
        run, seconds = timed(stack.up)
        assert run["unseal"] == "updated"
        assert seconds <= stack.unseal_timeout + 5, f"re-run with a frozen pod took {seconds:.1f} s"
    finally:
        bao_cluster.thaw_node("vault-2")
    assert_serving(bao_cluster, stack)
    stack.up()
    assert stack["unseal"].outs["unavailable_pods"] == [] and stack["unseal"].outs["unsealed_pods"] == ["vault-2"]


def test_no_quorum_fails_naming_the_pods(vault_stack: VaultStack) -> None:
    vault_stack.up()
    cluster = vault_stack.cluster
    cluster.stop()
    cluster.start_node("vault-0")  # one of three: no quorum possible
    vault_stack.unseal_timeout = 8
    with pytest.raises(ProviderError) as err:
        vault_stack.up(("unseal",))
    assert "Raft has no active leader" in err.value.details
    assert "vault-1: unreachable" in err.value.details and "vault-2: unreachable" in err.value.details
    assert not any(secret in err.value.details for secret in vault_stack.secrets)


# --- shares -------------------------------------------------------------------------------------------------


def sealed_again(stack: VaultStack) -> None:
    stack.cluster.restart_all()
    assert all(stack.cluster.health(pod)["sealed"] for pod in stack.cluster.pods)


def test_duplicated_and_bad_shares(vault_stack: VaultStack) -> None:
    vault_stack.up(("init", "unseal"))
    k = vault_stack["init"].outs["keys_b64"]
    hexes = vault_stack["init"].outs["keys"]
    bad = base64.b64encode(os.urandom(33)).decode()
    cases = [
        [k[0], k[0], k[1]],  # a share listed twice
        [hexes[0], k[0], k[1]],  # the same share in hex and base64
        [bad, k[0], k[1]],  # a bad share first
        [k[0], bad, k[1]],  # a bad share between good ones: the first pair fails, (k0, k1) works
        ["not-a-share!", k[1], k[2]],  # malformed: rejected by Vault, dropped
    ]
    for keys in cases:
        sealed_again(vault_stack)
        vault_stack.unseal_keys = keys
        assert vault_stack.up(("unseal",)) == {"unseal": "updated"}, keys
        assert sorted(vault_stack["unseal"].outs["unsealed_pods"]) == vault_stack.cluster.pods
        assert vault_stack["unseal"].outs["unavailable_pods"] == []

    sealed_again(vault_stack)
    for keys, message in (
        ([k[0], k[0], hexes[0]], "1 distinct valid unseal share(s) available but the threshold is 2"),
        ([bad, k[0]], "still sealed after trying 1 combination(s) of 2 out of 2 distinct share(s)"),
    ):
        vault_stack.unseal_keys = keys
        vault_stack.unseal_timeout = 20
        with pytest.raises(ProviderError) as err:
            vault_stack.up(("unseal",))
        assert "pod vault-0" in err.value.details and message in err.value.details
        assert not any(share in err.value.details for share in [*k, *hexes, bad])


# --- leader changes and crash safety of the bootstrap ---------------------------------------------------------


def test_leader_step_down_mid_bootstrap(vault_stack: VaultStack) -> None:
    cluster = vault_stack.cluster
    vault_stack.up(("init", "unseal"))
    root = vault_stack["init"].outs["root_token"]
    cluster.speed_up_autopilot(root)
    wait_for_voters(cluster, root, 3)  # a step-down needs another voter to take over
    leader = cluster.active_pod()
    # Right after the admin policy is written, the leader steps down: the next steps meet an election.
    vault_stack.set_faults("bootstrap", Fault("PUT", "/v1/sys/policies/acl/platform-admin", "step_down"))
    assert vault_stack.up(("bootstrap", "revoke")) == {"bootstrap": "created", "revoke": "created"}
    log = vault_stack.server.stderr_text()
    assert "waiting for the active node and retrying once" in log  # the 5xx during the election was retried
    assert cluster.active_pod() not in (None, leader)  # the election really happened
    assert_serving(cluster, vault_stack)


def test_lost_revoke_answer_keeps_credentials_and_revokes(vault_stack: VaultStack) -> None:
    vault_stack.up(("init", "unseal", "bootstrap"))
    boot = dict(vault_stack["bootstrap"].outs)  # in the state before the revoke step runs
    vault_stack.set_faults("revoke", Fault("POST", "/v1/auth/token/revoke-self", "lose_response"))
    assert vault_stack.up(("revoke",)) == {"revoke": "created"}
    assert vault_stack["revoke"].outs["revoked"] is True
    assert "no answer to the root token revoke" in vault_stack.server.stderr_text()
    assert vault_stack["bootstrap"].outs == boot
    assert_serving(vault_stack.cluster, vault_stack)


def test_crash_after_the_revoke_loses_nothing(vault_stack: VaultStack) -> None:
    vault_stack.up(("init", "unseal", "bootstrap"))
    vault_stack.set_faults("revoke", Fault("POST", "/v1/auth/token/revoke-self", "exit"))
    with pytest.raises(ProviderCrashed):
        vault_stack.up(("revoke",))
    assert vault_stack["revoke"].id is None  # the engine recorded nothing for the revoke step
    assert not token_works(vault_stack.cluster, vault_stack["init"].outs["root_token"])  # but it happened
    vault_stack.server.restart()  # the next `pulumi up`
    vault_stack.set_faults("revoke")
    assert vault_stack.up() == {"init": "same", "unseal": "same", "bootstrap": "same", "revoke": "created"}
    assert vault_stack["revoke"].outs["revoked_by_this_step"] is False
    assert_serving(vault_stack.cluster, vault_stack)


def secret_id_accessors(stack: VaultStack) -> list[str]:
    cluster, root = stack.cluster, stack["init"].outs["root_token"]
    resp = cluster.session().request(
        "LIST",
        f"{cluster.node(cluster.active_pod() or 'vault-0').addr}/v1/auth/approle/role/platform-admin/secret-id",
        headers={"X-Vault-Token": root},
        timeout=5,
    )
    return [] if resp.status_code == 404 else resp.json()["data"]["keys"]


def test_crash_after_secret_id_creation_leaves_exactly_one(vault_stack: VaultStack) -> None:
    """The provider dies right after Vault minted a secret_id: it never reaches the state. The next run
    mints the one it records and, holding the root token, destroys the orphan."""
    vault_stack.up(("init", "unseal"))
    vault_stack.set_faults("bootstrap", Fault("POST", "/v1/auth/approle/role/platform-admin/secret-id", "exit"))
    with pytest.raises(ProviderCrashed):
        vault_stack.up(("bootstrap",))
    assert vault_stack["bootstrap"].id is None
    assert len(secret_id_accessors(vault_stack)) == 1  # minted, never recorded: an orphan
    vault_stack.server.restart()  # the next `pulumi up`
    vault_stack.set_faults("bootstrap")
    assert vault_stack.up(("init", "unseal", "bootstrap")) == {"init": "same", "unseal": "same", "bootstrap": "created"}
    assert "destroyed 1 stray secret-id(s)" in vault_stack.server.stderr_text()
    accessors = secret_id_accessors(vault_stack)
    assert len(accessors) == 1
    recorded = vault_stack.cluster.session().post(
        f"{vault_stack.cluster.node(vault_stack.cluster.active_pod() or 'vault-0').addr}"
        "/v1/auth/approle/role/platform-admin/secret-id/lookup",
        json={"secret_id": vault_stack["bootstrap"].outs["secret_id"]},
        headers={"X-Vault-Token": vault_stack["init"].outs["root_token"]},
        timeout=5,
    )
    assert recorded.json()["data"]["secret_id_accessor"] == accessors[0]  # the survivor is the recorded one
    assert vault_stack.up(("revoke",)) == {"revoke": "created"}
    assert_serving(vault_stack.cluster, vault_stack)


def test_revoke_waits_for_a_leader(vault_stack: VaultStack) -> None:
    """No active node for a moment (all sealed, then unsealed in the background): the step waits for one."""
    vault_stack.up(("init", "unseal", "bootstrap"))
    cluster = vault_stack.cluster
    cluster.restart_all()
    keys = vault_stack["init"].outs["keys_b64"]

    def unseal_later() -> None:
        time.sleep(2)
        for node in cluster.nodes:
            for key in keys[:2]:
                cluster.session().put(f"{node.addr}/v1/sys/unseal", json={"key": key}, timeout=10)

    thread = threading.Thread(target=unseal_later, daemon=True)
    thread.start()
    assert vault_stack.up(("revoke",)) == {"revoke": "created"}
    thread.join(timeout=30)
    assert not token_works(cluster, vault_stack["init"].outs["root_token"])
