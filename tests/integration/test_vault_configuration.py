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
    BOOTSTRAP_SETTINGS,
    VaultBootstrapProvider,
    VaultInitProvider,
    VaultUnsealProvider,
    bootstrap_inputs,
    init_inputs,
    unseal_inputs,
)
from tests.fixtures.fake_tokenreview import FakeTokenReview, service_account_jwt
from tests.fixtures.openbao import HASHICORP_AUDIT, BaoCluster
from tests.harness.program import ProgramRun, Registration, run_stack
from tests.harness.vault_auth import vso_logins

pytest_plugins = ["tests.fixtures.openbao"]
pytestmark = pytest.mark.slow


# --- pulumi-vault inputs -> Vault API (keep this mapping small) -----------------------------------------------


# The bodies terraform-provider-vault 5.x (pulumi-vault 7.x) sends: the admin policy pins parameters, so the test
# sends every field the provider does (vault/api MountInput, EnableAuthOptions; the resources' create functions).
MOUNT_CONFIG = {"default_lease_ttl": "0s", "max_lease_ttl": "0s", "force_no_cache": False, "options": None}


def _mount(api: VaultApi, i: dict[str, Any]) -> None:
    body = {
        "type": i["type"],
        "description": i.get("description", ""),
        "config": MOUNT_CONFIG,
        "local": False,
        "seal_wrap": False,
        "external_entropy_access": False,
        "options": i.get("options") or None,
    }
    api.write(f"sys/mounts/{i['path']}", body)


def _auth_backend(api: VaultApi, i: dict[str, Any]) -> None:
    body = {"type": i["type"], "description": i.get("description", ""), "config": MOUNT_CONFIG, "local": False}
    api.write(f"sys/auth/{i.get('path') or i['type']}", {**body, "seal_wrap": False, "external_entropy_access": False})


def _auth_config(api: VaultApi, i: dict[str, Any]) -> None:
    # The one host-specific rewrite (also in the admin policy's pin): the in-cluster API server becomes the fake
    # TokenReview endpoint, whose CA OpenBao (not in a pod) needs.
    assert i["kubernetesHost"] == IN_CLUSTER_API
    body: dict[str, Any] = {"kubernetes_host": api.tokenreview.address, "kubernetes_ca_cert": api.tokenreview.ca_pem}
    body.update(disable_iss_validation=True, use_annotations_as_alias_metadata=False)
    if i.get("disableLocalCaJwt"):
        body["disable_local_ca_jwt"] = True  # sent only when true (GetOk)
    api.write(f"auth/{i['backend']}/config", body)


def _auth_role(api: VaultApi, i: dict[str, Any]) -> None:
    body = {
        "bound_service_account_names": i["boundServiceAccountNames"],
        "bound_service_account_namespaces": i["boundServiceAccountNamespaces"],
        "bound_service_account_namespace_selector": "",
        "token_policies": i["tokenPolicies"],
        "token_ttl": int(i.get("tokenTtl") or 0),
        "token_max_ttl": int(i.get("tokenMaxTtl") or 0),
        "token_type": "default",
    }
    api.write(f"auth/{i['backend']}/role/{i['roleName']}", body)


def _policy(api: VaultApi, i: dict[str, Any]) -> None:
    api.write(f"sys/policies/acl/{i['name']}", {"policy": i["policy"]})


def _transit_key(api: VaultApi, i: dict[str, Any]) -> None:
    key = f"{i['backend']}/keys/{i['name']}"
    api.write(key, {"type": "aes256-gcm96", "derived": False, "convergent_encryption": False, "auto_rotate_period": 0})
    config = {"min_decryption_version": 1, "min_encryption_version": 0, "exportable": False}
    api.write(
        f"{key}/config", {**config, "deletion_allowed": bool(i.get("deletionAllowed")), "allow_plaintext_backup": False}
    )


