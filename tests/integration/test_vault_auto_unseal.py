"""Transit auto-unseal on two real OpenBao clusters: the rendered `seal "transit"` stanza, init with recovery keys,
and every pod unsealing itself after a restart, with no unseal call from anyone (tests/fixtures/transit_seal.py)."""

from __future__ import annotations

from components.vault_runtime.providers import (
    VaultBootstrapProvider,
    VaultInitProvider,
    VaultRootTokenRevokeProvider,
    VaultUnsealProvider,
    bootstrap_inputs,
    init_inputs,
    revoke_inputs,
    unseal_inputs,
)
from tests.fixtures.transit_seal import TransitSealed, wait_until
from tests.harness.engine import DynamicProviderServer, EngineResource


def all_unsealed(env: TransitSealed) -> bool:
    health = [env.cluster.health(n.name) for n in env.cluster.nodes]
    return all(h["initialized"] and not h["sealed"] for h in health) and sum(not h["standby"] for h in health) == 1


def test_init_returns_recovery_keys_and_restarted_pods_unseal_themselves(transit_sealed: TransitSealed):
    env, cluster = transit_sealed, transit_sealed.cluster
    # What the init provider sends under an auto-unseal seal (the test below runs the provider): recovery shares.
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


def test_the_programs_providers_init_with_recovery_keys_and_never_unseal(transit_sealed: TransitSealed, tmp_path):
    """The program's own steps through the engine path (a real ``python -m pulumi.dynamic``): VaultInit with
    ``auto_unseal`` sends recovery shares, VaultUnseal only waits for the seal, bootstrap and revoke work with the
    root token. Then every pod restarts and comes back unsealed with no program running, and the next `pulumi up`
    changes nothing. No request of the program's is ever a ``sys/unseal``; no share exists anywhere."""
    env, cluster = transit_sealed, transit_sealed.cluster
    record = tmp_path / "requests.log"
    connect, conn = cluster.direct_connect(record=str(record)), cluster.connection()
    with DynamicProviderServer() as server:
        steps = {
            "init": EngineResource(server, VaultInitProvider(connect), "vault-init"),
            "unseal": EngineResource(server, VaultUnsealProvider(connect), "vault-unseal"),
            "bootstrap": EngineResource(server, VaultBootstrapProvider(connect), "vault-bootstrap"),
            "revoke": EngineResource(server, VaultRootTokenRevokeProvider(connect), "vault-bootstrap-revoke-root"),
        }

        def up() -> dict[str, str]:
            init = steps["init"]
            done = {
                "init": init.up(init_inputs(connection=conn, secret_shares=3, secret_threshold=2, auto_unseal=True))
            }
            unseal = unseal_inputs(connection=conn, keys=[], threshold=2, timeout_seconds=60, auto_unseal=True)
            done["unseal"] = steps["unseal"].up(unseal)
            token = init.outs["root_token"]
            done["bootstrap"] = steps["bootstrap"].up(bootstrap_inputs(connection=conn, root_token=token))
            role_id = steps["bootstrap"].outs["role_id"]
            done["revoke"] = steps["revoke"].up(revoke_inputs(connection=conn, root_token=token, role_id=role_id))
            return done

        assert up() == dict.fromkeys(("init", "unseal", "bootstrap", "revoke"), "created")
        outs = steps["init"].outs
        assert outs["keys"] == [] and outs["keys_b64"] == [] and len(outs["recovery_keys_b64"]) == 3
        assert cluster.client(0).sys.read_seal_status()["recovery_seal"] is True
        assert all_unsealed(env)

        cluster.restart_all()  # every pod at once; nobody runs the program
        wait_until(lambda: all_unsealed(env), "every node unsealed by the seal after the restart")
        assert up() == dict.fromkeys(("init", "unseal", "bootstrap", "revoke"), "same")

    paths = [path for _method, path, _port in connect.recorded()]
    assert any(p.endswith("sys/init") for p in paths) and not any("sys/unseal" in p for p in paths)
    init_calls = [p for p in paths if p.endswith("sys/init")]
    assert len(init_calls) == 1
