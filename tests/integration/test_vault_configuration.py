"""The program's Vault configuration, applied to a real OpenBao exactly as the mock run registered it.

The pulumi-vault resources cannot run without a Pulumi engine, so this module takes each one's inputs
from `run_stack("local")` and sends the equivalent API call (the small mapping below) with the admin
AppRole token the real bootstrap provider created, on a fresh 3-node Raft cluster that the real
init/unseal providers prepared. Then it checks behaviour derived from the rendered manifests: every
Vault path a VSO or vault-config-operator object uses is reachable by the role it logs in with (a
Kubernetes-auth login through a fake TokenReview endpoint), and nothing else is.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from components.settings.placement import IN_CLUSTER_API
from components.vault_runtime.providers import (
    VaultBootstrapProvider,
    VaultInitProvider,
    VaultUnsealProvider,
    bootstrap_inputs,
    init_inputs,
    unseal_inputs,
)
from tests.fixtures.fake_tokenreview import FakeTokenReview, service_account_jwt
from tests.fixtures.openbao import BaoCluster
from tests.harness.program import ProgramRun, Registration, run_stack
from tests.harness.vault_auth import vso_logins

pytest_plugins = ["tests.fixtures.openbao"]
pytestmark = pytest.mark.slow


# --- pulumi-vault inputs -> Vault API (keep this mapping small) -----------------------------------------------


def _mount(api: VaultApi, i: dict[str, Any]) -> None:
    body = {"type": i["type"], "description": i.get("description", ""), "options": i.get("options") or {}}
    api.write(f"sys/mounts/{i['path']}", body)


def _auth_backend(api: VaultApi, i: dict[str, Any]) -> None:
    api.write(f"sys/auth/{i.get('path') or i['type']}", {"type": i["type"], "description": i.get("description", "")})


def _auth_config(api: VaultApi, i: dict[str, Any]) -> None:
    # The one host-specific rewrite: the in-cluster API server becomes the fake TokenReview endpoint.
    assert i["kubernetesHost"] == IN_CLUSTER_API
    body = {"kubernetes_host": api.tokenreview.address, "kubernetes_ca_cert": api.tokenreview.ca_pem}
    body["disable_local_ca_jwt"] = i.get("disableLocalCaJwt", False)
    api.write(f"auth/{i['backend']}/config", body)


def _auth_role(api: VaultApi, i: dict[str, Any]) -> None:
    body = {
        "bound_service_account_names": i["boundServiceAccountNames"],
        "bound_service_account_namespaces": i["boundServiceAccountNamespaces"],
        "token_policies": i["tokenPolicies"],
        "token_ttl": int(i.get("tokenTtl") or 0),
        "token_max_ttl": int(i.get("tokenMaxTtl") or 0),
    }
    api.write(f"auth/{i['backend']}/role/{i['roleName']}", body)


def _policy(api: VaultApi, i: dict[str, Any]) -> None:
    api.write(f"sys/policies/acl/{i['name']}", {"policy": i["policy"]})


def _transit_key(api: VaultApi, i: dict[str, Any]) -> None:
    api.write(f"{i['backend']}/keys/{i['name']}", {})


def _kv_secret(api: VaultApi, i: dict[str, Any]) -> None:
    api.write(i["path"], json.loads(i["dataJson"]))


APPLY: dict[str, Callable[[VaultApi, dict[str, Any]], None]] = {
    "vault:index/mount:Mount": _mount,
    "vault:index/authBackend:AuthBackend": _auth_backend,
    "vault:index/policy:Policy": _policy,
    "vault:kubernetes/authBackendConfig:AuthBackendConfig": _auth_config,
    "vault:kubernetes/authBackendRole:AuthBackendRole": _auth_role,
    "vault:transit/secretBackendKey:SecretBackendKey": _transit_key,
    "vault:kv/secret:Secret": _kv_secret,
}
# Apply in an order that respects the resources' dependencies (mounts and backends before what uses them).
ORDER = list(APPLY)


@dataclass
class VaultApi:
    address: str
    session: requests.Session
    tokenreview: FakeTokenReview
    token: str = ""

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, token: str | None = None):
        return self.session.request(
            method, f"{self.address}/v1/{path}", json=body, headers={"X-Vault-Token": token or self.token}, timeout=10
        )

    def write(self, path: str, body: dict[str, Any]) -> None:
        response = self.call("POST", path, body)
        assert response.status_code in (200, 204), f"POST {path}: {response.status_code} {response.text}"

    def capabilities(self, token: str, paths: list[str]) -> dict[str, list[str]]:
        response = self.call("POST", "sys/capabilities-self", {"paths": paths}, token=token)
        assert response.ok, response.text
        return {path: response.json()[path] for path in paths}

    def login(self, role: str, namespace: str, service_account: str) -> requests.Response:
        jwt = service_account_jwt(namespace, service_account)
        return self.session.post(
            f"{self.address}/v1/auth/kubernetes/login", json={"role": role, "jwt": jwt}, timeout=10
        )


@dataclass
class Configured:
    run: ProgramRun
    api: VaultApi
    applied: list[Registration]


def _active(cluster: BaoCluster) -> str:
    for node in cluster.nodes:
        health = cluster.health(node.name)
        if not health["sealed"] and not health["standby"]:
            return node.addr
    raise AssertionError("no active node")


@pytest.fixture(scope="module")
def configured(bao_cluster_factory) -> Iterator[Configured]:
    run = run_stack("local")
    init_reg, boot_reg = run.named("vault-init"), run.named("vault-bootstrap")
    cluster = bao_cluster_factory()
    connect = cluster.connect_factory()
    conn = cluster.connection()
    shares, threshold = int(init_reg.inputs["secret_shares"]), int(init_reg.inputs["secret_threshold"])
    init = (
        VaultInitProvider(connect)
        .create(init_inputs(connection=conn, secret_shares=shares, secret_threshold=threshold))
        .outs
    )
    VaultUnsealProvider(connect).create(
        unseal_inputs(connection=conn, keys=init["keys_b64"], threshold=threshold, timeout_seconds=60)
    )
    boot = (
        VaultBootstrapProvider(connect)
        .create(
            bootstrap_inputs(
                connection=conn, root_token=init["root_token"], admin_policy=boot_reg.inputs["admin_policy"]
            )
        )
        .outs
    )
    tokenreview = FakeTokenReview().start()
    try:
        api = VaultApi(_active(cluster), cluster.session(), tokenreview)
        login = api.session.post(
            f"{api.address}/v1/auth/approle/login",
            json={"role_id": boot["role_id"], "secret_id": boot["secret_id"]},
            timeout=10,
        )
        assert login.ok, login.text
        api.token = login.json()["auth"]["client_token"]
        applied = []
        for type_ in ORDER:
            for registration in run.of_type(type_):
                APPLY[type_](api, registration.inputs)
                applied.append(registration)
        yield Configured(run, api, applied)
    finally:
        tokenreview.stop()
        cluster.kill()


def test_every_vault_resource_of_the_program_is_mapped(configured: Configured):
    registered = {r.type for r in configured.run.registrations if r.type.startswith("vault:")}
    assert registered <= set(APPLY), f"unmapped pulumi-vault types: {registered - set(APPLY)}"
    assert len(configured.applied) == len([r for r in configured.run.registrations if r.type in APPLY])


def test_admin_approle_configured_everything_and_state_matches(configured: Configured):
    """The admin policy was enough for every call (the fixture asserts each), and the result is there."""
    api = configured.api
    mounts = api.call("GET", "sys/mounts").json()["data"]
    assert {"kv2/", "kv/", "transit/", "postgresql/"} <= set(mounts)
    assert mounts["kv2/"]["options"]["version"] == "2" and mounts["postgresql/"]["type"] == "database"
    assert "kubernetes/" in api.call("GET", "sys/auth").json()["data"]
    assert api.call("GET", "transit/keys/vso-client-cache").ok


def test_admin_approle_cannot_escalate(configured: Configured):
    api = configured.api
    caps = api.capabilities(
        api.token,
        ["sys/policies/acl/platform-admin", "sys/raw/core", "auth/approle/role/platform-admin", "kv2/data/sms-proxy/x"],
    )
    assert caps["sys/policies/acl/platform-admin"] == ["read"]
    assert all(caps[path] == ["deny"] for path in list(caps)[1:]), caps


# --- what the operators' objects need, derived from the rendered manifests ------------------------------------


def _vso_needs(run: ProgramRun) -> dict[tuple[str, str, str], set[str]]:
    """(role, namespace, ServiceAccount) -> Vault paths read by the VSO objects that log in as it (the VaultAuth
    each object names, or VSO's default one: tests/harness/vault_auth.py)."""
    release = next(r for r in run.of_type("kubernetes:helm.sh/v3:Release") if r.name == "vault-secrets-operator")
    objects = run.k8s_objects()
    auths = [o for o in objects if o["kind"] == "VaultAuth"]
    needs: dict[tuple[str, str, str], set[str]] = {}
    for obj in objects:
        if obj["kind"] not in ("VaultStaticSecret", "VaultDynamicSecret"):
            continue
        logins = vso_logins([*auths, obj], release.inputs["values"], release.inputs["namespace"])
        (login,) = [x for x in logins if x.namespace == obj["metadata"]["namespace"]]
        spec = obj["spec"]
        if obj["kind"] == "VaultStaticSecret" and spec["type"] == "kv-v2":
            path = f"{spec['mount']}/data/{spec['path']}"
        else:
            path = f"{spec['mount']}/{spec['path']}"
        needs.setdefault((login.role, login.namespace, login.service_account), set()).add(path)
    return needs


def _config_operator_needs(run: ProgramRun) -> dict[tuple[str, str, str], set[str]]:
    """(role, namespace, ServiceAccount) -> Vault paths the vault-config-operator objects write."""
    needs: dict[tuple[str, str, str], set[str]] = {}
    for obj in run.k8s_objects():
        if not obj["apiVersion"].startswith("redhatcop.redhat.io/"):
            continue
        spec, name = obj["spec"], obj["metadata"]["name"]
        auth = spec["authentication"]
        key = (auth["role"], obj["metadata"]["namespace"], auth["serviceAccount"]["name"])
        path = {
            "PasswordPolicy": f"sys/policies/password/{name}",
            "RandomSecret": f"{spec.get('path')}/{name}",
            "DatabaseSecretEngineConfig": f"{spec.get('path')}/config/{name}",
            "DatabaseSecretEngineRole": f"{spec.get('path')}/roles/{name}",
        }[obj["kind"]]
        needs.setdefault(key, set()).add(path)
    return needs


def _login(api: VaultApi, role: str, namespace: str, service_account: str) -> str:
    response = api.login(role, namespace, service_account)
    assert response.ok, f"{role} login as {namespace}/{service_account}: {response.status_code} {response.text}"
    return response.json()["auth"]["client_token"]


def test_vso_logins_can_read_exactly_what_their_objects_use(configured: Configured):
    api, run = configured.api, configured.run
    needs = _vso_needs(run)
    assert needs, "no VSO objects rendered"
    for (role, namespace, service_account), paths in needs.items():
        token = _login(api, role, namespace, service_account)
        caps = api.capabilities(token, sorted(paths))
        assert all("read" in c for c in caps.values()), caps
        denied = api.capabilities(token, ["sys/mounts", "kv/other-namespace/x", "postgresql/config/x", "kv2/metadata/"])
        assert all(c == ["deny"] for c in denied.values()), denied
        # Reading is all VSO does: no writes to what it reads.
        assert all("update" not in c and "create" not in c for c in caps.values()), caps


def test_one_vso_role_per_namespace_reads_only_that_namespaces_paths(configured: Configured):
    """The issue's attack: a VaultDynamicSecret in MinIO's namespace asking for the app's DDL `migrations`
    credentials. MinIO's namespace logs in with its own role, whose token is refused every path of the app's."""
    api, run = configured.api, configured.run
    needs = _vso_needs(run)
    by_namespace = {namespace: (role, account) for role, namespace, account in needs}
    assert len(by_namespace) == len(needs), f"a namespace logs in with two roles: {sorted(needs)}"
    app_role, app_account = by_namespace["sms-proxy"]
    minio_role, minio_account = by_namespace["minio"]
    assert app_role != minio_role
    app_paths = needs[(app_role, "sms-proxy", app_account)]
    minio_paths = needs[(minio_role, "minio", minio_account)]
    assert "postgresql/creds/migrations" in app_paths
    minio_token = _login(api, minio_role, "minio", minio_account)
    stolen = sorted(app_paths - minio_paths)
    assert all(c == ["deny"] for c in api.capabilities(minio_token, stolen).values()), stolen
    response = api.call("GET", "postgresql/creds/migrations", token=minio_token)
    assert response.status_code == 403, response.text
    # ... and the app namespace cannot read MinIO's root password.
    app_token = _login(api, app_role, "sms-proxy", app_account)
    assert api.capabilities(app_token, ["kv/sms-proxy/minio-root"]) == {"kv/sms-proxy/minio-root": ["deny"]}
    # MinIO's ServiceAccount cannot log in with the app's role either (bound to the app namespace only).
    assert api.login(app_role, "minio", minio_account).status_code in (400, 403)


def test_vso_cache_encryption_key_is_usable_by_the_controller(configured: Configured):
    api, run = configured.api, configured.run
    values = next(r for r in run.of_type("kubernetes:helm.sh/v3:Release") if r.name == "vault-secrets-operator")
    cache = values.inputs["values"]["controller"]["manager"]["clientCache"]["storageEncryption"]
    token = _login(api, cache["kubernetes"]["role"], values.inputs["namespace"], cache["kubernetes"]["serviceAccount"])
    mount, key = cache["transitMount"], cache["keyName"]
    caps = api.capabilities(token, [f"{mount}/encrypt/{key}", f"{mount}/decrypt/{key}", f"{mount}/keys/{key}"])
    assert "update" in caps[f"{mount}/encrypt/{key}"] and "update" in caps[f"{mount}/decrypt/{key}"], caps
    assert "update" not in caps[f"{mount}/keys/{key}"], caps


def test_config_operator_logins_can_write_what_their_objects_manage(configured: Configured):
    api, run = configured.api, configured.run
    needs = _config_operator_needs(run)
    assert needs, "no vault-config-operator objects rendered"
    for (role, namespace, service_account), paths in needs.items():
        token = _login(api, role, namespace, service_account)
        caps = api.capabilities(token, sorted(paths))
        assert all({"create", "update"} <= set(c) for c in caps.values()), caps
        denied = api.capabilities(token, ["sys/mounts/postgresql", "sys/policies/acl/x", "kv2/data/other/x"])
        assert all(c == ["deny"] for c in denied.values()), denied


def test_roles_refuse_service_accounts_they_do_not_bind(configured: Configured):
    api, run = configured.api, configured.run
    for role in run.of_type("vault:kubernetes/authBackendRole:AuthBackendRole"):
        name = role.inputs["roleName"]
        bound_ns = role.inputs["boundServiceAccountNamespaces"][0]
        bound_sa = role.inputs["boundServiceAccountNames"][0]
        assert api.login(name, "default", bound_sa).status_code in (400, 403)
        assert api.login(name, bound_ns, "default").status_code in (400, 403)