def _kv_secret(api: VaultApi, i: dict[str, Any]) -> None:
    api.write(i["path"], json.loads(i["dataJson"]))


AUTH_ROLE = "vault:kubernetes/authBackendRole:AuthBackendRole"
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


def admin_policy_for_the_test(policy: str, tokenreview: FakeTokenReview) -> str:
    """The registered admin policy with the same host rewrite as `_auth_config` (its pinned `kubernetes_host`)."""
    pinned = json.dumps(IN_CLUSTER_API)
    assert pinned in policy
    return policy.replace(pinned, json.dumps(tokenreview.address))


@pytest.fixture(scope="module")
def configured(bao_cluster_factory) -> Iterator[Configured]:
    run = run_stack("local")
    init_reg, boot_reg = run.named("vault-init"), run.named("vault-bootstrap")
    cluster = bao_cluster_factory(server_extra=HASHICORP_AUDIT)  # the chart deploys HashiCorp Vault
    connect = cluster.connect_factory()
    conn = cluster.connection()
    shares, threshold = int(init_reg.inputs["secret_shares"]), int(init_reg.inputs["secret_threshold"])
    tokenreview = FakeTokenReview().start()
    try:
        init = (
            VaultInitProvider(connect)
            .create(init_inputs(connection=conn, secret_shares=shares, secret_threshold=threshold))
            .outs
        )
        VaultUnsealProvider(connect).create(
            unseal_inputs(connection=conn, keys=init["keys_b64"], threshold=threshold, timeout_seconds=60)
        )
        inputs = {key: boot_reg.inputs[key] for key in BOOTSTRAP_SETTINGS if key not in ("root_token", "connection")}
        inputs.update(
            admin_policy=admin_policy_for_the_test(boot_reg.inputs["admin_policy"], tokenreview),
            audit_file_path="audit.log",  # each node's own working directory (the chart's path needs a pod)
        )
        boot = (
            VaultBootstrapProvider(connect)
            .create(bootstrap_inputs(connection=conn, root_token=init["root_token"], **inputs))
            .outs
        )
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


