"""The PostgreSQL / database-engine / migrations / app layers: schema-valid, and wired the way the design says.

Rendered straight from `components.rendering.layers` for both stacks' settings (independent of how a stack applies
them), so a manifest edit that breaks TLS, the rotation-safe root role or the hardening fails here.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from components.rendering import layers
from components.settings import names as contract
from components.vault_runtime import policies
from tests.fixtures.config import IMAGE_SOURCE, stack_settings
from tests.harness.schemas import validate_object

# "app-vso": the Deployment and VSO secrets of the default mode (app-csi: test_app_secrets_delivery.py).
MY_LAYERS = ("vault-config", "postgresql", "database-engine", "migrations", "app", "app-vso")


@pytest.fixture(scope="module", params=("local", "remote"))
def objects(request) -> list[dict[str, Any]]:
    settings = stack_settings(request.param)
    rendered: list[dict[str, Any]] = []
    for name in MY_LAYERS:
        layer = next(layer for layer in layers.LAYERS if layer.name == name)
        rendered.extend(layers.render(settings, layer))
    return rendered


def one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, f"{kind} {name}: {len(found)} objects"
    return found[0]


def test_layers_are_registered_in_dependency_order():
    names = [layer.name for layer in layers.LAYERS]
    for name in MY_LAYERS:
        layer = layers.LAYERS[names.index(name)]
        assert not layer.bootstrap
        assert all(names.index(dep) < names.index(name) for dep in layer.depends_on)
    assert names.index("postgresql") < names.index("database-engine") < names.index("migrations")
    assert names.index("migrations") < names.index("app")


def test_every_object_passes_its_schema(objects):
    problems = []
    for obj in objects:
        try:
            validate_object(obj)
        except AssertionError as error:
            problems.append(str(error))
    assert not problems, "\n".join(problems)


def test_pg_hba_demands_tls_and_a_client_certificate_for_every_remote_login(objects):
    cluster = one(objects, "Cluster")
    rules = cluster["spec"]["postgresql"]["pg_hba"]
    accepting = [r for r in rules if not r.endswith("reject")]
    assert accepting and all(r.startswith("hostssl ") and "clientcert=verify-" in r for r in accepting)
    root = next(r for r in rules if f" {contract.DB_ROOT_USER} " in r)
    assert rules.index(root) == 0 and "clientcert=verify-full" in root and "scram-sha-256" in root
    # Without these, CloudNativePG's appended `host all all all scram-sha-256` would accept plain TCP.
    assert rules[-2:] == ["hostnossl all all all reject", "host all all all reject"]
    assert cluster["spec"]["enableSuperuserAccess"] is False


def test_the_vault_role_is_managed_without_a_password_secret(objects):
    cluster = one(objects, "Cluster")
    roles = {r["name"]: r for r in cluster["spec"]["managed"]["roles"]}
    vault_role = roles[contract.DB_ROOT_USER]
    assert vault_role["login"] and vault_role["createrole"] and not vault_role.get("superuser")
    assert not any("passwordSecret" in r for r in roles.values()), "CloudNativePG would revert Vault's rotation"
    assert roles[vault_role["inRoles"][0]]["login"] is False


def test_cluster_certificates_are_user_provided_without_a_ca_key(objects):
    cluster = one(objects, "Cluster")
    certs = cluster["spec"]["certificates"]
    assert set(certs) == {"serverTLSSecret", "serverCASecret", "clientCASecret", "replicationTLSSecret"}
    replication = next(
        c for c in objects if c["kind"] == "Certificate" and c["spec"]["secretName"] == certs["replicationTLSSecret"]
    )
    assert replication["spec"]["commonName"] == "streaming_replica"
    assert "client auth" in replication["spec"]["usages"]
    server = next(
        c for c in objects if c["kind"] == "Certificate" and c["spec"]["secretName"] == certs["serverTLSSecret"]
    )
    assert f"{contract.POSTGRES_CLUSTER}-rw.sms-proxy.svc" in server["spec"]["dnsNames"]
    assert all(c["spec"]["issuerRef"]["name"] == "issuer-leaf" for c in objects if c["kind"] == "Certificate")


def test_engine_connection_verifies_the_server_and_presents_the_mounted_client_certificate(objects):
    config = one(objects, "DatabaseSecretEngineConfig")["spec"]
    url = config["connectionURL"]
    assert "sslmode=verify-full" in url
    assert f"@{contract.POSTGRES_CLUSTER}-rw.sms-proxy.svc:5432/" in url
    for key, file in (("sslrootcert", "ca.crt"), ("sslcert", "tls.crt"), ("sslkey", "tls.key")):
        assert f"{key}={contract.POSTGRES_CLIENT_CERT_DIR}/{file}" in url
    assert config["username"] == contract.DB_ROOT_USER
    assert config["rootPasswordRotation"] == {"enable": True, "rotationPeriod": "24h"}
    assert config["path"] == contract.DATABASE_MOUNT
    assert sorted(config["allowedRoles"]) == sorted(policies.DB_ROLES)


def test_dynamic_roles_have_the_configured_ttls(objects):
    roles = {o["metadata"]["name"]: o["spec"] for o in objects if o["kind"] == "DatabaseSecretEngineRole"}
    assert roles[contract.DB_APP_ROLE]["defaultTTL"] == "12h"
    assert roles[contract.DB_MIGRATIONS_ROLE]["defaultTTL"] == "5m"
    for spec in roles.values():
        assert spec["dBName"] == contract.DB_CONNECTION
        assert any(s.startswith('DROP ROLE IF EXISTS "{{name}}"') for s in spec["revocationStatements"])


def test_every_vault_operator_resource_authenticates_with_the_contract_role(objects):
    for obj in objects:
        group = obj["apiVersion"].split("/")[0]
        if group == "redhatcop.redhat.io":
            auth = obj["spec"]["authentication"]
            assert auth["role"] == contract.CONFIG_OPERATOR_ROLE
            assert auth["serviceAccount"]["name"] == contract.CONFIG_OPERATOR_SERVICE_ACCOUNT
        if group == "secrets.hashicorp.com":
            assert "vaultAuthRef" not in obj["spec"], "VSO resources use the default VaultAuth"


def test_app_secrets_restart_the_deployment(objects):
    deployment = one(objects, "Deployment")["metadata"]["name"]
    app_secrets = [
        one(objects, "VaultStaticSecret", f"{deployment}-common"),
        one(objects, "VaultDynamicSecret", f"{deployment}-db"),
    ]
    for obj in app_secrets:
        assert obj["spec"]["rolloutRestartTargets"] == [{"kind": "Deployment", "name": deployment}]


def _containers(pod_spec: dict[str, Any]) -> list[dict[str, Any]]:
    return pod_spec.get("initContainers", []) + pod_spec["containers"]


@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_workloads_are_hardened(objects, kind):
    pod = one(objects, kind)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    assert pod["imagePullSecrets"] == [{"name": contract.REGISTRY_PULL_SECRET}]
    for container in _containers(pod):
        sc = container["securityContext"]
        assert sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"]
        assert sc["capabilities"]["drop"] == ["ALL"]
        assert container["resources"]["limits"]["memory"] and container["resources"]["requests"]["cpu"]


def test_migrations_job_has_a_stable_name_and_is_force_replaced(objects):
    job = one(objects, "Job")
    assert job["metadata"]["name"] == "sms-proxy-migrations"
    assert job["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/force"] == "enabled"
    assert job["spec"]["backoffLimit"] >= 1 and job["spec"]["ttlSecondsAfterFinished"] > 0
    url = one(objects, "ConfigMap", "sms-proxy-migrations")["data"]["FLYWAY_URL"]
    assert url.startswith("jdbc:postgresql://") and "sslmode=verify-full" in url and "sslkey=" in url


def test_deployment_probes_and_config_follow_settings():
    app = {"replicas": 3, "logLevel": "debug", "env": {"FEATURE_X": "on"}, **IMAGE_SOURCE}
    settings = stack_settings("local", app=app)
    rendered = [
        obj
        for layer in layers.active_layers(settings)
        if layer.name in ("app", "app-vso")
        for obj in layers.render(settings, layer)
    ]
    deployment = one(rendered, "Deployment")
    assert deployment["spec"]["replicas"] == 3
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["path"] == "/healthz"
    assert one(rendered, "ConfigMap", "sms-proxy-config")["data"]["LOG_LEVEL"] == "debug"
    assert one(rendered, "ConfigMap", "sms-proxy-env")["data"] == {"FEATURE_X": "on"}


def test_password_policy_is_20_chars_with_four_classes(objects):
    policy = one(objects, "PasswordPolicy")["spec"]["passwordPolicy"]
    assert re.search(r"length\s*=\s*20", policy)
    assert policy.count('rule "charset"') == 4 and policy.count("min-chars = 1") == 4
    # Passwords end up inside SQL literals and URLs.
    assert not set("'\"\\$") & set(re.findall(r'charset\s*=\s*"([^"]*)"', policy)[-1])


@pytest.mark.parametrize("hcl_of", [policies.vso_policy_hcl, policies.config_operator_policy_hcl])
def test_policies_have_no_globs_and_no_sudo(hcl_of):
    hcl = hcl_of(stack_settings("local"))
    assert "*" not in hcl and "sudo" not in hcl
    assert all(line.startswith(("path ", "  capabilities", "}")) or not line for line in hcl.splitlines())


def test_bootstrap_sql_and_initial_password_template_agree_on_roles(objects):
    sql = one(objects, "ConfigMap", f"{contract.POSTGRES_CLUSTER}-bootstrap-sql")["data"]["bootstrap.sql"]
    initial = one(objects, "VaultStaticSecret", f"{contract.DB_ROOT_INITIAL_SECRET}-sql")
    template = initial["spec"]["destination"]["transformation"]["templates"]
    assert f"CREATE ROLE {contract.DB_ROOT_USER} WITH LOGIN CREATEROLE" in template["init.sql"]["text"]
    assert f"TO {contract.DB_ROOT_USER} WITH ADMIN OPTION" in sql
    refs = one(objects, "Cluster")["spec"]["bootstrap"]["initdb"]["postInitApplicationSQLRefs"]
    # CloudNativePG runs Secret refs before ConfigMap refs: the role exists before it is granted anything.
    assert refs["secretRefs"] == [{"name": initial["spec"]["destination"]["name"], "key": "init.sql"}]
    assert refs["configMapRefs"][0]["name"] == f"{contract.POSTGRES_CLUSTER}-bootstrap-sql"
