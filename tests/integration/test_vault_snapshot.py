"""Vault Raft snapshots on a real OpenBao Raft cluster and moto S3, with what the program renders:

- the snapshot identity (the program's `vault-snapshot` policy and Kubernetes-auth role, logged in through a fake
  TokenReview endpoint) reads `sys/storage/raft/snapshot` and nothing else: writing or reading secrets, restoring,
  touching policies: 403; another ServiceAccount or namespace cannot log in as it;
- the CronJob's script (the rendered ConfigMap's text, run with the CronJob's environment) logs in, saves a
  snapshot and uploads it to S3, and deletes snapshots older than the retention;
- restore (root token, `sys/storage/raft/snapshot-force`): data written after the snapshot is gone, data from
  before is back.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

from components.settings import names
from tests.fixtures.fake_tokenreview import FakeTokenReview, service_account_jwt
from tests.fixtures.openbao import BaoCluster, free_port
from tests.harness.program import ProgramRun, run_stack

BUCKET = "oci-registry"
PREFIX = names.VAULT_SNAPSHOT_PREFIX
VAULT_NS = "vault"


@dataclass
class Env:
    cluster: BaoCluster
    address: str
    root: str
    run: ProgramRun
    s3: str

    def call(self, method: str, path: str, token: str, **kwargs) -> requests.Response:
        return self.cluster.session().request(
            method, f"{self.address}/v1/{path}", headers={"X-Vault-Token": token}, timeout=30, **kwargs
        )

    def login(self, namespace: str, account: str) -> requests.Response:
        body = {"role": names.VAULT_SNAPSHOT_IDENTITY, "jwt": service_account_jwt(namespace, account)}
        return self.cluster.session().post(f"{self.address}/v1/auth/kubernetes/login", json=body, timeout=10)


def _wait(predicate, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out: {what}")


def _active(cluster: BaoCluster) -> str:
    for node in cluster.nodes:
        health = cluster.health(node.name)
        if health["initialized"] and not health["sealed"] and not health["standby"]:
            return node.addr
    raise requests.RequestException("no active node yet")


def _apply_program_identity(env: Env, tokenreview: FakeTokenReview) -> None:
    """The snapshot policy and role exactly as the program registers them (pulumi-vault inputs)."""
    policy = env.run.named(f"policy-{names.VAULT_SNAPSHOT_IDENTITY}").inputs
    role = env.run.named(f"role-{names.VAULT_SNAPSHOT_IDENTITY}").inputs
    root = env.root
    assert env.call("POST", "sys/auth/kubernetes", root, json={"type": "kubernetes"}).ok
    config = {"kubernetes_host": tokenreview.address, "kubernetes_ca_cert": tokenreview.ca_pem}
    assert env.call("POST", "auth/kubernetes/config", root, json=config).ok
    assert env.call("PUT", f"sys/policies/acl/{policy['name']}", root, json={"policy": policy["policy"]}).ok
    body = {
        "bound_service_account_names": role["boundServiceAccountNames"],
        "bound_service_account_namespaces": role["boundServiceAccountNamespaces"],
        "token_policies": role["tokenPolicies"],
        "token_ttl": int(role["tokenTtl"]),
    }
    assert env.call("POST", f"auth/kubernetes/role/{role['roleName']}", root, json=body).ok


@pytest.fixture(scope="module")
def env(bao_cluster_factory) -> Iterator[Env]:
    cluster = bao_cluster_factory()
    init = cluster.client(0).sys.initialize(secret_shares=1, secret_threshold=1)
    for node in cluster.nodes:
        _wait(lambda n=node: cluster.health(n.name)["initialized"], f"{node.name} joined")
        cluster.client(node.name).sys.submit_unseal_key(init["keys"][0])
    _wait(lambda: bool(_active(cluster)), "an active node")
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    tokenreview = FakeTokenReview().start()
    try:
        _wait(lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close() is None, "moto")
        s3 = f"http://127.0.0.1:{port}"
        environment = Env(cluster, _active(cluster), init["root_token"], run_stack("local"), s3)
        _apply_program_identity(environment, tokenreview)
        assert environment.call("POST", "sys/mounts/kv", environment.root, json={"type": "kv"}).ok
        _client(s3).create_bucket(Bucket=BUCKET)
        yield environment
    finally:
        tokenreview.stop()
        moto.stop()
        cluster.kill()


def _client(s3: str):
    return boto3.client(
        "s3", endpoint_url=s3, region_name="us-east-1", aws_access_key_id="minio-user", aws_secret_access_key="k"
    )


def _snapshot_token(env: Env) -> str:
    login = env.login(VAULT_NS, names.VAULT_SNAPSHOT_IDENTITY)
    assert login.ok, login.text
    return login.json()["auth"]["client_token"]


def test_the_snapshot_identity_reads_snapshots_and_nothing_else(env: Env):
    token = _snapshot_token(env)
    snapshot = env.call("GET", "sys/storage/raft/snapshot", token)
    assert snapshot.status_code == 200 and len(snapshot.content) > 1000
    refused = [
        ("POST", "kv/app/secret", {"json": {"v": "x"}}),
        ("GET", "kv/app/secret", {}),
        ("POST", "sys/storage/raft/snapshot", {"data": snapshot.content}),
        ("POST", "sys/storage/raft/snapshot-force", {"data": snapshot.content}),
        ("PUT", "sys/policies/acl/mine", {"json": {"policy": 'path "*" { capabilities = ["sudo"] }'}}),
        ("POST", "auth/kubernetes/role/mine", {"json": {"token_policies": ["root"]}}),
        ("GET", "sys/storage/raft/configuration", {}),
        ("POST", "sys/mounts/other", {"json": {"type": "kv"}}),
    ]
    for method, path, kwargs in refused:
        assert env.call(method, path, token, **kwargs).status_code == 403, (method, path)


def test_only_the_cronjobs_service_account_in_vaults_namespace_logs_in(env: Env):
    assert env.login(VAULT_NS, names.VAULT_SNAPSHOT_IDENTITY).ok
    assert env.login("sms-proxy", names.VAULT_SNAPSHOT_IDENTITY).status_code == 403  # same name, other namespace
    assert env.login(VAULT_NS, "vault").status_code == 403  # Vault's own ServiceAccount


def _run_script(
    env: Env, tmp_path: Path, retention_days: int = 14, jwt_namespace: str = VAULT_NS
) -> subprocess.CompletedProcess[str]:
    """The CronJob's script with the CronJob's environment (values from the rendered CronJob where they exist)."""
    objects = env.run.k8s_objects()
    script = next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith("-script"))
    cronjob = next(o for o in objects if o["kind"] == "CronJob" and o["metadata"]["name"] == "vault-snapshot")
    rendered_env = {
        e["name"]: e["value"]
        for e in cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    (tmp_path / "vault-snapshot.sh").write_text(script["data"]["vault-snapshot.sh"])
    (tmp_path / "jwt").write_text(service_account_jwt(jwt_namespace, names.VAULT_SNAPSHOT_IDENTITY))
    (tmp_path / "credentials").write_text("[default]\naws_access_key_id = minio-user\naws_secret_access_key = k\n")
    local = {
        **rendered_env,
        # Where the pod's mounts and Services are, this test has files and 127.0.0.1 ports.
        "VAULT_ADDR": env.address,
        "VAULT_CACERT": str(env.cluster.ca_file),
        "JWT_FILE": str(tmp_path / "jwt"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "S3_ENDPOINT": env.s3,
        "S3_CA_FILE": "",
        "RETENTION_DAYS": str(retention_days),
        "TMPDIR": str(tmp_path),
    }
    assert rendered_env["S3_PREFIX"] == PREFIX and rendered_env["S3_BUCKET"] == BUCKET
    assert rendered_env["VAULT_ROLE"] == names.VAULT_SNAPSHOT_IDENTITY
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    return subprocess.run(
        ["/bin/sh", str(tmp_path / "vault-snapshot.sh")],
        env={**base, **local},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _read_kv(env: Env, path: str) -> int:
    return env.call("GET", f"kv/{path}", env.root).status_code


def test_the_cronjob_script_uploads_a_snapshot_that_restores(env: Env, tmp_path: Path):
    assert env.call("POST", "kv/before", env.root, json={"v": "1"}).ok
    result = _run_script(env, tmp_path)
    assert result.returncode == 0, result.stderr
    s3 = _client(env.s3)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX + "/").get("Contents", [])]
    assert len(keys) == 1 and keys[0].startswith(f"{PREFIX}/snapshot-")
    snapshot = s3.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read()
    # No secret in what the script printed (its output lands in the pod log).
    assert "hvs." not in result.stdout + result.stderr and "aws_secret" not in result.stdout + result.stderr

    assert env.call("POST", "kv/after", env.root, json={"v": "2"}).ok
    assert _read_kv(env, "after") == 200
    restore = env.call("POST", "sys/storage/raft/snapshot-force", env.root, data=snapshot)
    assert restore.status_code == 204, restore.text
    _wait(lambda: _read_kv(env, "after") == 404 and _read_kv(env, "before") == 200, "the restored state")


def test_the_script_deletes_snapshots_older_than_the_retention(env: Env, tmp_path: Path):
    s3 = _client(env.s3)
    old, recent = f"{PREFIX}/snapshot-20200101T000000Z.snap", f"{PREFIX}/snapshot-29990101T000000Z.snap"
    other = "registry/docker/blob"  # another prefix in the same bucket is never touched
    for key in (old, recent, other):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    result = _run_script(env, tmp_path, retention_days=3)
    assert result.returncode == 0, result.stderr
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}
    assert old not in keys and recent in keys and other in keys
    assert f"deleted {old}" in result.stdout


def test_a_refused_login_fails_the_job_and_uploads_nothing(env: Env, tmp_path: Path):
    # The job must fail loudly (Kubernetes reports a failed Job), never succeed without a snapshot.
    before = _client(env.s3).list_objects_v2(Bucket=BUCKET, Prefix=PREFIX + "/").get("KeyCount", 0)
    result = _run_script(env, tmp_path, jwt_namespace="sms-proxy")
    assert result.returncode != 0 and "403" in result.stderr
    assert _client(env.s3).list_objects_v2(Bucket=BUCKET, Prefix=PREFIX + "/").get("KeyCount", 0) == before
