"""Transit auto-unseal on two real OpenBao clusters: the rendered `seal "transit"` stanza, init with recovery keys,
and every pod unsealing itself after a restart, with no unseal call from anyone (tests/fixtures/transit_seal.py)."""

from __future__ import annotations

from tests.fixtures.transit_seal import TransitSealed, wait_until


def all_unsealed(env: TransitSealed) -> bool:
    health = [env.cluster.health(n.name) for n in env.cluster.nodes]
    return all(h["initialized"] and not h["sealed"] for h in health) and sum(not h["standby"] for h in health) == 1


def test_init_returns_recovery_keys_and_restarted_pods_unseal_themselves(transit_sealed: TransitSealed):
    env, cluster = transit_sealed, transit_sealed.cluster
    # What the program will send once the init provider knows auto-unseal (issue 16, later): recovery shares only.
    init = cluster.client(0).sys.initialize(recovery_shares=3, recovery_threshold=2)
    assert init["keys"] == [] and len(init["recovery_keys"]) == 3
    root = init["root_token"]
    # No unseal call anywhere: the leader and both standbys unseal through the transit Vault.
    wait_until(lambda: all_unsealed(env), "every node unsealed by the transit seal")
    status = cluster.client(0).sys.read_seal_status()
    assert status["type"] == "transit" and status["recovery_seal"] is True
    client = cluster.client(0, token=root)
    client.sys.enable_secrets_engine("kv", path="kv", options={"version": "1"})
    client.secrets.kv.v1.create_or_update_secret("data", {"v": "before-restart"}, mount_point="kv")

    cluster.restart_all()  # every pod at once, as after a node loss or a rolling restart
    wait_until(lambda: all_unsealed(env), "every node unsealed again after the restart")
    wait_until(
        lambda: (
            cluster.client(0, token=root).secrets.kv.v1.read_secret("data", mount_point="kv")["data"]["v"]
            == "before-restart"
        ),
        "the data back",
    )


def test_without_the_transit_vault_a_restarted_pod_does_not_come_back(transit_sealed: TransitSealed):
    # The counter-check: it really is the transit seal that unseals. Without it a restarted server cannot even
    # configure its seal and exits (Kubernetes restarts it until the transit Vault is back); no key unseals it.
    env, cluster = transit_sealed, transit_sealed.cluster
    cluster.client(0).sys.initialize(recovery_shares=1, recovery_threshold=1)
    wait_until(lambda: all_unsealed(env), "every node unsealed")
    env.provider.stop()
    cluster.stop_node(1)
    cluster.start_node(1, wait=False)
    node = cluster.node(1)
    assert node.proc is not None and node.proc.wait(timeout=30) != 0
    assert 'Error configuring seal "transit"' in node.log_path.read_text()
    # The provider back: the same pod starts and unseals by itself.
    env.provider.start()
    env.provider.client(0).sys.submit_unseal_key(env.provider_unseal_key)
    cluster.start_node(1)
    wait_until(lambda: all_unsealed(env), "node 1 unsealed once the transit Vault is back")


def test_the_stanza_is_the_programs_and_carries_no_token(transit_sealed: TransitSealed):
    stanza = transit_sealed.stanza
    assert stanza.startswith('seal "transit" {') and "token" not in stanza
    assert transit_sealed.provider.node(0).addr in stanza
    for node in transit_sealed.cluster.nodes:
        assert "VAULT_TOKEN" not in node.config_path.read_text()
