"""The first `pulumi up` and the runs after it, on a real 3-node OpenBao Raft cluster with TLS.

The module fixture runs VaultInit -> VaultUnseal -> VaultBootstrap -> its root-token revoke the way `pulumi up`
does (tests/harness/engine.py: a real ``python -m pulumi.dynamic`` process over gRPC), with the production
transport (kubectl port-forward; a fake kubectl on the provider process's PATH proxies to the local nodes)
while a thread records every process's argv. The tests then check the resulting state, the no-op re-run,
the "initialised but no keys" error, the admin AppRole's exact reach, and that no secret ever hit an argv.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from components.vault_runtime.admin_policy import admin_policy_hcl
from components.vault_runtime.policies import Role
from components.vault_runtime.providers import VaultInitProvider, init_inputs
from tests.fixtures.openbao import BaoCluster, FakeKubectl, install_fake_kubectl
from tests.fixtures.vault_engine_stack import STEPS, VaultStack, wait_for_voters
from tests.harness.engine import DynamicProviderServer, EngineResource, ProviderError

# Registers the OpenBao fixtures even when tests/conftest.py does not list the plugin (idempotent if it does).
pytest_plugins = ["tests.fixtures.openbao"]
pytestmark = pytest.mark.slow


class ArgvScanner(threading.Thread):
    """Collect the argv of every process on the machine, every few ms, until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.seen: set[str] = set()
        self._stop_event = threading.Event()

    def scan_once(self) -> None:
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit():
                try:
                    raw = (proc / "cmdline").read_bytes()
                except OSError:
                    continue
                if raw:
                    self.seen.add(raw.replace(b"\0", b" ").decode(errors="replace"))

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.scan_once()
            time.sleep(0.005)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)
        self.scan_once()


VSO_BODY = 'path "kv/app/+" {\n  capabilities = ["read"]\n}\n'
API = "https://127.0.0.1:6443"
# What this test's configuration writes, pinned as the program's admin policy pins its own (admin_policy_for).
ADMIN_POLICY = admin_policy_hcl(
    policies={"vault-secrets-operator": [VSO_BODY]},
    roles_by_name={
        "vault-operator": [Role("vault-operator", ("vault-operator-sa",), ("app",), "vault-secrets-operator")]
    },
    kubernetes_host=API,
)


@dataclass
class FirstRun:
    cluster: BaoCluster
    kubectl: FakeKubectl
    stack: VaultStack
    voters: list[str]
    argv_seen: set[str] = field(default_factory=set)

    @property
    def init(self) -> EngineResource:
        return self.stack["init"]

    @property
    def unseal(self) -> EngineResource:
        return self.stack["unseal"]

    @property
    def boot(self) -> EngineResource:
        return self.stack["bootstrap"]

    @property
    def secrets(self) -> list[str]:
        return self.stack.secrets


@pytest.fixture(scope="module")
def first_run(bao_cluster_factory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FirstRun]:
    cluster = bao_cluster_factory()
    workdir = tmp_path_factory.mktemp("lifecycle")
    with pytest.MonkeyPatch.context() as mp:
        kubectl = install_fake_kubectl(workdir, cluster.ports, mp)
        scanner = ArgvScanner()
        scanner.start()
        server = DynamicProviderServer().start()  # inherits PATH with the fake kubectl first
        try:
            # connect=None: the production kubectl transport, inside the provider process.
            stack = VaultStack(server, cluster, None, admin_policy=ADMIN_POLICY)
            stack.up(("init",))
            # Test-only speed-up: autopilot promotes joined nodes after 1 s of stability instead of 10 s.
            speed_up = cluster.speed_up_autopilot_when_active(stack["init"].outs["root_token"])
            stack.up(("unseal",))
            speed_up.join(timeout=10)
            # Checked before bootstrap because only the root token may read Raft state.
            voters = wait_for_voters(cluster, stack["init"].outs["root_token"], 3)
            stack.up(("bootstrap", "revoke"))
        finally:
            scanner.stop()
    run = FirstRun(cluster, kubectl, stack, voters, scanner.seen)
    yield run
    server.stop()
    cluster.kill()


def active_addr(cluster: BaoCluster) -> str:
    """Reads that must see writes go to the active node (OpenBao standbys answer reads themselves)."""
    for node in cluster.nodes:
        h = cluster.health(node.name)
        if not h["sealed"] and not h["standby"]:
            return node.addr
    raise AssertionError("no active node")


