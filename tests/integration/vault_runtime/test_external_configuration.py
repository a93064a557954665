"""An existing Vault (`vault.externalAddress`): with the AppRole its operator created, the program configures it
through pulumi-vault exactly like a Vault it deployed (mock runs); without, it configures nothing and warns."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest

from components.settings import names
from components.settings.load import load_settings
from components.vault_runtime import admin_policy as admin_policy_module
from components.vault_runtime.admin_policy import admin_policy_for as admin_policy
from tests.fixtures.config import FakeConfig
from tests.fixtures.vault_placement import APP_API, CA_PEM, EXTERNAL, SEPARATE
from tests.harness.dependencies import waits_for
from tests.harness.program import ProgramRun, run_stack, stack_config

INIT, UNSEAL, BOOT = (
    "pulumi-python:dynamic/vault:Init",
    "pulumi-python:dynamic/vault:Unseal",
    "pulumi-python:dynamic/vault:Bootstrap",
)
VAULT_PROVIDER = "pulumi:providers:vault"
CONFIGURATION = "platform:vault:Configuration"
AUTH_CONFIG = "vault:kubernetes/authBackendConfig:AuthBackendConfig"
RELEASE = "kubernetes:helm.sh/v3:Release"
EXISTING = {"vault": {"externalAddress": EXTERNAL, "externalCaCert": CA_PEM, "appApiAddress": APP_API}}
APPROLE = {"vaultExternalRoleId": "role-id-1234", "vaultExternalSecretId": "secret-id-5678"}


def _configured_run(tmp: Path, stack: str = "local") -> ProgramRun:
    # The provider's CA file is relative to the working directory (the project directory in a real run).
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp)
        return run_stack(stack, EXISTING, APPROLE)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("existing-vault")


@pytest.fixture(scope="module")
def configured(workdir: Path) -> ProgramRun:
    return _configured_run(workdir)


@pytest.fixture(scope="module")
def unconfigured() -> Iterator[tuple[ProgramRun, list[str]]]:
    warnings: list[str] = []
    original = pulumi.log.warn

    def record(message: str, *args: Any, **kwargs: Any) -> None:
        warnings.append(message)
        original(message, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pulumi.log, "warn", record)
        yield run_stack("local", EXISTING), warnings


def vault_resources(run: ProgramRun) -> list:
    return [r for r in run.registrations if r.type.startswith("vault:")]


def test_existing_vault_is_configured_without_init_unseal_or_bootstrap(configured: ProgramRun):
    assert not configured.of_type(INIT) and not configured.of_type(UNSEAL) and not configured.of_type(BOOT)
    (configuration,) = configured.of_type(CONFIGURATION)
    assert configuration.name == "vault-configuration"
    for name in ("mount-kv", "mount-kv2", "mount-transit", "mount-postgresql", "role-vault-operator"):
        configured.named(name)


def test_the_provider_dials_the_external_address_with_its_ca_and_the_approle(configured: ProgramRun, workdir: Path):
    provider = configured.named("vault", VAULT_PROVIDER)
    assert provider.inputs["address"] == EXTERNAL
    assert provider.inputs["skipChildToken"] in (True, "true")
    assert "token" not in provider.inputs
    login = provider.inputs["authLogin"]
    login = json.loads(login) if isinstance(login, str) else login  # provider config travels as JSON
    assert login["path"] == "auth/approle/login"
    assert login["parameters"] == {"role_id": "role-id-1234", "secret_id": "secret-id-5678"}
    assert provider.is_secret("authLogin")
    # pulumi-vault takes CA paths only: the configured CA, written before the provider is configured, 0600.
    assert provider.inputs["caCertFile"] == ".vault/local-ca.pem"
    ca_file = workdir / ".vault" / "local-ca.pem"
    assert ca_file.read_text() == CA_PEM
    assert oct(ca_file.stat().st_mode & 0o777) == "0o600"
    vault_urn = provider.urn
    assert vault_resources(configured) and all(r.provider.startswith(vault_urn) for r in vault_resources(configured))


def test_kubernetes_auth_reviews_tokens_at_the_app_cluster_api(configured: ProgramRun):
    config = configured.named("kubernetes", AUTH_CONFIG)
    assert config.inputs["kubernetesHost"] == APP_API and config.inputs["disableLocalCaJwt"] is True


def test_operators_wait_for_the_configuration(configured: ProgramRun):
    role = configured.named("role-vault-operator")
    for name in ("vault-secrets-operator", "vault-config-operator"):
        assert waits_for(configured, configured.named(name, RELEASE), role), name
    for secret in [r for r in configured.of_type("kubernetes:core/v1:Secret") if r.name.startswith("vault-ca-")]:
        assert waits_for(configured, secret, role), secret.name


def test_without_the_approle_nothing_is_configured_and_a_warning_says_so(unconfigured):
    run, warnings = unconfigured
    assert not vault_resources(run) and not run.of_type(VAULT_PROVIDER) and not run.of_type(CONFIGURATION)
    assert not run.of_type(INIT) and not run.of_type(BOOT)
    assert len([w for w in warnings if "vaultExternalRoleId" in w]) == 1


# Raft snapshots (backup.enabled) are taken only of a Vault this program deploys in the app cluster (the CronJob
# runs there): an existing Vault's operator backs it up, so the snapshot identity and VSO's S3 read in Vault's
# namespace are configured neither there nor in a second cluster.
DEPLOYED_ONLY = {
    f"{kind}-{name}"
    for kind in ("policy", "role")
    for name in (names.VAULT_SNAPSHOT_IDENTITY, names.VSO_BACKUP_ROLE, names.VSO_BACKUP_POLICY)
}


def _comparable(run: ProgramRun, *, skip: tuple[str, ...] = ()) -> dict[tuple[str, str], Any]:
    return {
        (r.type, r.name): r.inputs for r in vault_resources(run) if r.type not in skip and r.name not in DEPLOYED_ONLY
    }


@pytest.mark.parametrize("stack", ["local", "remote"])
def test_the_existing_vault_gets_the_same_configuration_as_a_deployed_one(stack: str, tmp_path: Path):
    """What integration/test_vault_configuration.py applies to a real OpenBao for a deployed Vault is exactly what
    the existing Vault gets: same resources, same inputs. Kubernetes auth is the same as any Vault outside the
    app cluster (a second cluster with the same API address); only a same-cluster Vault uses its pod's own."""
    existing = _configured_run(tmp_path, stack)
    second = run_stack(stack, SEPARATE)
    same_cluster = run_stack(stack)
    assert {r.name for r in vault_resources(same_cluster)} >= DEPLOYED_ONLY
    assert not DEPLOYED_ONLY & {r.name for r in [*vault_resources(existing), *vault_resources(second)]}
    assert _comparable(existing) == _comparable(second)
    assert _comparable(existing, skip=(AUTH_CONFIG,)) == _comparable(same_cluster, skip=(AUTH_CONFIG,))
    assert len(_comparable(existing)) >= 10


def test_approle_settings_stay_secret_outputs():
    settings = load_settings(FakeConfig(EXISTING, APPROLE), "local")
    assert settings.vault.configures_external
    assert isinstance(settings.vault.external_secret_id, pulumi.Output)
    assert "secret-id-5678" not in repr(settings)
    assert not load_settings(FakeConfig(EXISTING), "local").vault.configures_external


def test_python_m_admin_policy_prints_what_the_bootstrap_writes():
    # Only `local`: Pulumi.remote.yaml names no Git URL, so the printer refuses it until the user sets one
    # (tests/unit/vault/test_admin_policy_cli.py).
    stack = "local"
    expected = admin_policy(load_settings(FakeConfig(stack_config(stack)), stack))
    assert admin_policy_module.main([stack]) == expected
    assert 'path "kv/sms-proxy/registry-password"' in expected
    custom = admin_policy(load_settings(FakeConfig({"namespaces": {"app": "shop"}}), "local"))
    assert 'path "kv/shop/s3-registry"' in custom and custom != expected
