"""Read and validate `platform:vault.seal` (auto-unseal) and its secret config keys into `SealSettings`.

`vault.seal.type` is `shamir` (default: key shares, the program unseals) or an auto-unseal seal whose fields
sit under `vault.seal.<type>`: `transit` (another Vault/OpenBao), `awskms`, `gcpckms`, `azurekeyvault`. Each
stanza attribute Vault documents for that seal is a config field; credentials are secret config keys that
reach the pods as environment variables from a Kubernetes Secret, never the HCL. A cloud KMS without
credentials uses workload identity: `vault.seal.serviceAccountAnnotations` annotates Vault's ServiceAccount.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from components.settings.model import PROJECT, SealSettings, SealType
from components.settings.reader import ConfigError, Section, set_from_stdin

HTTPS_URL = re.compile(r"^https://[^\s/:]+(:\d{1,5})?/?$")
# Secret config keys, by what they carry.
TRANSIT_TOKEN = "vaultSealToken"
AWS_ACCESS_KEY_ID = "vaultSealAwsAccessKeyId"
AWS_SECRET_ACCESS_KEY = "vaultSealAwsSecretAccessKey"
GCP_CREDENTIALS = "vaultSealGcpCredentials"
AZURE_CLIENT_SECRET = "vaultSealAzureClientSecret"
SECRET_KEYS = (TRANSIT_TOKEN, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, GCP_CREDENTIALS, AZURE_CLIENT_SECRET)
GCP_CREDENTIALS_FILE = "gcp-credentials.json"

Secrets = Mapping[str, pulumi.Output[str] | None]


@dataclass(frozen=True)
class _Field:
    """One stanza attribute: config field name, HCL name, required, example for the fix."""

    name: str
    hcl: str
    required: bool
    example: str


_FIELDS: dict[SealType, tuple[_Field, ...]] = {
    SealType.TRANSIT: (
        _Field("address", "address", True, "https://transit-vault.example.com:8200"),
        _Field("keyName", "key_name", True, "autounseal"),
        _Field("mountPath", "mount_path", False, "transit/"),
        _Field("namespace", "namespace", False, "admin/"),
        _Field("tlsServerName", "tls_server_name", False, "transit-vault.example.com"),
    ),
    SealType.AWSKMS: (
        _Field("region", "region", True, "eu-central-1"),
        _Field("kmsKeyId", "kms_key_id", True, "arn:aws:kms:eu-central-1:111122223333:key/<id>"),
        _Field("endpoint", "endpoint", False, "https://kms.eu-central-1.amazonaws.com"),
    ),
    SealType.GCPCKMS: (
        _Field("project", "project", True, "my-project"),
        _Field("region", "region", True, "global"),
        _Field("keyRing", "key_ring", True, "vault"),
        _Field("cryptoKey", "crypto_key", True, "vault-unseal"),
    ),
    SealType.AZUREKEYVAULT: (
        _Field("tenantId", "tenant_id", True, "00000000-0000-0000-0000-000000000000"),
        _Field("vaultName", "vault_name", True, "my-key-vault"),
        _Field("keyName", "key_name", True, "vault-unseal"),
        _Field("clientId", "client_id", False, "00000000-0000-0000-0000-000000000000"),
        _Field("environment", "environment", False, "AZUREPUBLICCLOUD"),
    ),
}


def _key(name: str) -> str:
    return f"{PROJECT}:{name}"


def _missing_secret(name: str, why: str, example: str) -> ConfigError:
    return ConfigError(f"{_key(name)}: {why}. Fix: pulumi config set --secret {name} {example}")


def load_seal(section: Section, secrets: Secrets, *, deployed: bool) -> SealSettings:
    """The seal of the Vault this program deploys (section = `platform:vault.seal`)."""
    seal_type = section.choice("type", SealType.SHAMIR)
    annotations = section.mapping("serviceAccountAnnotations")
    given = {s for s in SECRET_KEYS if secrets.get(s) is not None}
    if seal_type is SealType.SHAMIR:
        section.finish()  # any sub-object (vault.seal.transit...) without a type is a typo: refused here
        if annotations:
            raise section.fail_unset("serviceAccountAnnotations", "only used with an auto-unseal seal type")
        if given:
            first = sorted(given)[0]
            raise ConfigError(
                f"{_key(first)}: a seal credential without an auto-unseal seal. Fix: pulumi config set --path "
                f"'vault.seal.type' <transit|awskms|gcpckms|azurekeyvault>, or pulumi config rm {first}"
            )
        return SealSettings()
    if not deployed:
        raise section.fail("type", "the seal belongs to a Vault this program deploys, not an existing one", "shamir")
    fields = section.section(seal_type.value)
    attributes = tuple(
        (f.hcl, value) for f in _FIELDS[seal_type] if (value := fields.string(f.name, "")) or _require(fields, f)
    )
    ca_cert = fields.string("tlsCaCert", "") if seal_type is SealType.TRANSIT else ""
    settings = SealSettings(
        type=seal_type,
        attributes=attributes,
        ca_cert=ca_cert,
        service_account_annotations=annotations,
        **_credentials(seal_type, fields, secrets, given),
    )
    _check_transit(fields, settings)
    fields.finish()
    section.finish()
    return settings


def _require(fields: Section, field: _Field) -> bool:
    if field.required:
        raise fields.fail(field.name, "required for this seal type", field.example)
    return False


def _credentials(seal_type: SealType, fields: Section, secrets: Secrets, given: set[str]) -> dict[str, dict]:
    """Environment variables / files of the seal Secret, from the secret config keys this seal type reads."""
    wanted = {
        SealType.TRANSIT: {TRANSIT_TOKEN},
        SealType.AWSKMS: {AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY},
        SealType.GCPCKMS: {GCP_CREDENTIALS},
        SealType.AZUREKEYVAULT: {AZURE_CLIENT_SECRET},
    }[seal_type]
    stray = sorted(given - wanted)
    if stray:
        raise ConfigError(
            f"{_key(stray[0])}: not used by seal type {seal_type.value}. Fix: pulumi config rm {stray[0]}"
        )
    if seal_type is SealType.TRANSIT:
        token = secrets.get(TRANSIT_TOKEN)
        if token is None:
            raise _missing_secret(
                TRANSIT_TOKEN,
                "the transit seal logs in to the transit Vault with a token (a periodic, orphan token whose policy "
                "allows only transit encrypt/decrypt of the key)",
                "<token>  (or: vault token create -orphan -period=24h -policy=autounseal -field=token | "
                f"pulumi config set --secret {TRANSIT_TOKEN})",
            )
        # VAULT_TOKEN: what both HashiCorp Vault and OpenBao (tests/fixtures/transit_seal.py) read for the seal.
        return {"environment": {"VAULT_TOKEN": token}, "files": {}}
    if seal_type is SealType.AWSKMS:
        if len(given) == 1:
            missing = (wanted - given).pop()
            raise _missing_secret(
                missing,
                f"{given.pop()} is set, and static AWS credentials need both keys (or neither: workload "
                "identity through vault.seal.serviceAccountAnnotations)",
                "<value>",
            )
        keys = {"AWS_ACCESS_KEY_ID": AWS_ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": AWS_SECRET_ACCESS_KEY}
        return {"environment": {env: secrets[k] for env, k in keys.items() if secrets.get(k) is not None}, "files": {}}
    if seal_type is SealType.GCPCKMS:
        credentials = secrets.get(GCP_CREDENTIALS)
        return {"environment": {}, "files": {GCP_CREDENTIALS_FILE: credentials} if credentials is not None else {}}
    client_secret = secrets.get(AZURE_CLIENT_SECRET)
    if client_secret is not None and not fields.has("clientId"):
        raise fields.fail("clientId", f"{AZURE_CLIENT_SECRET} is the secret of an application: name it", "<client id>")
    return {"environment": {"AZURE_CLIENT_SECRET": client_secret} if client_secret is not None else {}, "files": {}}


def _check_transit(fields: Section, settings: SealSettings) -> None:
    if settings.type is not SealType.TRANSIT:
        return
    address = dict(settings.attributes)["address"]
    if not HTTPS_URL.match(address):
        raise fields.fail(
            "address", "the transit Vault's https:// address (TLS is mandatory)", _FIELDS[SealType.TRANSIT][0].example
        )
    if "-----BEGIN CERTIFICATE-----" not in settings.ca_cert:
        raise fields.fail_with(
            "tlsCaCert",
            "the PEM CA that signed the transit Vault's TLS certificate (mounted into the pods)",
            set_from_stdin(fields.path("tlsCaCert"), "< transit-ca.pem"),
        )
