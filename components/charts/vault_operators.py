"""Values for the two Vault operators: Vault Secrets Operator (VSO) and vault-config-operator (VCO).

Both reach Vault at `placement.vault_address()` over TLS and trust the platform root CA from a Secret
`names.VAULT_CA_SECRET` in their own namespace: a VaultConnection's `caCertSecretRef` (VSO) and a pod
volume (VCO) can only read Secrets of their own namespace, so manifests/bootstrap/vault-operators/ issues a
small certificate from `issuer-leaf` in each operator namespace purely for its `ca.crt` (cert-manager
keeps it current when the CA rotates; no copy job, no extra controller).
"""

from __future__ import annotations

from typing import Any

from components.charts.release import ChartRelease
from components.settings import names, placement
from components.settings.model import Settings

VCO_CA_DIR = "/etc/vault-ca"


def secrets_operator_values(settings: Settings) -> dict[str, Any]:
    """VSO: default VaultConnection (TLS with our CA), default Kubernetes auth, encrypted client cache."""
    vault = settings.vault
    return {
        "controller": {
            # Shared by the manager, kube-rbac-proxy and the chart's two hook Jobs (the chart sets only
            # allowPrivilegeEscalation and runAsNonRoot): restricted in full, nothing written to the root fs.
            "podSecurityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
            },
            "manager": {
                # Vault tokens VSO holds survive controller restarts, encrypted with Vault's transit engine
                # (as the original did): the Secret holding the cache is useless without Vault.
                "clientCache": {
                    "persistenceModel": "direct-encrypted",
                    "storageEncryption": {
                        "enabled": True,
                        "vaultConnectionRef": "default",
                        "keyName": names.VSO_CACHE_KEY,
                        "transitMount": names.TRANSIT_MOUNT,
                        "method": "kubernetes",
                        "mount": names.KUBERNETES_AUTH_PATH,
                        # The controller's own ServiceAccount, bound to its own role (configuration.py).
                        "kubernetes": {
                            "role": names.VSO_CACHE_ROLE,
                            "serviceAccount": names.VSO_CONTROLLER_SERVICE_ACCOUNT,
                        },
                    },
                },
            },
        },
        "defaultVaultConnection": {
            "enabled": True,
            "address": placement.vault_address(settings),
            "caCertSecret": names.VAULT_CA_SECRET,
            "skipTLSVerify": False,
        },
        "defaultAuthMethod": {
            "enabled": True,
            "method": "kubernetes",
            "mount": names.KUBERNETES_AUTH_PATH,
            # The app namespace only: MinIO's namespace logs in with its own VaultAuth and role
            # (manifests/gitops/s3/), so each namespace reads only its own entries.
            "allowedNamespaces": vso_namespaces(settings),
            "kubernetes": {"role": vault.operator_role, "serviceAccount": vault.operator_service_account},
        },
        "telemetry": {"serviceMonitor": {"enabled": True}},
    }


def vso_namespaces(settings: Settings) -> list[str]:
    """Namespaces whose Vault*Secrets log in with VSO's default Kubernetes auth (role `vault.operatorRole`);
    MinIO's and (backup.enabled) Vault's namespaces have VaultAuths of their own (per-namespace roles)."""
    return [settings.namespaces.app]


def config_operator_values(settings: Settings) -> dict[str, Any]:
    """VCO: VAULT_ADDR and VAULT_CACERT (read by the Vault API client it embeds), CA as a volume."""
    return {
        "env": [
            {"name": "VAULT_ADDR", "value": placement.vault_address(settings)},
            {"name": "VAULT_CACERT", "value": f"{VCO_CA_DIR}/ca.crt"},
        ],
        "volumes": [{"name": "vault-ca", "secret": {"secretName": names.VAULT_CA_SECRET, "defaultMode": 0o444}}],
        "volumeMounts": [{"name": "vault-ca", "mountPath": VCO_CA_DIR, "readOnly": True}],
        # Its webhook and metrics certificates: cert-manager on plain Kubernetes (the default expects
        # OpenShift's service CA to create those Secrets, so the pod would never start).
        "enableCertManager": True,
        "enableMonitoring": True,
        # The chart sets only runAsNonRoot, no escalation and drop ALL; nothing is written to the root fs (its
        # webhook certificate is a mounted Secret).
        "podSecurityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "resources": {"requests": {"cpu": "100m", "memory": "250Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
    }


SECRETS_OPERATOR = ChartRelease(
    name="vault-secrets-operator",
    chart="vault-secrets-operator",
    namespace=lambda s: s.namespaces.vault_secrets_operator,
    values=secrets_operator_values,
)
CONFIG_OPERATOR = ChartRelease(
    name="vault-config-operator",
    chart="vault-config-operator",
    namespace=lambda s: s.namespaces.vault_config_operator,
    values=config_operator_values,
)
