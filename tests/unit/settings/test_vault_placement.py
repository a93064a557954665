"""Where Vault lives: this cluster, a second cluster (`vault.kubeContext`), or an existing Vault
(`vault.externalAddress`). Two providers, and each object lands on the right one."""

from __future__ import annotations

import copy
import json

import pytest

from components.layers.infra import app_cluster_namespaces
from components.rendering import layers
from components.settings import placement
from components.settings.load import load_settings
from components.settings.placement import server_dns_names
from tests.fixtures.config import EXTERNAL_REGISTRY_IMAGES, FakeConfig
from tests.fixtures.vault_placement import (
    ADVERTISED,
    APP_API,
    CA_PEM,
    EXTERNAL,
    EXTERNAL_CONFIG,
    SEPARATE,
    VAULT_CLUSTER_CA,
    provider_urn,
    run_with_vault_cluster_ca,
)
from tests.harness.dependencies import waits_for
from tests.harness.k8s_objects import objects_of
from tests.harness.program import ProgramRun, Registration, run_stack
from tests.harness.schemas import validate_object

PROVIDER = "pulumi:providers:kubernetes"
RELEASE = "kubernetes:helm.sh/v3:Release"
CONFIG_GROUP = "kubernetes:yaml/v2:ConfigGroup"
NAMESPACE = "kubernetes:core/v1:Namespace"
SECRET = "kubernetes:core/v1:Secret"
IN_CLUSTER_HOST = "vault-active.vault.svc"
# The root CA of the second cluster's own PKI, as its cert-manager puts it into Vault's TLS Secret.

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


def kubernetes_resources(run: ProgramRun) -> list[Registration]:
    return [r for r in run.registrations if r.type.startswith("kubernetes:")]


@pytest.fixture(scope="module")
def separate() -> ProgramRun:
    """The second-cluster run, with the read of Vault's TLS Secret there answered like a live cluster."""
    return run_with_vault_cluster_ca("local", SEPARATE)


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
    from components.settings.load import load_settings
    from tests.fixtures.config import FakeConfig

    assert placement.vault_address(load_settings(FakeConfig(EXTERNAL_CONFIG), "local")) == EXTERNAL
    assert placement.vault_address(load_settings(FakeConfig(SEPARATE), "local")) == ADVERTISED
    default = load_settings(FakeConfig({}), "local")
    assert placement.vault_address(default) == placement.in_cluster_address(default)
    assert placement.vault_address(default).startswith(f"https://{IN_CLUSTER_HOST}:")


# ---- trust: the operators' CA Secrets and Vault's TokenReview, per placement ------------------------------


def operator_ca_secrets(run: ProgramRun) -> list[Registration]:
    return [r for r in run.of_type(SECRET) if r.inputs["metadata"]["name"] == "vault-ca"]


def vault_ca_certificates(run: ProgramRun) -> list[dict]:
    return [o for o in run.k8s_objects() if o["kind"] == "Certificate" and o["metadata"]["name"] == "vault-ca"]


def auth_delegator_subjects(run: ProgramRun) -> set[tuple[str, str]]:
    bindings = [
        o
        for o in run.k8s_objects()
        if o["kind"] == "ClusterRoleBinding" and o["roleRef"]["name"] == "system:auth-delegator"
    ]
    return {(s["namespace"], s["name"]) for b in bindings for s in b["subjects"]}


def test_same_cluster_keeps_cert_manager_ca_and_vaults_own_token_review(stack_run: ProgramRun):
    ns = {"vault-secrets-operator-system", "vault-config-operator"}
    assert {c["metadata"]["namespace"] for c in vault_ca_certificates(stack_run)} == ns
    assert operator_ca_secrets(stack_run) == []
    assert auth_delegator_subjects(stack_run) == {("vault", "vault")}
    assert not [r for r in stack_run.of_type(SECRET) if r.name == placement.TOKEN_REVIEWER_SECRET]


def test_app_cluster_operators_trust_the_vault_clusters_ca(separate: ProgramRun):
    main = separate.named("kubernetes", PROVIDER).urn
    secrets = operator_ca_secrets(separate)
    assert {s.inputs["metadata"]["namespace"] for s in secrets} == {
        "vault-secrets-operator-system",
        "vault-config-operator",
    }
    for secret in secrets:
        assert provider_urn(secret) == main
        # Exactly what was read from Vault's TLS Secret in the second cluster, sent as a Pulumi secret.
        assert secret.inputs["stringData"] == {"ca.crt": VAULT_CLUSTER_CA}
        assert secret.is_secret("stringData.ca.crt")
        # The operators start only after these exist and Vault is configured.
        for release in ("vault-secrets-operator", "vault-config-operator"):
            assert waits_for(separate, separate.named(release, RELEASE), secret)
    # No Certificate from the app cluster's own PKI pretends to be Vault's CA.
    assert vault_ca_certificates(separate) == []