# --- (1) fresh cluster ----------------------------------------------------------------------------------------


def test_fresh_cluster_is_initialised_unsealed_and_bootstrapped(first_run: FirstRun) -> None:
    init, unseal, boot = first_run.init.outs, first_run.unseal.outs, first_run.boot.outs
    assert len(init["keys"]) == len(init["keys_b64"]) == 3
    assert init["root_token"] and not init["shares_encrypted"] and not init["adopted"]
    assert unseal["unsealed_pods"][0] == "vault-0"  # the leader first
    assert sorted(unseal["unsealed_pods"]) == ["vault-0", "vault-1", "vault-2"]
    states = [first_run.cluster.health(p) for p in first_run.cluster.pods]
    assert all(s["initialized"] and not s["sealed"] for s in states)
    assert sum(not s["standby"] for s in states) == 1
    assert first_run.voters == ["vault-0", "vault-1", "vault-2"]
    assert first_run.stack["revoke"].outs["revoked"] is True and boot["role_id"] and boot["secret_id"]
    assert boot["admin_policy"] == ADMIN_POLICY


def test_root_token_is_revoked(first_run: FirstRun) -> None:
    root = first_run.init.outs["root_token"]
    resp = first_run.cluster.session().get(
        f"{active_addr(first_run.cluster)}/v1/auth/token/lookup-self", headers={"X-Vault-Token": root}, timeout=5
    )
    assert resp.status_code == 403


def test_transport_used_one_port_forward_per_pod_with_plain_argv(first_run: FirstRun) -> None:
    calls = first_run.kubectl.calls()
    for pod in first_run.cluster.pods:
        expected = ["--namespace", "test", "port-forward", f"pod/{pod}", ":8200", "--address", "127.0.0.1"]
        assert expected in calls
    assert all("--context" not in c for c in calls)  # "" = the current context


# --- (2) re-run with nothing changed -------------------------------------------------------------------------


def test_rerun_reports_no_change_and_sends_no_writes(first_run: FirstRun, tmp_path) -> None:
    """The next `pulumi up` (a new provider process) with nothing changed: no step changes, only health reads."""
    connect = first_run.cluster.direct_connect(record=str(tmp_path / "requests.log"))
    with DynamicProviderServer() as server:
        stack = VaultStack(server, first_run.cluster, connect, admin_policy=ADMIN_POLICY)
        for step in STEPS:  # the state the first run recorded
            engine = stack[step]
            engine.id, engine.inputs = first_run.stack[step].id, first_run.stack[step].inputs
            engine.outputs = {**first_run.stack[step].outputs, "__provider": engine.blob}
        assert stack.up() == dict.fromkeys(STEPS, "same")
        for step in STEPS:  # refresh: no drift
            assert stack[step].read() == first_run.stack[step].outs
    log = connect.recorded()
    assert log, "the unseal diff must look at the live cluster"
    assert {method for method, _, _ in log} == {"GET"}
    assert {path for _, path, _ in log} == {"/v1/sys/health"}
    assert sorted(port for _, _, port in log) == sorted(first_run.cluster.ports.values())  # one read per pod


def test_rerun_through_kubectl_transport_reports_no_change(first_run: FirstRun) -> None:
    assert first_run.stack.up() == dict.fromkeys(STEPS, "same")  # the production transport, same process


# --- (6) initialised cluster, no keys in state -----------------------------------------------------------------


def test_init_against_initialised_cluster_without_keys_fails_clearly(first_run: FirstRun) -> None:
    with DynamicProviderServer() as server:
        stack = VaultStack(server, first_run.cluster, first_run.cluster.direct_connect())
        with pytest.raises(ProviderError) as err:
            stack.up(("init",))  # a stack whose state lost the vault-init resource
    message = err.value.details
    assert "AlreadyInitialized" in message and "pod vault-0" in message
    assert "already initialised" in message
    assert "pulumi stack import" in message  # restore the state that holds the keys
    assert "vaultUnsealKeys" in message and "adopt_existing" in message  # or adopt with the shares you hold
    assert "generate-root" in message  # and how to get a root token back
    assert not any(s in message for s in first_run.secrets)
    assert all(not first_run.cluster.health(p)["sealed"] for p in first_run.cluster.pods)  # untouched


