"""(4) A run that fails after init resumes from state on the next run: no re-init, nothing lost, no repeats.

Through the engine path: the provider process is killed at the worst moments (mid-unseal, mid-bootstrap),
the engine keeps what each successful Create returned, and the next `pulumi up` (a new provider process)
diffs the recorded resources, creates what is missing and updates what reports changes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.openbao import BaoCluster
from tests.fixtures.vault_engine_stack import VaultStack
from tests.fixtures.vault_faults import Fault
from tests.harness.engine import DynamicProviderServer, ProviderCrashed

# Registers the OpenBao fixtures even when tests/conftest.py does not list the plugin (idempotent if it does).
pytest_plugins = ["tests.fixtures.openbao"]
pytestmark = pytest.mark.slow


def test_failure_after_init_resumes_without_reinit(
    bao_cluster: BaoCluster, provider_server: DynamicProviderServer, tmp_path: Path
) -> None:
    connect = bao_cluster.direct_connect(record=str(tmp_path / "requests.log"))
    stack = VaultStack(provider_server, bao_cluster, connect)

    # --- run 1: init succeeds (state recorded), then the provider dies after the first unseal share.
    stack.set_faults("unseal", Fault("PUT", "/v1/sys/unseal", "exit"))
    with pytest.raises(ProviderCrashed):
        stack.up(("init", "unseal"))
    assert stack["init"].id is not None and stack["unseal"].id is None
    assert bao_cluster.health("vault-0")["sealed"]  # one share in: progress 1 of 2

    # --- run 2: init has state and no diff; unseal resets the half-done attempt and completes; the
    # provider dies right after bootstrap wrote the admin policy.
    provider_server.restart()
    stack.set_faults("unseal")
    stack.set_faults("bootstrap", Fault("PUT", "/v1/sys/policies/acl/platform-admin", "exit"))
    with pytest.raises(ProviderCrashed):
        stack.up()
    assert stack["unseal"].id is not None and stack["bootstrap"].id is None
    assert sorted(stack["unseal"].outs["unsealed_pods"]) == bao_cluster.pods

    # --- run 3: nothing sealed, bootstrap resumes with the same root token and writes only what is missing.
    provider_server.restart()
    stack.set_faults("bootstrap")
    mark = len(connect.recorded())
    assert stack.up() == {"init": "same", "unseal": "same", "bootstrap": "created", "revoke": "created"}
    writes = [(m, p) for m, p, _ in connect.recorded()[mark:] if m not in ("GET", "LIST")]
    assert ("POST", "/v1/sys/auth/approle") not in writes  # enabled by run 2
    assert ("PUT", "/v1/sys/policies/acl/platform-admin") not in writes  # written by run 2
    assert ("POST", "/v1/auth/approle/role/platform-admin") in writes  # the step run 2 never reached
    assert ("POST", "/v1/auth/token/revoke-self") in writes
    assert stack["revoke"].outs["revoked"] is True

    # Across all runs: exactly one sys/init, and the first run's keys still unseal this Vault.
    assert [(m, p) for m, p, _ in connect.recorded() if p == "/v1/sys/init"] == [("PUT", "/v1/sys/init")]
    assert server_side_inits(bao_cluster) == 1
    bao_cluster.restart_node("vault-1")
    assert stack.up(("unseal",)) == {"unseal": "updated"}
    assert stack["unseal"].outs["unsealed_pods"] == ["vault-1"]


def server_side_inits(cluster: BaoCluster) -> int:
    """Initialisations the servers logged (independent of the client-side recording)."""
    return sum(
        line.count("security barrier initialized") for node in cluster.nodes for line in [node.log_path.read_text()]
    )
