"""Vault logins and paths the rendered objects need, derived from the objects (tests/harness/vault_auth.py):

- every VSO login (namespace, ServiceAccount, role) has its ServiceAccount rendered and a Kubernetes-auth role
  of `components/vault/configuration.py` that admits it;
- the VSO policy reads every path a VSO resource syncs; the vault-config-operator policy can write every
  RandomSecret's path (kv v1 `<path>/<name>`, kv v2 `<mount>/data/<folder>/<name>` + metadata delete).
The harness itself is shown to catch a namespace the VaultAuth does not allow, a missing VaultAuth, and a
custom VaultAuth's ServiceAccount/role.
"""

from __future__ import annotations

import pytest

from components.settings import names as contract
from components.settings.load import load_settings
from components.vault.configuration import roles
from components.vault_runtime import policies
from tests.fixtures.config import FakeConfig
from tests.harness.program import ProgramRun, run_stack
from tests.harness.vault_auth import VsoLogin, missing_service_accounts, role_covers, vso_logins, vso_logins_of_run

VARIANTS = {
    "default": {},
    "csi": {"app": {"secretsDelivery": "csi"}},
    "external-s3": {"s3": {"backend": "external", "endpoint": "https://s3.example.com"}},
}
SECRETS = {"external-s3": {"s3AccessKeyId": "AKIAEXAMPLE", "s3SecretAccessKey": "s3-secret"}}


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def local_run(request) -> tuple[str, ProgramRun]:
    return request.param, run_stack("local", VARIANTS[request.param], SECRETS.get(request.param))


def settings_of(variant: str):
    return load_settings(FakeConfig(VARIANTS[variant], SECRETS.get(variant)), "local")


def test_the_default_logins_are_the_expected_ones(local_run):
    variant, run = local_run
    settings = settings_of(variant)
    ns, vault = settings.namespaces, settings.vault
    expected = {
        VsoLogin(ns.app, vault.operator_service_account, vault.operator_role),
        VsoLogin(ns.vault_secrets_operator, contract.VSO_CONTROLLER_SERVICE_ACCOUNT, contract.VSO_CACHE_ROLE),
    }
    if settings.s3.backend == "minio":
        expected.add(VsoLogin(ns.storage, vault.operator_service_account, contract.VSO_STORAGE_ROLE))
    if settings.vault_snapshots:
        # backup.enabled: the snapshot CronJob's S3 credentials, synced into Vault's namespace with its own role.
        expected.add(VsoLogin(ns.vault, contract.VAULT_SNAPSHOT_IDENTITY, contract.VSO_BACKUP_ROLE))
    logins = vso_logins_of_run(run)
    assert logins == expected
    # One role per namespace, and no role admits a second namespace.
    assert len({login.namespace for login in logins}) == len({login.role for login in logins}) == len(logins)
    assert all(len(role.namespaces) == 1 for role in roles(settings))


def test_every_login_has_its_service_account_and_a_role(local_run):
    variant, run = local_run
    settings = settings_of(variant)
    logins = vso_logins_of_run(run)
    # The controller's own ServiceAccount comes from the VSO chart, not from a rendered object.
    chart_accounts = {VsoLogin(settings.namespaces.vault_secrets_operator, contract.VSO_CONTROLLER_SERVICE_ACCOUNT, "")}
    missing = {
        login
        for login in missing_service_accounts(run.k8s_objects(), logins)
        if login._replace(role="") not in chart_accounts
    }
    assert not missing, missing
    for login in logins:
        assert any(role_covers(login, r.name, r.service_accounts, r.namespaces) for r in roles(settings)), login


def _covered(path: str, rules: dict[str, tuple[str, ...]], *needed: str) -> bool:
    """Whether a Vault ACL rule (exact, or `+` = one segment) grants all `needed` capabilities on `path`."""
    parts = path.split("/")
    for pattern, capabilities in rules.items():
        pattern_parts = pattern.split("/")
        matches = len(pattern_parts) == len(parts) and all(
            p in ("+", s) for p, s in zip(pattern_parts, parts, strict=True)
        )
        if matches and set(needed) <= set(capabilities):
            return True
    return False


