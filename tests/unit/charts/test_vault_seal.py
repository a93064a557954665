"""Auto-unseal (`vault.seal`): settings validation, the rendered `seal` stanza, and its secrets kept out of the HCL
and the Helm values (a Pulumi-secret Kubernetes Secret feeds them to the pods)."""

from __future__ import annotations

from typing import Any

import pytest

from components.charts.vault import vault_values
from components.charts.vault_seal import SEAL_DIR
from components.settings.reader import ConfigError
from tests.fixtures.config import settings_of
from tests.harness.dependencies import waits_for
from tests.harness.hcl import parse
from tests.harness.helm_values import HELM_RELEASE, check_release
from tests.harness.program import run_stack
from tests.harness.schemas import validate_object

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
TOKEN = "s.transit-token-value"
TRANSIT = {
    "address": "https://transit.example.com:8200",
    "keyName": "autounseal",
    "mountPath": "transit/",
    "tlsCaCert": CA,
}
CLOUD = {
    "awskms": {"region": "eu-central-1", "kmsKeyId": "alias/vault"},
    "gcpckms": {"project": "p", "region": "global", "keyRing": "r", "cryptoKey": "k"},
    "azurekeyvault": {"tenantId": "t", "vaultName": "kv", "keyName": "k"},
}


def seal_config(seal_type: str, fields: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"vault": {"seal": {"type": seal_type, **({seal_type: fields} if fields is not None else {}), **extra}}}


def hcl(values: dict[str, Any]):
    return parse(values["server"]["ha"]["raft"]["config"])


def test_shamir_is_the_default_and_renders_no_seal():
    values = vault_values(settings_of("remote"))
    assert hcl(values).all("seal") == []
    assert "extraSecretEnvironmentVars" not in values["server"]


def test_transit_renders_the_stanza_without_the_token():
    settings = settings_of("remote", seal_config("transit", TRANSIT), {"vaultSealToken": TOKEN})
    values = vault_values(settings)
    stanza = hcl(values).one("seal", "transit").body.attributes
    assert stanza == {
        "address": TRANSIT["address"],
        "key_name": "autounseal",
        "mount_path": "transit/",
        "tls_ca_cert": f"{SEAL_DIR}/ca.crt",
    }
    assert TOKEN not in str(values)
    env = {e["envName"]: e for e in values["server"]["extraSecretEnvironmentVars"]}
    assert env["VAULT_TOKEN"] == {"envName": "VAULT_TOKEN", "secretName": "vault-seal", "secretKey": "VAULT_TOKEN"}
    assert {"name": "seal", "mountPath": SEAL_DIR, "readOnly": True} in values["server"]["volumeMounts"]