def test_external_vault_ca_secrets_carry_exactly_the_configured_ca(external: ProgramRun):
    secrets = operator_ca_secrets(external)
    assert len(secrets) == 2
    for secret in secrets:
        assert secret.inputs["stringData"] == {"ca.crt": CA_PEM} and secret.is_secret("stringData.ca.crt")
    assert vault_ca_certificates(external) == []


@pytest.mark.parametrize("fixture", ["separate", "external"])
def test_vault_elsewhere_reviews_tokens_with_a_reviewer_not_a_vault_sa(fixture: str, request):
    run: ProgramRun = request.getfixturevalue(fixture)
    # No binding for a Vault ServiceAccount that does not exist in this cluster; one for the token reviewer.
    assert auth_delegator_subjects(run) == {("vault-secrets-operator-system", placement.TOKEN_REVIEWER_SERVICE_ACCOUNT)}
    token = run.named(placement.TOKEN_REVIEWER_SECRET, SECRET)
    assert token.inputs["type"] == "kubernetes.io/service-account-token"
    assert token.inputs["metadata"]["annotations"] == {
        "kubernetes.io/service-account.name": placement.TOKEN_REVIEWER_SERVICE_ACCOUNT
    }
    assert provider_urn(token) == run.named("kubernetes", PROVIDER).urn
    # The ServiceAccount exists before its token Secret (the token controller needs it).
    assert waits_for(run, token, run.named("vault-operators-external", CONFIG_GROUP))


def test_both_operator_layers_create_the_same_service_accounts():
    settings = load_settings(FakeConfig({}), "local")

    def accounts(layer: str) -> list[dict]:
        objs = layers.render(settings, layers.layer_named(layer))
        return sorted(
            (o for o in objs if o["kind"] == "ServiceAccount" and o["metadata"]["namespace"] == "sms-proxy"),
            key=lambda o: o["metadata"]["name"],
        )

    assert accounts("vault-operators") == accounts("vault-operators-external")
    assert len(accounts("vault-operators")) == 2


def test_kubernetes_auth_inputs_per_placement():
    same = placement.kubernetes_auth_inputs(load_settings(FakeConfig({}), "local"))
    assert same == placement.KubernetesAuthInputs(placement.IN_CLUSTER_API, True, None)
    assert same.disable_local_ca_jwt is False
    second = placement.kubernetes_auth_inputs(load_settings(FakeConfig(SEPARATE), "local"))
    assert second.kubernetes_host == APP_API and second.disable_local_ca_jwt is True
    assert second.reviewer_secret == ("vault-secrets-operator-system", placement.TOKEN_REVIEWER_SECRET)
    existing = placement.kubernetes_auth_inputs(
        load_settings(FakeConfig({"vault": {**EXTERNAL_CONFIG["vault"], "appApiAddress": APP_API}}), "local")
    )
    assert existing == second


# ---- the second cluster: its own PKI, a certificate for the advertised name -------------------------------


def test_vault_cluster_certificates_come_from_its_own_cert_manager(separate: ProgramRun):
    vault_provider = separate.named("kubernetes-vault", PROVIDER).urn
    cert_manager = separate.named("vault-cluster-cert-manager", RELEASE)
    assert cert_manager.inputs["name"] == "cert-manager" and provider_urn(cert_manager) == vault_provider
    pki = separate.named("vault-cluster-pki", CONFIG_GROUP)
    issuers = {o["metadata"]["name"] for o in pki.inputs["objs"] if o["kind"] == "ClusterIssuer"}
    assert "issuer-leaf" in issuers
    certificates = separate.named("vault", CONFIG_GROUP)
    assert waits_for(separate, certificates, cert_manager) and waits_for(separate, certificates, pki)
    assert waits_for(separate, pki, cert_manager)


def test_the_vault_cluster_has_no_service_monitor_but_the_default_does(separate: ProgramRun, stack_run: ProgramRun):
    def monitor(run: ProgramRun) -> bool:
        return run.named("vault", RELEASE).inputs["values"]["serverTelemetry"]["serviceMonitor"]["enabled"]

    assert monitor(separate) is False  # no monitoring CRDs in the second cluster
    assert monitor(stack_run) is True


def test_an_advertised_ip_becomes_an_ip_san():
    settings = load_settings(
        FakeConfig({"vault": {**SEPARATE["vault"], "advertiseAddress": "https://203.0.113.10:8200"}}), "local"
    )
    assert placement.server_ip_addresses(settings) == ["127.0.0.1", "203.0.113.10"]
    assert "203.0.113.10" not in server_dns_names(settings)
    (certificate,) = [
        o for o in layers.render(settings, layers.layer_named("vault")) if o["metadata"]["name"] == "vault-server-tls"
    ]
    assert certificate["spec"]["ipAddresses"] == ["127.0.0.1", "203.0.113.10"]
    default = load_settings(FakeConfig({}), "local")
    assert placement.server_ip_addresses(default) == ["127.0.0.1"] and placement.extra_dns_names(default) == []


