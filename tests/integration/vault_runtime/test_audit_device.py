"""The file audit device the bootstrap enables with the root token: requests land in the file, the admin cannot
touch it. On a real OpenBao through the engine path.

HashiCorp Vault (what the chart deploys) enables audit devices through the API with a sudo token; OpenBao refuses
that unless its config says `unsafe_allow_api_audit_creation`, which the first test sets to stand in for Vault.
OpenBao's own way, a declarative `audit` stanza, is accepted as it is; with neither the bootstrap stops and names
the stanza. The file path is relative here (each node's working directory); the program uses the chart's audit
volume (`/vault/audit/audit.log`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.openbao import HASHICORP_AUDIT, BaoCluster
from tests.fixtures.vault_engine_stack import WITH_PRUNE, VaultStack
from tests.harness.engine import DynamicProviderServer, ProviderError

pytest_plugins = ["tests.fixtures.openbao"]
pytestmark = pytest.mark.slow

DECLARED = 'audit "file" "file" {\n  options {\n    file_path = "audit.log"\n  }\n}'


@pytest.fixture
def one_node(bao_cluster_factory, request: pytest.FixtureRequest) -> Iterator[BaoCluster]:
    cluster = bao_cluster_factory(1, server_extra=request.param)
    yield cluster
    cluster.kill()


def _entries(cluster: BaoCluster) -> list[dict]:
    path = Path(cluster.node(0).workdir) / "audit.log"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _admin_token(cluster: BaoCluster, stack: VaultStack) -> str:
    boot = stack["bootstrap"].outs
    body = {"role_id": boot["role_id"], "secret_id": boot["secret_id"]}
    login = cluster.session().post(f"{cluster.node(0).addr}/v1/auth/approle/login", json=body, timeout=5)
    return str(login.json()["auth"]["client_token"])


@pytest.mark.parametrize("one_node", [HASHICORP_AUDIT, DECLARED], indirect=True, ids=["api", "declarative"])
def test_requests_are_audited_and_the_admin_cannot_disable_the_device(
    one_node: BaoCluster, provider_server: DynamicProviderServer
) -> None:
    cluster = one_node
    stack = VaultStack(provider_server, cluster, cluster.direct_connect(), audit_file_path="audit.log")
    stack.up(WITH_PRUNE)
    session, addr = cluster.session(), cluster.node(0).addr
    token = _admin_token(cluster, stack)
    headers = {"X-Vault-Token": token}
    assert session.get(f"{addr}/v1/sys/mounts", headers=headers, timeout=5).ok

    entries = _entries(cluster)
    mounts = [e for e in entries if e["type"] == "response" and e["request"]["path"] == "sys/mounts"]
    assert mounts, "the admin's sys/mounts read is not in the audit file"
    # What Vault sees as the client address: the loopback (a port-forward's connections look the same).
    assert {e["request"]["remote_address"] for e in mounts} == {"127.0.0.1"}
    assert token not in json.dumps(entries)  # tokens are HMAC'd in the log
    # The bootstrap's own writes (AppRole, policy, role) came after the device: audited too.
    assert any(e["request"]["path"] == "sys/policies/acl/platform-admin" for e in entries)

    for method, path in (("DELETE", "sys/audit/file"), ("GET", "sys/audit"), ("PUT", "sys/audit/other")):
        body = {"type": "file", "options": {"file_path": "other.log"}} if method == "PUT" else None
        response = session.request(method, f"{addr}/v1/{path}", json=body, headers=headers, timeout=5)
        assert response.status_code == 403, f"{method} {path}: {response.status_code}"
    denied = [e for e in _entries(cluster) if e["request"]["path"] == "sys/audit/file"]
    # The attempt itself is on record, as the admin's, refused.
    assert any(e["auth"]["policy_results"] == {"allowed": False} and "permission denied" in e["error"] for e in denied)
    assert all(e["auth"]["display_name"] == "approle" for e in denied if e["request"]["operation"] == "delete")


@pytest.mark.parametrize("one_node", [""], indirect=True)
def test_openbao_without_a_declared_device_stops_the_bootstrap_with_the_stanza(
    one_node: BaoCluster, provider_server: DynamicProviderServer
) -> None:
    stack = VaultStack(provider_server, one_node, one_node.direct_connect(), audit_file_path="audit.log")
    stack.up(("init", "unseal"))
    with pytest.raises(ProviderError) as err:
        stack.up(("bootstrap",))
    assert 'audit "file" "file" { options { file_path = "audit.log" } }' in err.value.details
    assert stack["init"].outs["root_token"] not in err.value.details
