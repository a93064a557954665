"""After bootstrap there is no root token: changing the admin setup needs a break-glass root from the shares.

Proves the path the error messages point to: the revoked root token gives a clear error naming the OpenBao
listener option; ``flavour.generate_root`` builds a new root token from the shares (here with OpenBao's
unauthenticated flow re-enabled, as the hint says); passed as ``root_token``, the bootstrap update applies the
changed admin policy, keeps the existing secret_id, and revokes that token too; removing it again (`pulumi config
rm vaultRootToken`) changes nothing. Init settings never change in place (rekey hint). One node is enough: none
of this depends on Raft. All through the engine path.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from components.vault_runtime import flavour
from components.vault_runtime.admin_policy import admin_policy_hcl
from components.vault_runtime.operations import admin_login
from tests.fixtures.openbao import BaoCluster
from tests.fixtures.vault_engine_stack import VaultStack
from tests.harness.engine import DynamicProviderServer, ProviderError

# Registers the OpenBao fixtures even when tests/conftest.py does not list the plugin (idempotent if it does).
pytest_plugins = ["tests.fixtures.openbao"]
pytestmark = pytest.mark.slow


@pytest.fixture
def legacy_generate_root(bao_cluster_factory) -> Iterator[BaoCluster]:
    cluster = bao_cluster_factory(1, listener_extra="disable_unauthed_generate_root_endpoints = false")
    yield cluster
    cluster.kill()


def test_break_glass_root_token_applies_admin_changes(
    legacy_generate_root: BaoCluster, provider_server: DynamicProviderServer
) -> None:
    cluster = legacy_generate_root
    conn = cluster.connection()
    stack = VaultStack(provider_server, cluster, cluster.direct_connect())
    stack.up()
    outs, state = stack["init"].outs, dict(stack["bootstrap"].outs)
    assert flavour.detect(cluster.health(0)) is flavour.Flavour.OPENBAO

    # The admin policy grows (e.g. Pulumi now writes a KV entry); with the revoked root token: clear error.
    stack.admin_policy = admin_policy_hcl(kv_entries=["kv/app/registry-password"])
    with pytest.raises(ProviderError) as err:
        stack.up(("bootstrap",))  # the diff reports the change, the update needs a live root token
    message = err.value.details
    assert err.value.method == "Update" and "RootTokenUnusable" in message
    assert "pod vault-0" in message and "disable_unauthed_generate_root_endpoints" in message
    assert outs["root_token"] not in message

    # Break-glass: a new root token from 2 of the 3 shares, passed as root_token.
    with cluster.connect_factory()(conn) as clients:
        new_root = flavour.generate_root(clients["vault-0"], outs["keys_b64"][1:])
    assert new_root and new_root != outs["root_token"]
    stack.root_token = new_root
    assert stack.up() == {"init": "same", "unseal": "same", "bootstrap": "updated", "revoke": "updated"}
    updated = stack["bootstrap"].outs
    assert updated["secret_id"] == state["secret_id"] and updated["role_id"] == state["role_id"]

    session = cluster.session()
    with cluster.connect_factory()(conn) as clients:
        token = admin_login(clients["vault-0"], updated["role_id"], updated["secret_id"])
    session.headers["X-Vault-Token"] = token
    addr = cluster.node(0).addr
    assert session.post(f"{addr}/v1/sys/mounts/kv", json={"type": "kv"}, timeout=5).ok
    assert session.post(f"{addr}/v1/kv/app/registry-password", json={"password": "x"}, timeout=5).ok
    assert session.get(f"{addr}/v1/kv/app/other", timeout=5).status_code == 403
    revoked = session.get(f"{addr}/v1/auth/token/lookup-self", headers={"X-Vault-Token": new_root}, timeout=5)
    assert revoked.status_code == 403  # the break-glass token is revoked again

    # `pulumi config rm vaultRootToken`, as the README says: the bootstrap gets init's revoked token back. Nothing
    # changes (before, this was an update with a revoked token and RootTokenUnusable on every later run).
    stack.root_token = None
    same = {"init": "same", "unseal": "same", "bootstrap": "same", "revoke": "same"}
    assert stack.up() == same
    assert stack["bootstrap"].outs["secret_id"] == state["secret_id"]
    # A break-glass token set with no bootstrap change: the bootstrap does nothing, the revoke step revokes it.
    with cluster.connect_factory()(conn) as clients:
        spare_root = flavour.generate_root(clients["vault-0"], outs["keys_b64"][:2])
    stack.root_token = spare_root
    assert stack.up() == {**same, "revoke": "updated"}
    assert (
        session.get(f"{addr}/v1/auth/token/lookup-self", headers={"X-Vault-Token": spare_root}, timeout=5).status_code
        == 403
    )
    stack.root_token = None
    assert stack.up() == same

    # Shares/threshold cannot change in place: the update refuses with the rekey path.
    stack.shares, stack.threshold = 5, 3
    with pytest.raises(ProviderError, match="rekey") as err:
        stack.up(("init",))
    assert err.value.method == "Update"