def test_adopting_an_initialised_cluster_records_no_keys(first_run: FirstRun) -> None:
    with DynamicProviderServer() as server:
        init = EngineResource(server, VaultInitProvider(first_run.cluster.direct_connect()), "vault-init")
        props = init_inputs(connection=first_run.cluster.connection(), secret_shares=3, secret_threshold=2)
        assert init.up({**props, "adopt_existing": True}) == "created"
    outs = init.outs
    assert outs["adopted"] is True
    assert outs["keys"] == outs["keys_b64"] == [] and outs["root_token"] == ""


# --- (7) the admin AppRole's reach -------------------------------------------------------------------------------


def admin_session(first_run: FirstRun) -> tuple[requests.Session, str]:
    boot = first_run.boot.outs
    session = first_run.cluster.session()
    addr = active_addr(first_run.cluster)
    resp = session.post(
        f"{addr}/v1/auth/approle/login",
        json={"role_id": boot["role_id"], "secret_id": boot["secret_id"]},
        timeout=5,
    )
    resp.raise_for_status()
    auth = resp.json()["auth"]
    assert auth["token_policies"] == ["default", "platform-admin"]
    session.headers["X-Vault-Token"] = auth["client_token"]
    return session, addr


def call(session: requests.Session, addr: str, method: str, path: str, body: Any = None) -> requests.Response:
    deadline = time.monotonic() + 10
    while True:
        resp = session.request(method, f"{addr}/v1/{path}", json=body, timeout=10)
        # A fresh KV v2 mount answers "upgrading" for ~1 s (REFERENCE §3): retry only that.
        if resp.status_code >= 400 and "upgrad" in resp.text and time.monotonic() < deadline:
            time.sleep(0.1)
            continue
        return resp


PASSWORD_POLICY = 'length = 20\nrule "charset" {\n  charset = "abcdefghijklmnopqrstuvwxyz"\n}\n'


def test_admin_approle_can_do_what_pulumi_vault_needs(first_run: FirstRun) -> None:
    """The calls pulumi-vault makes for components/vault/configuration.py's resources, as the admin."""
    session, addr = admin_session(first_run)
    ca = first_run.cluster.pki.ca_pem
    steps: list[tuple[str, str, Any]] = [
        # vault.Mount x4 (create, read, tune) and the mount table
        ("POST", "sys/mounts/kv2", {"type": "kv", "options": {"version": "2"}, "description": "kv2"}),
        ("POST", "sys/mounts/kv", {"type": "kv", "options": {"version": "1"}}),
        ("POST", "sys/mounts/transit", {"type": "transit"}),
        ("POST", "sys/mounts/postgresql", {"type": "database"}),
        ("GET", "sys/mounts/kv2", None),
        ("GET", "sys/mounts", None),
        ("POST", "sys/mounts/kv2/tune", {"description": "platform: kv engine"}),
        ("GET", "sys/mounts/kv2/tune", None),
        # transit.SecretBackendKey
        ("POST", "transit/keys/vso-client-cache", {"type": "aes256-gcm96"}),
        ("POST", "transit/keys/vso-client-cache/config", {"deletion_allowed": False}),
        ("GET", "transit/keys/vso-client-cache", None),
        # AuthBackend + kubernetes.AuthBackendConfig + AuthBackendRole
        ("POST", "sys/auth/kubernetes", {"type": "kubernetes", "description": "in-cluster"}),
        ("GET", "sys/auth", None),
        ("GET", "sys/auth/kubernetes", None),
        ("POST", "sys/auth/kubernetes/tune", {"description": "platform: in-cluster workloads"}),
        ("GET", "sys/mounts/auth/kubernetes/tune", None),
        ("POST", "auth/kubernetes/config", {"kubernetes_host": API, "kubernetes_ca_cert": ca}),
        ("GET", "auth/kubernetes/config", None),
        (
            "POST",
            "auth/kubernetes/role/vault-operator",
            {
                "bound_service_account_names": ["vault-operator-sa"],
                "bound_service_account_namespaces": ["app"],
                "token_policies": ["vault-secrets-operator"],
                "token_ttl": 3600,
            },
        ),
        ("GET", "auth/kubernetes/role/vault-operator", None),
        ("LIST", "auth/kubernetes/role", None),
        # vault.Policy
        ("PUT", "sys/policies/acl/vault-secrets-operator", {"policy": VSO_BODY}),
        ("GET", "sys/policies/acl/vault-secrets-operator", None),
        ("LIST", "sys/policies/acl", None),
        ("GET", "sys/policies/acl/platform-admin", None),
        # deletes (a removed role, policy, mount)
        ("DELETE", "auth/kubernetes/role/vault-operator", None),
        ("DELETE", "sys/policies/acl/vault-secrets-operator", None),
        ("DELETE", "sys/mounts/kv", None),
    ]
    for method, path, body in steps:
        resp = call(session, addr, method, path, body)
        assert resp.status_code < 300, f"{method} {path}: {resp.status_code} {resp.text[:200]}"