@pytest.mark.parametrize("seal_type", sorted(CLOUD))
def test_cloud_kms_stanzas_with_workload_identity(seal_type: str):
    annotations = {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/vault"}
    settings = settings_of("remote", seal_config(seal_type, CLOUD[seal_type], serviceAccountAnnotations=annotations))
    values = vault_values(settings)
    stanza = hcl(values).one("seal", seal_type).body.attributes
    assert set(stanza) and all(isinstance(v, str) for v in stanza.values())
    assert values["server"]["serviceAccount"]["annotations"] == annotations
    assert values["server"]["extraSecretEnvironmentVars"] == []  # no static credentials configured


def test_static_cloud_credentials_are_environment_variables_not_hcl():
    secrets = {"vaultSealAwsAccessKeyId": "AKIAEXAMPLE", "vaultSealAwsSecretAccessKey": "aws-secret"}
    values = vault_values(settings_of("remote", seal_config("awskms", CLOUD["awskms"]), secrets))
    assert {e["envName"] for e in values["server"]["extraSecretEnvironmentVars"]} == {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    }
    assert "AKIAEXAMPLE" not in str(values) and "aws-secret" not in str(values)
    gcp = vault_values(
        settings_of("remote", seal_config("gcpckms", CLOUD["gcpckms"]), {"vaultSealGcpCredentials": '{"k": 1}'})
    )
    assert hcl(gcp).one("seal", "gcpckms").body.attributes["credentials"] == f"{SEAL_DIR}/gcp-credentials.json"


@pytest.mark.parametrize(
    ("config", "secrets", "names"),
    [
        (seal_config("transit", {**TRANSIT, "address": ""}), {"vaultSealToken": TOKEN}, "vault.seal.transit.address"),
        (
            seal_config("transit", {k: v for k, v in TRANSIT.items() if k != "keyName"}),
            {"vaultSealToken": TOKEN},
            "transit.keyName",
        ),
        (seal_config("transit", TRANSIT), {}, "vaultSealToken"),
        (seal_config("transit", {**TRANSIT, "address": "http://t:8200"}), {"vaultSealToken": TOKEN}, "transit.address"),
        (seal_config("transit", {**TRANSIT, "tlsCaCert": ""}), {"vaultSealToken": TOKEN}, "transit.tlsCaCert"),
        (seal_config("awskms", {"region": "eu-central-1"}), {}, "awskms.kmsKeyId"),
        (seal_config("awskms", CLOUD["awskms"]), {"vaultSealAwsAccessKeyId": "A"}, "vaultSealAwsSecretAccessKey"),
        (seal_config("gcpckms", {**CLOUD["gcpckms"], "keyRing": ""}), {}, "gcpckms.keyRing"),
        (seal_config("azurekeyvault", {"tenantId": "t", "keyName": "k"}), {}, "azurekeyvault.vaultName"),
        (seal_config("azurekeyvault", CLOUD["azurekeyvault"]), {"vaultSealAzureClientSecret": "s"}, "clientId"),
        (seal_config("awskms", CLOUD["awskms"]), {"vaultSealToken": TOKEN}, "vaultSealToken"),
        ({"vault": {"seal": {"transit": TRANSIT}}}, {}, "vault.seal.transit"),  # fields without a type: a typo
        ({}, {"vaultSealToken": TOKEN}, "vaultSealToken"),
        (seal_config("kms"), {}, "vault.seal.type"),
        (
            {
                "vault": {
                    "externalAddress": "https://vault.example.com",
                    "externalCaCert": CA,
                    "seal": {"type": "transit", "transit": TRANSIT},
                }
            },
            {"vaultSealToken": TOKEN},
            "vault.seal.type",
        ),
    ],
)
def test_each_missing_or_wrong_seal_setting_is_one_error_naming_key_and_fix(config, secrets, names):
    with pytest.raises(ConfigError) as error:
        settings_of("remote", config, secrets)
    message = str(error.value)
    assert names in message and "Fix:" in message and "pulumi config" in message, message


def test_the_program_creates_the_seal_secret_as_a_pulumi_secret_before_the_release():
    run = run_stack("remote", seal_config("transit", TRANSIT), {"vaultSealToken": TOKEN})
    secret = run.named("vault-seal", "kubernetes:core/v1:Secret")
    assert secret.inputs["stringData"]["VAULT_TOKEN"] == TOKEN
    assert secret.is_secret("stringData")
    release = run.named("vault", HELM_RELEASE)
    assert waits_for(run, release, secret)
    assert TOKEN not in str(release.inputs)
    assert check_release(release) == []
    validate_object(dict(secret.inputs))
    # The token is in no other registration's plain inputs.
    leaks = [r.name for r in run.registrations if TOKEN in str(r.inputs) and not r.is_secret("stringData")]
    assert leaks == []


def test_vault_may_reach_the_transit_vault_and_only_with_a_transit_seal():
    # Vault's namespace denies egress by default: without this policy a transit-sealed pod could never unseal.
    run = run_stack("local", seal_config("transit", TRANSIT), {"vaultSealToken": TOKEN})
    (policy,) = [o for o in run.k8s_objects() if o["metadata"]["name"] == "allow-seal-transit"]
    assert policy["metadata"]["namespace"] == "vault"
    assert policy["spec"]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "vault", "component": "server"}
    assert policy["spec"]["egress"] == [{"ports": [{"protocol": "TCP", "port": 8200}]}]
    assert not [o for o in run_stack("local").k8s_objects() if o["metadata"]["name"] == "allow-seal-transit"]
