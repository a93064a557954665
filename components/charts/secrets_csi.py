"""Helm values of the Secrets Store CSI driver and the Vault CSI provider (`app.secretsDelivery: csi` only).

The operators layer installs both (components/layers/operators.py); what the app mounts through them is in
`manifests/gitops/app-csi/` (SecretProviderClass, the Deployment's CSI volume); the provider's Vault CA follows
where Vault runs (`manifests/gitops/app-csi-vault-ca/`, or a Secret from `components/vault/trust.py`).

Both run as node-level DaemonSets with hostPath volumes (the kubelet plugin directories), which the
restricted/baseline Pod Security levels of the platform's namespaces forbid, so they live in
`kube-system`, where the driver's own documentation installs it.
"""

from __future__ import annotations

import re
from typing import Any

from components.charts.release import ChartRelease
from components.settings import names
from components.settings.model import Settings

NAMESPACE = names.SECRETS_STORE_CSI_NAMESPACE
DRIVER_RELEASE = "secrets-store-csi-driver"
PROVIDER_RELEASE = "vault-csi-provider"
# Where the provider pod sees the Vault CA (`ca.crt`): the SecretProviderClass's vaultCACertPath.
PROVIDER_CA_DIR = "/vault/tls"


def rotation_poll_interval(settings: Settings) -> str:
    """How often the driver re-mounts: a quarter of the app's database lease TTL (at least a minute).

    Each re-mount reads `creds/<app role>` again, which creates a NEW database user (the provider runs
    without the caching agent), so the chart's 2-minute default would pile up hundreds of live users per pod.
    A quarter of the TTL keeps at most ~4 leases per pod alive and replaces the files well before the lease
    in use expires (nothing renews it).
    """
    seconds = 0
    for amount, unit in re.findall(r"(\d+)([hms])", settings.postgres.app_role_ttl):
        seconds += int(amount) * {"h": 3600, "m": 60, "s": 1}[unit]
    return f"{max(seconds // 4, 60)}s"


def driver_values(settings: Settings) -> dict[str, Any]:
    """The driver: files only, never synced into Kubernetes Secrets; rotation re-reads the provider."""
    return {
        # Syncing mounted content into a Secret (secretObjects) needs RBAC on every Secret of the cluster and
        # would bring back the etcd copy this mode exists to avoid.
        "syncSecret": {"enabled": False},
        # Re-fetch mounted objects periodically: new dynamic credentials and a changed hashing secret reach
        # the files without a pod restart (the app must re-read them).
        "enableSecretRotation": True,
        "rotationPollInterval": rotation_poll_interval(settings),
    }


def provider_values() -> dict[str, Any]:
    """The `vault` chart with only its CSI provider: no server, no injector, no Vault Agent sidecar.

    The provider talks to Vault directly with the SecretProviderClass's address and CA (the chart's agent
    would send everything to the in-cluster `<release>.<namespace>.svc` address of THIS release, which does
    not exist). The CA Secret is `optional`: the release is installed with the operators, before the PKI
    exists; the file appears once cert-manager issues `manifests/gitops/app-csi-vault-ca/vault-ca.yaml` (Vault
    elsewhere: once Pulumi writes it with that Vault's CA, components/vault/trust.py), long before the
    first app pod mounts a volume.
    """
    ca = names.VAULT_CA_SECRET
    return {
        "server": {"enabled": False},
        "injector": {"enabled": False},
        "csi": {
            "enabled": True,
            "agent": {"enabled": False},
            "volumes": [{"name": "vault-ca", "secret": {"secretName": ca, "optional": True, "defaultMode": 0o444}}],
            "volumeMounts": [{"name": "vault-ca", "mountPath": PROVIDER_CA_DIR, "readOnly": True}],
            "resources": {"requests": {"cpu": "20m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        },
    }


DRIVER = ChartRelease(
    name=DRIVER_RELEASE,
    chart="secrets-store-csi-driver",
    namespace=lambda _s: NAMESPACE,
    values=driver_values,
    enabled=lambda s: s.app.csi,
)
PROVIDER = ChartRelease(
    name=PROVIDER_RELEASE,
    chart="vault",
    namespace=lambda _s: NAMESPACE,
    values=lambda _s: provider_values(),
    enabled=lambda s: s.app.csi,
    after=(DRIVER_RELEASE,),
)