DENIED: list[tuple[str, str, Any]] = [
    ("GET", "sys/raw/core/keyring", None),
    ("PUT", "sys/generate-root-token/attempt", {}),
    ("POST", "secret/foo", {"a": "b"}),
    ("POST", "sys/mounts/secret", {"type": "kv"}),
    ("POST", "sys/mounts/pki", {"type": "pki"}),
    ("GET", "kv2/data/app/db", None),
    ("POST", "kv2/data/app/db", {"data": {"a": "b"}}),
    ("LIST", "kv2/metadata/app", None),
    ("GET", "kv/app/registry-password", None),
    ("POST", "transit/decrypt/vso-client-cache", {"ciphertext": "vault:v1:AAAA"}),
    ("POST", "transit/keys/other", {}),
    ("GET", "postgresql/creds/app", None),
    ("PUT", "sys/policies/acl/platform-admin", {"policy": 'path "sys/raw" { capabilities = ["read"] }'}),
    ("PUT", "sys/policy/platform-admin", {"policy": 'path "sys/raw" { capabilities = ["read"] }'}),
    ("PUT", "sys/policies/acl/default", {"policy": 'path "sys/raw" { capabilities = ["read"] }'}),
    ("GET", "auth/approle/role/platform-admin/role-id", None),
    ("POST", "auth/approle/role/platform-admin/secret-id", {"ttl": "87600h"}),  # its own: only as the role allows
    ("PUT", "sys/policies/acl/vault-secrets-operator", {"policy": 'path "sys/raw" { capabilities = ["read"] }'}),
    ("POST", "auth/kubernetes/role/vault-operator", {"bound_service_account_names": ["x"], "token_policies": ["root"]}),
    ("POST", "auth/kubernetes/config", {"kubernetes_host": "https://attacker.example:6443"}),
    ("DELETE", "sys/auth/kubernetes", None),
    ("DELETE", "sys/auth/approle", None),
    ("POST", "sys/auth/userpass", {"type": "userpass"}),
    ("PUT", "sys/audit/file", {"type": "file", "options": {"file_path": "/tmp/audit.log"}}),
    ("PUT", "sys/seal", None),
    ("POST", "sys/rotate", None),
    ("POST", "auth/token/create", {}),
    ("GET", "sys/storage/raft/configuration", None),
    ("GET", "sys/storage/raft/snapshot", None),
    ("POST", "sys/leases/revoke-prefix/auth", {}),
]


def test_admin_approle_is_denied_everything_else(first_run: FirstRun) -> None:
    session, addr = admin_session(first_run)
    for method, path, body in DENIED:
        resp = session.request(method, f"{addr}/v1/{path}", json=body, timeout=10)
        assert resp.status_code == 403, f"{method} {path}: {resp.status_code} {resp.text[:200]}"
    # The unauthenticated generate-root flow is not a policy matter: OpenBao keeps it off (405).
    resp = session.put(f"{addr}/v1/sys/generate-root/attempt", json={}, timeout=10)
    assert resp.status_code in (403, 405)


def test_admin_policy_has_no_catch_all(first_run: FirstRun) -> None:
    policy = first_run.boot.outs["admin_policy"]
    assert '"*"' not in policy and "/*" not in policy and "*" not in policy


# --- (8) no secret in any argv -----------------------------------------------------------------------------------


def test_no_key_or_token_in_any_process_argv(first_run: FirstRun) -> None:
    assert any("port-forward" in cmd for cmd in first_run.argv_seen), "the scanner must have seen kubectl"
    assert any(" server -config=" in cmd for cmd in first_run.argv_seen)
    assert any("-m pulumi.dynamic" in cmd for cmd in first_run.argv_seen)  # the provider process, too
    for cmd in first_run.argv_seen:
        for secret in first_run.secrets:
            assert secret not in cmd
    for argv in first_run.kubectl.calls():
        assert not any(secret in arg for arg in argv for secret in first_run.secrets)