def test_client_port_follows_the_address():
    assert placement.client_port(load_settings(FakeConfig(EXTERNAL_CONFIG), "local")) == 8200
    no_port = {"vault": {"externalAddress": "https://vault.corp.example", "externalCaCert": CA_PEM}}
    assert placement.client_port(load_settings(FakeConfig(no_port), "local")) == 443


# ---- every object lands in a namespace that exists in its cluster -----------------------------------------

EXTERNAL_SERVICES = (
    {
        "s3": {"backend": "external", "endpoint": "https://s3.example.com"},
        "registry": {"mode": "external", "host": "registry.example.com"},
        "app": EXTERNAL_REGISTRY_IMAGES,
    },
    {"s3AccessKeyId": "AKIAEXAMPLE", "s3SecretAccessKey": "s3-secret", "registryPassword": "registry-pw"},
)


@pytest.fixture(scope="module")
def external_services() -> ProgramRun:
    return run_stack("local", *EXTERNAL_SERVICES)


def misplaced(run: ProgramRun) -> list[str]:
    """Namespaced objects (and releases) whose namespace is not created on the provider that applies them."""
    created: dict[str, set[str]] = {}
    for namespace in run.of_type(NAMESPACE):
        created.setdefault(provider_urn(namespace), set()).add(namespace.inputs["metadata"]["name"])
    problems = []
    for registration in kubernetes_resources(run):
        if registration.type in (PROVIDER, NAMESPACE):
            continue
        here = created.get(provider_urn(registration), set())
        if registration.type == RELEASE:
            wanted = [(registration.inputs["namespace"], f"release {registration.name}")]
        else:
            wanted = [
                (o["metadata"]["namespace"], f"{o['kind']} {o['metadata']['name']}")
                for o in objects_of([registration])
                if o["metadata"].get("namespace")
            ]
        problems += [f"{what} in absent namespace {ns}" for ns, what in wanted if ns not in here]
    return problems


@pytest.mark.parametrize("fixture", ["local", "remote", "separate", "external", "external_services"])
def test_every_object_lands_in_a_namespace_of_its_cluster(fixture: str, request, stack_runs):
    run = stack_runs[fixture] if fixture in stack_runs else request.getfixturevalue(fixture)
    assert misplaced(run) == []


def test_the_check_finds_a_misplaced_object(external: ProgramRun):
    broken = copy.deepcopy(external)
    group = next(r for r in broken.of_type(CONFIG_GROUP) if r.name == "network-policies")
    group.inputs["objs"][0]["metadata"]["namespace"] = "vault"
    assert misplaced(broken) and misplaced(broken)[0].endswith("absent namespace vault")


def test_namespaces_follow_what_is_deployed(external_services: ProgramRun, external: ProgramRun):
    created = {n.inputs["metadata"]["name"] for n in external_services.of_type(NAMESPACE)}
    assert not created & {"minio", "minio-operator"} and "vault" in created
    assert "vault" not in {n.inputs["metadata"]["name"] for n in external.of_type(NAMESPACE)}
    # A namespace shared by an absent and a present component stays.
    shared = load_settings(
        FakeConfig({**EXTERNAL_SERVICES[0], "namespaces": {"storage": "sms-proxy"}}, EXTERNAL_SERVICES[1]), "local"
    )
    assert "sms-proxy" in app_cluster_namespaces(shared)


@pytest.mark.parametrize("fixture", ["separate", "external"])
def test_vault_elsewhere_policies_open_only_the_vault_port(fixture: str, request):
    run: ProgramRun = request.getfixturevalue(fixture)
    policies = [o for o in run.k8s_objects() if o["kind"] == "NetworkPolicy"]
    allow = [p for p in policies if p["metadata"]["name"] == "allow-vault"]
    assert {p["metadata"]["namespace"] for p in allow} == {"vault-secrets-operator-system", "vault-config-operator"}
    for policy in allow:
        assert policy["spec"]["egress"] == [{"ports": [{"protocol": "TCP", "port": 8200}]}]
    assert not [p for p in policies if p["metadata"]["namespace"] == "vault"]


@pytest.mark.parametrize("fixture", ["separate", "external", "external_services"])
def test_objects_of_every_placement_pass_the_schema_check(fixture: str, request):
    for obj in request.getfixturevalue(fixture).k8s_objects():
        validate_object(copy.deepcopy(obj))
