"""The admin identity's pieces that need no server: what the admin policy pins, when the secret_id is due for
rotation, the `vault.adminSecretIdTtl` setting, and which server a health or seal-status body comes from.

The real-server replays are in tests/integration/test_vault_configuration.py (escalations) and
tests/integration/vault_runtime/test_secret_id_rotation.py / test_audit_device.py."""

from __future__ import annotations

import pytest

from components.settings.load import load_settings
from components.settings.reader import ConfigError
from components.vault_runtime import flavour
from components.vault_runtime.admin_policy import admin_policy_for, admin_policy_rules_for, assert_least_privilege
from components.vault_runtime.dynamic.bootstrap_provider import rotation_due
from components.vault_runtime.policies import managed_policies, roles
from components.vault_runtime.providers import VaultBootstrapProvider, bootstrap_inputs
from tests.fixtures.config import FakeConfig

# sys/health of hashicorp/vault:2.0.4 and of OpenBao 2.7.2 (fields as each server sends them), and seal-status.
VAULT_2_HEALTH = {
    "initialized": True,
    "sealed": False,
    "standby": False,
    "performance_standby": False,
    "replication_performance_mode": "disabled",
    "replication_dr_mode": "disabled",
    "server_time_utc": 1796282093,
    "version": "2.0.4",
    "enterprise": False,
    "cluster_name": "vault-cluster-1",
    "echo_duration_ms": 0,
    "clock_skew_ms": 0,
    "replication_primary_canary_age_ms": 0,
}
OPENBAO_HEALTH = {
    "initialized": True,
    "sealed": False,
    "standby": False,
    "replication_performance_mode": "disabled",
    "replication_dr_mode": "disabled",
    "server_time_utc": 1796282093,
    "version": "2.7.2",
    "cluster_name": "vault-cluster-e90323ba",
}
OPENBAO_SEAL_STATUS = {"type": "shamir", "initialized": True, "version": "2.7.2", "commit_date": "2026-10-26T20:32:27Z"}
VAULT_2_SEAL_STATUS = {"type": "shamir", "initialized": True, "version": "2.0.4", "build_date": "2026-05-01T00:00:00Z"}


@pytest.mark.parametrize(
    ("body", "image", "expected"),
    [
        (VAULT_2_HEALTH, None, flavour.Flavour.VAULT),  # 2.x, and still HashiCorp Vault
        ({**VAULT_2_HEALTH, "version": "1.18.1"}, None, flavour.Flavour.VAULT),
        (OPENBAO_HEALTH, None, flavour.Flavour.OPENBAO),
        ({**OPENBAO_HEALTH, "sealed": True, "initialized": False}, None, flavour.Flavour.OPENBAO),
        (OPENBAO_SEAL_STATUS, None, flavour.Flavour.OPENBAO),
        (VAULT_2_SEAL_STATUS, None, flavour.Flavour.VAULT),
        # Ambiguous bodies (OpenBao 2.0's seal-status still said build_date): the image decides.
        (VAULT_2_SEAL_STATUS, "quay.io/openbao/openbao:2.0.1", flavour.Flavour.OPENBAO),
        ({"version": "2.0.4"}, "hashicorp/vault:2.0.4", flavour.Flavour.VAULT),
        # A runtime signal wins over an image that says otherwise.
        (VAULT_2_HEALTH, "openbao/openbao:2.2.0", flavour.Flavour.VAULT),
        (OPENBAO_SEAL_STATUS, "hashicorp/vault:2.0.4", flavour.Flavour.OPENBAO),
    ],
)
def test_flavour_tells_vault_2_from_openbao(body: dict, image: str | None, expected: flavour.Flavour) -> None:
    assert flavour.detect(body, image) is expected


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("hashicorp/vault:2.0.4", flavour.Flavour.VAULT),
        ("docker.io/hashicorp/vault:1.18.1", flavour.Flavour.VAULT),
        ("registry.local:5000/vault:2.0.4", flavour.Flavour.VAULT),
        ("hashicorp/vault-enterprise:2.0.4-ent", flavour.Flavour.VAULT),
        ("quay.io/openbao/openbao:2.2.0", flavour.Flavour.OPENBAO),
        ("ghcr.io/openbao/openbao-ubi:2.3.1", flavour.Flavour.OPENBAO),
        ("openbao/openbao@sha256:" + "0" * 64, flavour.Flavour.OPENBAO),
        ("nginx:1.27", None),
    ],
)
def test_flavour_from_image(image: str, expected: flavour.Flavour | None) -> None:
    assert flavour.from_image(image) is expected


def test_break_glass_hint_names_the_cli_of_the_server_that_answered() -> None:
    assert "`vault operator generate-root" in flavour.generate_root_hint(flavour.detect(VAULT_2_HEALTH))
    assert "`bao operator generate-root" in flavour.generate_root_hint(flavour.detect(OPENBAO_HEALTH))


