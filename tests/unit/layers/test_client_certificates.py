"""Client certificates for `ingress.clientApps`: one Certificate per client app, applied by Pulumi in both stacks."""

from __future__ import annotations

import copy

import pytest

from components.layers.client_certificates import client_certificates, secret_name
from components.layers.pki import CLIENT_ISSUER
from components.settings.load import load_settings
from tests.fixtures.config import FakeConfig
from tests.harness.dependencies import waits_for_urns
from tests.harness.program import ProgramRun, run_stack
from tests.harness.schemas import validate_object

GROUP = "kubernetes:yaml/v2:ConfigGroup"


def certificates_of(run: ProgramRun) -> list[dict]:
    return list(run.named("client-certificates", GROUP).inputs["objs"])


def test_one_client_auth_certificate_per_client_app(stack_run: ProgramRun):
    settings = load_settings(FakeConfig({}), "local")
    certificates = certificates_of(stack_run)
    assert [c["spec"]["commonName"] for c in certificates] == list(settings.ingress.client_apps)
    for certificate in certificates:
        app = certificate["spec"]["commonName"]
        spec = certificate["spec"]
        assert certificate["metadata"]["namespace"] == stack_run.outputs["namespaces"]["app"]
        assert spec["secretName"] == secret_name(app) == f"{app}-client-tls"
        assert "client auth" in spec["usages"] and "server auth" not in spec["usages"]
        assert spec["issuerRef"] == {"name": CLIENT_ISSUER, "kind": "ClusterIssuer", "group": "cert-manager.io"}
        assert "dnsNames" not in spec and "ipAddresses" not in spec
        validate_object(copy.deepcopy(certificate))


def test_they_wait_for_the_pki_and_are_not_a_flux_layer(stack_run: ProgramRun):
    group = stack_run.named("client-certificates", GROUP)
    issuers = stack_run.named("pki", GROUP)  # the ConfigGroup holding issuer-leaf
    assert issuers.urn in waits_for_urns(stack_run, group)
    # Credentials for external clients: never pruned with a GitOps layer.
    if stack_run.stack == "remote":
        paths = [k["spec"]["path"] for k in stack_run.k8s_objects() if k["kind"] == "Kustomization"]
        assert not [p for p in paths if "client" in p]


def test_a_config_change_is_reflected():
    run = run_stack("local", {"ingress": {"clientApps": ["billing", "reports", "audit"]}})
    assert [c["metadata"]["name"] for c in certificates_of(run)] == ["billing-client", "reports-client", "audit-client"]
    assert [c["spec"]["secretName"] for c in certificates_of(run)] == [
        "billing-client-tls",
        "reports-client-tls",
        "audit-client-tls",
    ]


def test_key_settings_follow_the_pki():
    settings = load_settings(FakeConfig({"pki": {"keyAlgorithm": "ECDSA", "keySize": 256}}), "local")
    (first, *_) = client_certificates(settings)
    assert first["spec"]["privateKey"] == {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"}
    assert first["spec"]["duration"] == settings.pki.leaf_duration


@pytest.mark.parametrize("apps", [[], ["only-one"]])
def test_any_number_of_client_apps(apps):
    settings = load_settings(FakeConfig({"ingress": {"clientApps": apps}}), "local")
    assert [c["spec"]["commonName"] for c in client_certificates(settings)] == apps
