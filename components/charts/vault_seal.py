"""Vault's seal in the chart: the `seal "<type>"` stanza of the server HCL, and how its secrets reach the pods.

Shamir (default) renders nothing. An auto-unseal seal (`vault.seal.type`, components/settings/load/seal.py)
renders its non-secret attributes only. Tokens and cloud credentials are environment variables of the Vault
pods from the Secret `<release>-seal` (created by components/vault/seal.py from secret config, so it is a Pulumi
secret end to end); files (the transit Vault's CA, GCP credentials JSON) are mounted from the same Secret at
SEAL_DIR and named by path in the stanza. Nothing secret is in the HCL, a ConfigMap or the Helm values.
"""

from __future__ import annotations

from typing import Any

from components.settings.model import SealType, Settings

SEAL_DIR = "/vault/userconfig/seal"
CA_FILE = "ca.crt"


def seal_secret_name(settings: Settings) -> str:
    return f"{settings.vault.release_name}-seal"


def seal_secret_keys(settings: Settings) -> tuple[str, ...]:
    """The keys of the seal Secret: one per environment variable, one per file (the CA included)."""
    seal = settings.vault.seal
    return (*seal.environment, *seal.files, *((CA_FILE,) if seal.ca_cert else ()))


def seal_stanza(settings: Settings) -> str:
    """`seal "<type>" { ... }` for the server HCL, or "" with Shamir."""
    seal = settings.vault.seal
    if not seal.auto:
        return ""
    attributes = list(seal.attributes)
    if seal.ca_cert:
        attributes.append(("tls_ca_cert", f"{SEAL_DIR}/{CA_FILE}"))
    if seal.type is SealType.GCPCKMS:
        attributes += [("credentials", f"{SEAL_DIR}/{name}") for name in seal.files]
    width = max(len(key) for key, _ in attributes)
    lines = [f'  {key.ljust(width)} = "{value}"' for key, value in attributes]
    return "\n".join([f'seal "{seal.type.value}" {{', *lines, "}"])


def seal_server_values(settings: Settings) -> dict[str, Any]:
    """`server:` additions for the seal: secret env vars, the mounted Secret, ServiceAccount annotations."""
    seal = settings.vault.seal
    if not seal.auto:
        return {}
    name = seal_secret_name(settings)
    values: dict[str, Any] = {
        "extraSecretEnvironmentVars": [
            {"envName": env, "secretName": name, "secretKey": env} for env in seal.environment
        ],
    }
    if seal.files or seal.ca_cert:
        values["volumes"] = [{"name": "seal", "secret": {"secretName": name, "defaultMode": 0o440}}]
        values["volumeMounts"] = [{"name": "seal", "mountPath": SEAL_DIR, "readOnly": True}]
    return values