ROOT_POLICY = 'path "*" {\n  capabilities = ["create", "read", "update", "delete", "list", "sudo"]\n}\n'
ATTACKER = {"bound_service_account_names": ["attacker"], "bound_service_account_namespaces": ["default"]}
# The issue's escalation chain and its neighbours, each as the admin AppRole's token sends it: all must get 403.
ESCALATIONS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("PUT", "sys/policies/acl/pwn", {"policy": ROOT_POLICY}),
    ("PUT", "sys/policy/pwn", {"policy": ROOT_POLICY}),  # the legacy API
    ("PUT", "sys/policies/acl/platform-admin", {"policy": ROOT_POLICY}),
    ("PUT", "sys/policy/platform-admin", {"policy": ROOT_POLICY}),
    ("PUT", "sys/policies/acl/default", {"policy": ROOT_POLICY}),
    ("PUT", "sys/policy/default", {"policy": ROOT_POLICY}),
    ("PUT", "sys/policies/acl/vault-secrets-operator", {"policy": ROOT_POLICY}),  # a managed name, another body
    ("POST", "auth/kubernetes/role/pwn", {**ATTACKER, "token_policies": ["platform-admin"]}),
    ("POST", "auth/kubernetes/role/vault-operator", {**ATTACKER, "token_policies": ["vault-secrets-operator"]}),
    (
        "POST",
        "auth/kubernetes/role/vault-operator",
        {
            "bound_service_account_names": ["vault-operator-sa"],
            "bound_service_account_namespaces": ["sms-proxy"],
            "token_policies": ["platform-admin"],
        },
    ),
    (
        "POST",
        "auth/kubernetes/role/vault-operator",
        {
            "bound_service_account_names": ["vault-operator-sa"],
            "bound_service_account_namespaces": ["sms-proxy"],
            "token_policies": ["vault-secrets-operator"],
            "policies": ["platform-admin"],  # the legacy alias of token_policies
        },
    ),
    (
        "POST",
        "auth/kubernetes/role/vault-operator",
        {
            "bound_service_account_names": ["vault-operator-sa"],
            "bound_service_account_namespaces": ["sms-proxy"],
            "bound_service_account_namespace_selector": '{"matchLabels": {}}',  # every namespace
            "token_policies": ["vault-secrets-operator"],
        },
    ),
    ("POST", "auth/kubernetes/config", {"kubernetes_host": "https://attacker.example:443"}),
    ("DELETE", "sys/auth/kubernetes", None),
    ("POST", "sys/auth/kubernetes", {"type": "approle"}),
    ("POST", "sys/auth/approle2", {"type": "approle"}),
    ("POST", "sys/auth/kubernetes2", {"type": "kubernetes"}),
    ("POST", "sys/mounts/pwn", {"type": "kv"}),
    ("POST", "sys/mounts/transit", {"type": "pki"}),
    ("POST", "sys/remount", {"from": "kv", "to": "pwn"}),
    ("POST", "auth/token/create", {"policies": ["platform-admin"]}),
    ("POST", "auth/token/create-orphan", {}),
    ("POST", "auth/token/create/pwn", {}),
    ("GET", "sys/audit", None),
    ("PUT", "sys/audit/pwn", {"type": "file", "options": {"file_path": "/tmp/pwn"}}),
    ("DELETE", "sys/audit/file", None),
    ("POST", "sys/audit-hash/file", {"input": "x"}),
    ("POST", "auth/approle/role/pwn", {"token_policies": ["platform-admin"], "bind_secret_id": False}),
    ("POST", "auth/approle/role/platform-admin", {"token_policies": ["platform-admin"], "secret_id_ttl": 0}),
    ("POST", "auth/approle/role/platform-admin/role-id", {"role_id": "known"}),
    ("POST", "auth/approle/role/platform-admin/custom-secret-id", {"secret_id": "known"}),
    ("POST", "auth/approle/role/platform-admin/secret-id", {"cidr_list": ["0.0.0.0/0"]}),
    ("POST", "auth/approle/role/platform-admin/secret-id", {"ttl": "87600h"}),
    ("GET", "sys/raw/core/keyring", None),
    ("PUT", "sys/generate-root-token/attempt", {}),
    ("GET", "kv2/data/sms-proxy/hashing-secret", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ESCALATIONS, ids=[f"{m} {p}" for m, p, _ in ESCALATIONS])
def test_admin_approle_cannot_escalate(configured: Configured, method: str, path: str, body: dict[str, Any] | None):
    """The admin token, with exactly the policy the program writes, after the program's configuration applied."""
    response = configured.api.call(method, path, body)
    assert response.status_code == 403, f"{method} {path}: {response.status_code} {response.text}"


def test_admin_may_rewrite_managed_objects_only_as_the_program_does(configured: Configured):
    """What the pins leave: each managed policy and role written again exactly as registered (an update), and the
    admin's own secret_id minted (rotation; the role's TTL and CIDRs bound it)."""
    api, run = configured.api, configured.run
    for registration in [*run.of_type("vault:index/policy:Policy"), *run.of_type(AUTH_ROLE)]:
        APPLY[registration.type](api, registration.inputs)
    caps = api.capabilities(api.token, ["sys/policies/acl/platform-admin", "sys/auth/kubernetes"])
    assert caps["sys/policies/acl/platform-admin"] == ["read"]
    assert "delete" not in caps["sys/auth/kubernetes"]
    minted = api.call("POST", "auth/approle/role/platform-admin/secret-id", {})
    assert minted.ok, minted.text
    accessor = minted.json()["data"]["secret_id_accessor"]
    destroyed = api.call(
        "POST", "auth/approle/role/platform-admin/secret-id-accessor/destroy", {"secret_id_accessor": accessor}
    )
    assert destroyed.status_code == 204, destroyed.text


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
