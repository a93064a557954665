"""Where Vault lives: this cluster, a second cluster (`vault.kubeContext`), or an existing Vault
(`vault.externalAddress`). Two providers, and each object lands on the right one."""

from __future__ import annotations

import json

import pytest

from components.vault import contract
from tests.harness.program import ProgramRun, Registration, run_stack

PROVIDER = "pulumi:providers:kubernetes"
RELEASE = "kubernetes:helm.sh/v3:Release"
CONFIG_GROUP = "kubernetes:yaml/v2:ConfigGroup"
NAMESPACE = "kubernetes:core/v1:Namespace"
ADVERTISED = "https://vault.example.com:8200"
EXTERNAL = "https://vault.corp.example:8200"
CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBexternalvaultca\n-----END CERTIFICATE-----\n"
APP_API = "https://api.app.example.com:6443"
SEPARATE = {"vault": {"kubeContext": "vault-cluster", "advertiseAddress": ADVERTISED, "appApiAddress": APP_API}}
EXTERNAL_CONFIG = {"vault": {"externalAddress": EXTERNAL, "externalCaCert": CA_PEM}}
IN_CLUSTER_HOST = "vault-active.vault.svc"

# What belongs to Vault itself (the rest, including VSO and vault-config-operator, stays in the app cluster):
# its namespace, the `vault` layer (certificates) and the Vault Helm release; and the second cluster's own
# issuer-leaf for those certificates: cert-manager (namespace + release) and the PKI layer.
VAULT_SIDE = {
    (NAMESPACE, "vault"),
    (CONFIG_GROUP, "vault"),
    (RELEASE, "vault"),
    (NAMESPACE, "vault-cluster-cert-manager"),
    (RELEASE, "vault-cluster-cert-manager"),
    (CONFIG_GROUP, "vault-cluster-pki"),
}


def provider_urn(registration: Registration) -> str:
    """A provider reference is `<provider urn>::<id>`."""
    return registration.provider.rsplit("::", 1)[0]


def kubernetes_resources(run: ProgramRun) -> list[Registration]:
    return [r for r in run.registrations if r.type.startswith("kubernetes:")]


@pytest.fixture(scope="module")
def separate() -> ProgramRun:
    return run_stack("local", SEPARATE)


@pytest.fixture(scope="module")
def external() -> ProgramRun:
    return run_stack("local", EXTERNAL_CONFIG)


def test_one_cluster_one_provider(stack_run: ProgramRun):
    providers = stack_run.of_type(PROVIDER)
    assert [p.name for p in providers] == ["kubernetes"]
    (release,) = [r for r in stack_run.of_type(RELEASE) if r.name == "vault"]
    assert provider_urn(release) == providers[0].urn


def test_second_cluster_gets_its_own_provider(separate: ProgramRun):
    main = separate.named("kubernetes", PROVIDER)
    vault = separate.named("kubernetes-vault", PROVIDER)
    assert vault.inputs["context"] == "vault-cluster"
    assert main.inputs.get("context") in (None, "")  # the stack's own (current) context


def test_each_object_lands_on_the_right_provider(separate: ProgramRun):
    main = separate.named("kubernetes", PROVIDER).urn
    vault = separate.named("kubernetes-vault", PROVIDER).urn
    on_vault = {(r.type, r.name) for r in kubernetes_resources(separate) if provider_urn(r) == vault}
    assert on_vault == VAULT_SIDE
    for registration in kubernetes_resources(separate):
        if (registration.type, registration.name) not in VAULT_SIDE:
            assert provider_urn(registration) == main, f"{registration.type} {registration.name}"
    # The operators that talk to Vault run next to the application, in the main cluster.
    for name in ("vault-secrets-operator", "vault-config-operator"):
        assert provider_urn(separate.named(name, RELEASE)) == main
    assert provider_urn(separate.named("vault-operators-external", CONFIG_GROUP)) == main


def test_the_vault_namespace_exists_only_where_vault_runs(separate: ProgramRun):
    namespaces = [r for r in separate.of_type(NAMESPACE) if r.inputs["metadata"]["name"] == "vault"]
    assert len(namespaces) == 1
    assert provider_urn(namespaces[0]) == separate.named("kubernetes-vault", PROVIDER).urn


def app_cluster_text(run: ProgramRun) -> str:
    """Everything applied to the main cluster: objects and release values, as one searchable text."""
    from tests.harness.k8s_objects import objects_of

    main = run.named("kubernetes", PROVIDER).urn
    registrations = [r for r in kubernetes_resources(run) if provider_urn(r) == main]
    releases = [r.inputs.get("values") for r in registrations if r.type == RELEASE]
    return json.dumps(objects_of(registrations)) + json.dumps(releases)


def test_app_cluster_clients_use_the_advertised_address(separate: ProgramRun):
    text = app_cluster_text(separate)
    assert ADVERTISED in text
    # Nothing in the application cluster dials a service name that only exists in the Vault cluster.
    assert IN_CLUSTER_HOST not in text


def test_the_vault_certificate_covers_the_advertised_name(separate: ProgramRun):
    certificates = [o for o in separate.k8s_objects() if o["kind"] == "Certificate"]
    server = next(c for c in certificates if c["metadata"]["name"] == "vault-server-tls")
    assert "vault.example.com" in server["spec"]["dnsNames"]


def test_external_vault_is_not_deployed(external: ProgramRun):
    assert [p.name for p in external.of_type(PROVIDER)] == ["kubernetes"]
    assert not [r for r in external.of_type(RELEASE) if r.name == "vault"]
    assert not [r for r in external.of_type(CONFIG_GROUP) if r.name == "vault"]
    assert not [r for r in external.of_type(NAMESPACE) if r.inputs["metadata"]["name"] == "vault"]
    # ... while the operators that use it still are.
    for name in ("vault-secrets-operator", "vault-config-operator"):
        external.named(name, RELEASE)


def test_external_vault_address_reaches_its_clients(external: ProgramRun):
    text = app_cluster_text(external)
    assert EXTERNAL in text
    assert IN_CLUSTER_HOST not in text


def test_external_vault_ca_reaches_its_clients(external: ProgramRun):
    # The operators verify the external Vault with the configured CA, never with the platform root CA.
    assert CA_PEM.strip() in app_cluster_text(external).replace("\\n", "\n"), "the external CA reaches no object"


def test_vault_address_helper():
    from components.config import load_settings
    from tests.unit.test_config import FakeConfig

    assert contract.vault_address(load_settings(FakeConfig(EXTERNAL_CONFIG), "local")) == EXTERNAL
    assert contract.vault_address(load_settings(FakeConfig(SEPARATE), "local")) == ADVERTISED
    default = load_settings(FakeConfig({}), "local")
    assert contract.vault_address(default) == contract.in_cluster_address(default)
    assert contract.service_address(default).startswith(f"https://{IN_CLUSTER_HOST}:")