# --- the admin policy -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_policy() -> dict:
    settings = load_settings(FakeConfig({}), "local")
    rules = admin_policy_rules_for(settings)
    parsed = {
        path: {"capabilities": list(r.capabilities), "allowed_parameters": r.allowed_parameters}
        for path, r in rules.items()
    }
    return {"settings": settings, "hcl": admin_policy_for(settings), "parsed": parsed}


def test_every_managed_policy_and_role_is_granted_by_its_exact_name_with_its_content_pinned(local_policy) -> None:
    settings, hcl, paths = local_policy["settings"], local_policy["hcl"], local_policy["parsed"]
    assert_least_privilege(hcl)
    for name, body in managed_policies(settings).items():
        assert body in paths[f"sys/policies/acl/{name}"]["allowed_parameters"]["policy"], name
    for role in roles(settings):
        allowed = paths[f"auth/kubernetes/role/{role.name}"]["allowed_parameters"]
        assert [list(role.service_accounts)] == allowed["bound_service_account_names"]
        assert [list(role.namespaces)] == allowed["bound_service_account_namespaces"]
        assert [[role.policy]] == allowed["token_policies"]
        assert allowed["bound_service_account_namespace_selector"] == [""]
        assert "policies" not in allowed  # the legacy alias stays refused


def test_auth_and_mounts_are_pinned_by_type_and_kubernetes_auth_cannot_be_disabled(local_policy) -> None:
    paths = local_policy["parsed"]
    assert paths["sys/auth/kubernetes"]["capabilities"] == ["create", "read", "update", "sudo"]
    assert paths["sys/auth/kubernetes"]["allowed_parameters"]["type"] == ["kubernetes"]
    assert paths["sys/mounts/kv2"]["allowed_parameters"]["type"] == ["kv"]
    assert paths["sys/mounts/postgresql"]["allowed_parameters"]["type"] == ["database"]
    config = paths["auth/kubernetes/config"]["allowed_parameters"]
    assert config["kubernetes_host"] == ["https://kubernetes.default.svc:443"]


def test_switches_that_rename_nothing_need_no_break_glass(local_policy) -> None:
    """Turning S3, CSI or backups on or off later changes which policies and roles exist, not the admin policy."""
    s3 = {"backend": "external", "endpoint": "https://s3.example.com"}
    credentials = {"s3AccessKeyId": "id", "s3SecretAccessKey": "key"}
    flipped = load_settings(FakeConfig({"s3": s3, "app": {"secretsDelivery": "csi"}}, credentials), "local")
    assert admin_policy_for(flipped) == local_policy["hcl"]


# --- secret_id rotation ------------------------------------------------------------------------------------------


def test_rotation_is_due_after_half_the_ttl_and_never_without_one() -> None:
    outs = {"secret_id": "s", "secret_id_ttl": 100.0, "secret_id_expires_at": 1100.0}
    assert not rotation_due(outs, now=1049.0)
    assert rotation_due(outs, now=1050.0)
    assert rotation_due({**outs, "secret_id_expires_at": None}, now=0)  # minted before the TTL existed
    assert not rotation_due({**outs, "secret_id_ttl": 0}, now=10**10)
    assert not rotation_due({**outs, "secret_id": None}, now=10**10)


def test_the_bootstrap_diff_reports_a_due_rotation_without_any_input_change() -> None:
    connection = {"kube_context": "", "namespace": "vault", "pods": ["vault-0"], "ca_pem": "x"}
    inputs = bootstrap_inputs(connection=connection, root_token="t", secret_id_ttl=100)
    outs = {**inputs, "secret_id": "s", "role_id": "r", "secret_id_expires_at": 1.0}
    assert VaultBootstrapProvider().diff("id", outs, inputs).changes is True
    fresh = {**outs, "secret_id_expires_at": 10.0**12}
    assert VaultBootstrapProvider().diff("id", fresh, inputs).changes is False


# --- vault.adminSecretIdTtl --------------------------------------------------------------------------------------


def test_admin_secret_id_ttl_defaults_to_30_days_and_reaches_the_bootstrap(stack_run) -> None:
    assert load_settings(FakeConfig({}), "local").vault.admin_secret_id_ttl_seconds == 30 * 24 * 3600
    boot = stack_run.named("vault-bootstrap")
    assert boot.inputs["secret_id_ttl"] == 30 * 24 * 3600
    assert boot.inputs["secret_id_bound_cidrs"] == ["127.0.0.1/32", "::1/128"]
    assert boot.inputs["audit_file_path"] == "/vault/audit/audit.log"
    assert stack_run.named("vault-bootstrap-prune-secret-ids")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("30m", "out of range 1h..8760h"),
        ("9000h", "out of range 1h..8760h"),
        ("30d", "a duration like 720h"),
    ],
)
def test_admin_secret_id_ttl_is_validated_with_a_fix(value: str, problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(FakeConfig({"vault": {"adminSecretIdTtl": value}}), "local")
    message = str(err.value)
    assert "platform:vault.adminSecretIdTtl" in message and problem in message
    assert "pulumi config set --path 'vault.adminSecretIdTtl'" in message
