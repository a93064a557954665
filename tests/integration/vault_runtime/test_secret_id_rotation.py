"""The admin AppRole's secret_id expires, is bound to the port-forward's loopback, and is renewed by `pulumi up`.

On a real OpenBao through the engine path, with a short ``secret_id_ttl``: the bootstrap records the expiry; a run
in the second half of the TTL mints a new secret_id with the admin's own login (the root token is long revoked),
the prune step destroys the old one (it no longer logs in), and the setup keeps working after the *first*
secret_id's expiry has passed. Without a run in time the secret_id expires: the run stops with the break-glass
path, and a break-glass root token gets a new one. Logins from another address than 127.0.0.1 are refused.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from requests.adapters import HTTPAdapter

from components.vault_runtime import flavour
from tests.fixtures.openbao import BaoCluster
from tests.fixtures.vault_engine_stack import WITH_PRUNE, VaultStack, approle_login
from tests.harness.engine import DynamicProviderServer, ProviderError

pytest_plugins = ["tests.fixtures.openbao"]
pytestmark = pytest.mark.slow

TTL = 8  # seconds: rotation is due after 4


class _FromAddress(HTTPAdapter):
    """Connections from another loopback address (what a client outside the port-forward looks like to Vault)."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


@pytest.fixture
def cluster(bao_cluster_factory) -> Iterator[BaoCluster]:
    # One node (nothing here depends on Raft); the legacy generate-root flow for the break-glass case.
    cluster = bao_cluster_factory(1, listener_extra="disable_unauthed_generate_root_endpoints = false")
    yield cluster
    cluster.kill()


@pytest.fixture
def stack(cluster: BaoCluster, provider_server: DynamicProviderServer) -> VaultStack:
    return VaultStack(provider_server, cluster, cluster.direct_connect(), secret_id_ttl=TTL)


def _wait_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def _accessors(cluster: BaoCluster, role_id: str, secret_id: str) -> list[str]:
    session, addr = cluster.session(), cluster.node(0).addr
    login = session.post(f"{addr}/v1/auth/approle/login", json={"role_id": role_id, "secret_id": secret_id}, timeout=5)
    token = login.json()["auth"]["client_token"]
    listed = session.request(
        "LIST", f"{addr}/v1/auth/approle/role/platform-admin/secret-id", headers={"X-Vault-Token": token}, timeout=5
    )
    return sorted(listed.json()["data"]["keys"])


def test_rotation_mints_a_new_secret_id_destroys_the_old_and_outlives_the_first_expiry(
    cluster: BaoCluster, stack: VaultStack
) -> None:
    assert stack.up(WITH_PRUNE) == dict.fromkeys(WITH_PRUNE, "created")
    first = dict(stack["bootstrap"].outs)
    assert first["secret_id_expires_at"] == pytest.approx(time.time() + TTL, abs=3)
    assert stack["bootstrap"].preview(stack.props("bootstrap")).diff.changes is False  # not due yet

    _wait_until(first["secret_id_expires_at"] - TTL / 2 + 0.2)
    assert stack["bootstrap"].preview(stack.props("bootstrap")).diff.changes is True  # preview shows it, no call
    # The root token was revoked by the first run: the admin renews its own secret_id.
    assert stack.up(WITH_PRUNE) == {**dict.fromkeys(WITH_PRUNE, "same"), "bootstrap": "updated", "prune": "updated"}
    second = stack["bootstrap"].outs
    assert second["secret_id"] != first["secret_id"] and second["role_id"] == first["role_id"]
    assert approle_login(cluster, first["role_id"], first["secret_id"]) == 400  # destroyed by the prune step
    assert approle_login(cluster, second["role_id"], second["secret_id"]) == 200
    assert _accessors(cluster, second["role_id"], second["secret_id"]) == [second["secret_id_accessor"]]

    # Past the first secret_id's expiry: the rotated setup keeps working, and the next run rotates again.
    _wait_until(first["secret_id_expires_at"] + 0.5)
    assert approle_login(cluster, second["role_id"], second["secret_id"]) == 200
    assert stack.up(WITH_PRUNE)["bootstrap"] == "updated"
    third = stack["bootstrap"].outs
    assert third["secret_id"] not in (first["secret_id"], second["secret_id"])
    assert approle_login(cluster, third["role_id"], third["secret_id"]) == 200
    assert approle_login(cluster, second["role_id"], second["secret_id"]) == 400


def test_the_admin_secret_id_and_its_tokens_work_from_the_loopback_only(cluster: BaoCluster, stack: VaultStack) -> None:
    """Vault sees the port-forward's connections from 127.0.0.1; anything else is refused even with the secret_id."""
    stack.up(WITH_PRUNE)
    boot = stack["bootstrap"].outs
    addr, body = cluster.node(0).addr, {"role_id": boot["role_id"], "secret_id": boot["secret_id"]}
    elsewhere = cluster.session()
    elsewhere.mount("https://", _FromAddress("127.0.0.2"))
    refused = elsewhere.post(f"{addr}/v1/auth/approle/login", json=body, timeout=5)
    assert refused.status_code == 400 and "unauthorized by CIDR" in refused.text
    token = cluster.session().post(f"{addr}/v1/auth/approle/login", json=body, timeout=5).json()["auth"]["client_token"]
    headers = {"X-Vault-Token": token}
    assert cluster.session().get(f"{addr}/v1/sys/mounts", headers=headers, timeout=5).status_code == 200
    assert elsewhere.get(f"{addr}/v1/sys/mounts", headers=headers, timeout=5).status_code == 403


def test_an_expired_secret_id_needs_break_glass_and_gets_a_new_one(cluster: BaoCluster, stack: VaultStack) -> None:
    stack.up(WITH_PRUNE)
    first = dict(stack["bootstrap"].outs)
    _wait_until(first["secret_id_expires_at"] + 0.5)  # no run in the second half of its life
    assert approle_login(cluster, first["role_id"], first["secret_id"]) == 400
    with pytest.raises(ProviderError) as err:
        stack.up(("bootstrap",))
    assert "no longer logs in" in err.value.details and "generate a root token" in err.value.details
    assert first["secret_id"] not in err.value.details

    with cluster.connect_factory()(cluster.connection()) as clients:
        stack.root_token = flavour.generate_root(clients["vault-0"], stack["init"].outs["keys_b64"][1:])
    assert stack.up(WITH_PRUNE)["bootstrap"] == "updated"
    renewed = stack["bootstrap"].outs
    assert renewed["secret_id"] != first["secret_id"]
    assert approle_login(cluster, renewed["role_id"], renewed["secret_id"]) == 200