VSO_RULES = {
    contract.VSO_POLICY: policies.vso_rules,
    contract.VSO_STORAGE_POLICY: policies.vso_storage_rules,
    contract.VSO_CACHE_POLICY: policies.vso_cache_rules,
    contract.VSO_BACKUP_POLICY: policies.vso_backup_rules,
}


def test_each_namespaces_vso_policy_reads_everything_vso_syncs_there(local_run):
    variant, run = local_run
    settings = settings_of(variant)
    by_namespace = {login.namespace: login.role for login in vso_logins_of_run(run)}
    policy_of = {role.name: role.policy for role in roles(settings)}
    synced = [o for o in run.k8s_objects() if o["kind"] in ("VaultStaticSecret", "VaultDynamicSecret")]
    assert synced
    for obj in synced:
        rules = VSO_RULES[policy_of[by_namespace[obj["metadata"]["namespace"]]]](settings)
        spec = obj["spec"]
        if obj["kind"] == "VaultStaticSecret" and spec["type"] == "kv-v2":
            path = f"{spec['mount']}/data/{spec['path']}"
        else:
            path = f"{spec['mount']}/{spec['path']}"
        assert _covered(path, rules, "read"), f"{obj['metadata']['name']}: {path}"


def test_the_config_operator_policy_writes_every_random_secret(local_run):
    variant, run = local_run
    rules = policies.config_operator_rules(settings_of(variant))
    generated = [o for o in run.k8s_objects() if o["kind"] == "RandomSecret"]
    names = {o["metadata"]["name"] for o in generated}
    assert contract.APP_HASHING_SECRET in names
    if variant != "external-s3":
        assert {"minio-root", "s3-registry", "registry-password"} <= names
    for obj in generated:
        spec, name = obj["spec"], obj["metadata"]["name"]
        if spec.get("isKVSecretsEngineV2"):
            mount, _, folder = spec["path"].partition("/data/")
            assert _covered(f"{mount}/data/{folder}/{name}", rules, "create", "read", "update"), name
            assert _covered(f"{mount}/metadata/{folder}/{name}", rules, "delete"), name
        else:
            assert _covered(f"{spec['path']}/{name}", rules, "create", "read", "update", "delete"), name
        assert spec["authentication"]["role"] == contract.CONFIG_OPERATOR_ROLE


# --- the harness catches what it must ----------------------------------------------------------------------

CHART = {
    "defaultAuthMethod": {
        "enabled": True,
        "allowedNamespaces": ["apps-*"],
        "kubernetes": {"role": "reader", "serviceAccount": "vso-sa"},
    }
}


def _secret(namespace: str, ref: str | None = None) -> dict:
    spec = {"mount": "kv", "path": "x", "type": "kv-v1", **({"vaultAuthRef": ref} if ref else {})}
    return {"kind": "VaultStaticSecret", "metadata": {"name": "s", "namespace": namespace}, "spec": spec}


def test_the_default_auth_admits_only_its_allowed_namespaces():
    assert vso_logins([_secret("apps-a")], CHART, "vso") == {VsoLogin("apps-a", "vso-sa", "reader")}
    with pytest.raises(AssertionError, match="does not allow namespace 'minio'"):
        vso_logins([_secret("minio")], CHART, "vso")


def test_a_custom_vault_auth_gives_its_own_account_and_role():
    auth = {
        "kind": "VaultAuth",
        "metadata": {"name": "mine", "namespace": "team"},
        "spec": {"method": "kubernetes", "kubernetes": {"role": "team-role", "serviceAccount": "team-sa"}},
    }
    assert vso_logins([auth, _secret("team", "mine")], CHART, "vso") == {VsoLogin("team", "team-sa", "team-role")}
    with pytest.raises(AssertionError, match="not rendered"):
        vso_logins([_secret("team", "other/missing")], CHART, "vso")


def test_missing_service_accounts_are_reported():
    logins = {VsoLogin("apps-a", "vso-sa", "reader")}
    assert missing_service_accounts([], logins) == logins
    account = {"kind": "ServiceAccount", "metadata": {"name": "vso-sa", "namespace": "apps-a"}}
    assert missing_service_accounts([account], logins) == set()
