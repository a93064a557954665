"""(4) A run that fails after init resumes from state on the next run: no re-init, nothing lost, no repeats.

The "engine" here is the test: it keeps each create()'s outputs as the state (as Pulumi persists them the moment
create returns), injects failures between and inside the steps, then runs the next `pulumi up` the way the
engine would: diff each recorded resource, create what is missing, update what reports changes.
"""

from __future__ import annotations

import pytest

from components.vault_runtime import operations as ops
from components.vault_runtime.operations import VaultOperationError
from components.vault_runtime.providers import (
    VaultBootstrapProvider,
    VaultInitProvider,
    VaultUnsealProvider,
    bootstrap_inputs,
    init_inputs,
    unseal_inputs,
)
from tests.fixtures.openbao import BaoCluster, RecordingSession

# Registers the OpenBao fixtures even when tests/conftest.py does not list the plugin (idempotent if it does).
pytest_plugins = ["tests.fixtures.openbao"]
pytestmark = pytest.mark.slow


def broken_transport(_conn):
    raise ConnectionError("port-forward to vault-0 lost")


def test_failure_after_init_resumes_without_reinit(bao_cluster: BaoCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    log: list[tuple[str, str, int]] = []
    root_header: dict[str, str] = {}

    def fail_root_revoke(method: str, path: str, headers: dict) -> bool:
        # Fail bootstrap at its very last step: revoking the root token (after the AppRole was set up).
        return path == "/v1/auth/token/revoke-self" and headers.get("X-Vault-Token") == root_header.get("token")

    connect = bao_cluster.connect_factory(lambda: RecordingSession(log))
    failing_connect = bao_cluster.connect_factory(lambda: RecordingSession(log, fail_when=fail_root_revoke))
    conn = bao_cluster.connection()
    init_in = init_inputs(connection=conn, secret_shares=3, secret_threshold=2)

    # --- run 1: init succeeds (state recorded), then the unseal step's transport dies.
    init = VaultInitProvider(connect).create(init_in)
    state = init.outs or {}
    unseal_in = unseal_inputs(connection=conn, keys=state["keys_b64"], threshold=2, timeout_seconds=60)
    with pytest.raises(VaultOperationError, match="port-forward to vault-0 lost"):
        VaultUnsealProvider(broken_transport).create(unseal_in)

    # --- run 2: init has state and no diff; unseal dies after the leader (followers still sealed).
    assert VaultInitProvider(connect).diff(init.id, state, init_in).changes is False
    real_submit = ops._submit_keys

    def submit_leader_only(client, pod, keys, threshold):
        if pod != "vault-0":
            raise RuntimeError(f"killed while unsealing {pod}")
        real_submit(client, pod, keys, threshold)

    monkeypatch.setattr(ops, "_submit_keys", submit_leader_only)
    with pytest.raises(VaultOperationError, match="killed while unsealing"):
        VaultUnsealProvider(connect).create(unseal_in)
    monkeypatch.setattr(ops, "_submit_keys", real_submit)
    assert not bao_cluster.health("vault-0")["sealed"]

    # --- run 3: unseal completes; bootstrap dies before revoking the root token.
    assert VaultInitProvider(connect).diff(init.id, state, init_in).changes is False
    unseal = VaultUnsealProvider(connect).create(unseal_in)
    assert sorted((unseal.outs or {})["unsealed_pods"]) == ["vault-1", "vault-2"]  # vault-0 was done already
    boot_in = bootstrap_inputs(connection=conn, root_token=state["root_token"])
    root_header["token"] = state["root_token"]
    with pytest.raises(VaultOperationError, match="injected failure"):
        VaultBootstrapProvider(failing_connect).create(boot_in)

    # --- run 4: nothing sealed, bootstrap resumes with the same root token and writes only what is missing.
    assert VaultInitProvider(connect).diff(init.id, state, init_in).changes is False
    assert VaultUnsealProvider(connect).diff(unseal.id, unseal.outs or {}, unseal_in).changes is False
    mark = len(log)
    boot = VaultBootstrapProvider(connect).create(boot_in)
    writes = [(m, p) for m, p, _ in log[mark:] if m not in ("GET", "LIST")]
    assert ("POST", "/v1/sys/auth/approle") not in writes  # enabled by run 3
    assert ("PUT", "/v1/sys/policies/acl/platform-admin") not in writes  # written by run 3
    assert ("POST", "/v1/auth/approle/role/platform-admin") not in writes
    assert ("POST", "/v1/auth/token/revoke-self") in writes
    assert (boot.outs or {})["root_token_revoked"] is True

    # Across all four runs: exactly one sys/init, and the first run's keys still unseal this Vault.
    assert [(m, p) for m, p, _ in log if p == "/v1/sys/init"] == [("PUT", "/v1/sys/init")]
    assert server_side_inits(bao_cluster) == 1
    bao_cluster.restart_node("vault-1")
    outs = VaultUnsealProvider(connect).update(unseal.id, unseal.outs or {}, unseal_in).outs or {}
    assert outs["unsealed_pods"] == ["vault-1"]


def server_side_inits(cluster: BaoCluster) -> int:
    """Initialisations the servers logged (independent of the client-side recording)."""
    return sum(
        line.count("security barrier initialized") for node in cluster.nodes for line in [node.log_path.read_text()]
    )
