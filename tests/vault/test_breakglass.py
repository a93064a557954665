"""After bootstrap there is no root token: changing the admin setup needs a break-glass root from the shares.

Proves the path the error messages point to: the revoked root token gives a clear error naming the OpenBao
listener option; ``flavour.generate_root`` builds a new root token from the shares (here with OpenBao's
unauthenticated flow re-enabled, as the hint says); passed as ``root_token``, the bootstrap update applies the
changed admin policy, keeps the existing secret_id, and revokes that token too. Init settings never change in
place (rekey hint). One node is enough: none of this depends on Raft.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from components.vault_runtime import flavour
from components.vault_runtime.admin_policy import admin_policy_hcl
from components.vault_runtime.operations import RootTokenUnusable, VaultOperationError, admin_login
from components.vault_runtime.providers import (
    VaultBootstrapProvider,
    VaultInitProvider,
    VaultUnsealProvider,
    bootstrap_inputs,
    init_inputs,
    unseal_inputs,
)
from tests.fixtures.openbao import BaoCluster

# Registers the OpenBao fixtures even when tests/conftest.py does not list the plugin (idempotent if it does).
pytest_plugins = ["tests.fixtures.openbao"]
pytestmark = pytest.mark.slow


@pytest.fixture
def legacy_generate_root(bao_cluster_factory) -> Iterator[BaoCluster]:
    cluster = bao_cluster_factory(1, listener_extra="disable_unauthed_generate_root_endpoints = false")
    yield cluster
    cluster.kill()


def test_break_glass_root_token_applies_admin_changes(legacy_generate_root: BaoCluster) -> None:
    cluster = legacy_generate_root
    connect = cluster.connect_factory()
    conn = cluster.connection()
    init_in = init_inputs(connection=conn, secret_shares=3, secret_threshold=2)
    init = VaultInitProvider(connect).create(init_in)
    outs = init.outs or {}
    VaultUnsealProvider(connect).create(unseal_inputs(connection=conn, keys=outs["keys_b64"], threshold=2))
    boot_in = bootstrap_inputs(connection=conn, root_token=outs["root_token"])
    boot = VaultBootstrapProvider(connect).create(boot_in)
    state = boot.outs or {}
    assert flavour.detect(cluster.health(0)) is flavour.Flavour.OPENBAO

    # The admin policy grows (e.g. Pulumi now writes a KV entry); with the revoked root token: clear error.
    changed_in = {**boot_in, "admin_policy": admin_policy_hcl(kv_entries=["kv/app/registry-password"])}
    assert VaultBootstrapProvider(connect).diff(boot.id, state, changed_in).changes is True
    with pytest.raises(RootTokenUnusable) as err:
        VaultBootstrapProvider(connect).update(boot.id, state, changed_in)
    message = str(err.value)
    assert "pod vault-0" in message and "disable_unauthed_generate_root_endpoints" in message
    assert outs["root_token"] not in message

    # Break-glass: a new root token from 2 of the 3 shares, passed as root_token.
    with cluster.connect_factory()(conn) as clients:
        new_root = flavour.generate_root(clients["vault-0"], outs["keys_b64"][1:])
    assert new_root and new_root != outs["root_token"]
    glass_in = {**changed_in, "root_token": new_root}
    assert VaultBootstrapProvider(connect).diff(boot.id, state, glass_in).changes is True
    updated = VaultBootstrapProvider(connect).update(boot.id, state, glass_in).outs or {}
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

    # Shares/threshold cannot change in place: the update refuses with the rekey path.
    reshaped = {**init_in, "secret_shares": 5, "secret_threshold": 3}
    assert VaultInitProvider(connect).diff(init.id, outs, reshaped).changes is True
    with pytest.raises(VaultOperationError, match="rekey"):
        VaultInitProvider(connect).update(init.id, outs, reshaped)
