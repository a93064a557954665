"""Where Vault runs, and what follows from it for the application cluster.

Three placements (`VaultSettings.placement`, decided in components/settings/load_vault.py):
  same cluster  (default)            Vault, its certificates and its TokenReview binding live next to the app
  second cluster (vault.kubeContext) Vault + cert-manager + the PKI layer in that cluster; the app cluster
                                     reaches it at vault.advertiseAddress and trusts that cluster's CA
  existing Vault (vault.externalAddress) nothing of Vault is deployed; the app cluster trusts vault.externalCaCert

Pure functions only: which layers and namespaces exist, which names and addresses Vault's certificate must
cover, and what Vault's Kubernetes auth method needs to validate the application cluster's tokens.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from components.settings import names as contract
from components.settings.model import Settings

# Kubernetes auth in the cluster Vault runs in: Vault reads that cluster's CA and its own ServiceAccount
# token from its pod, so no long-lived reviewer JWT is stored in Vault.
IN_CLUSTER_API = "https://kubernetes.default.svc:443"
# Vault elsewhere: a ServiceAccount in the app cluster whose long-lived token Vault uses for TokenReview
# (manifests/vault-token-reviewer/; the token Secret also carries the app cluster's API CA as `ca.crt`).
TOKEN_REVIEWER_SERVICE_ACCOUNT = "vault-token-reviewer"
TOKEN_REVIEWER_SECRET = "vault-token-reviewer"


def client_port(settings: Settings) -> int:
    """The TCP port the app cluster's clients dial Vault on (443 when the address names none)."""
    return urlsplit(contract.vault_address(settings)).port or 443


def advertised_host(settings: Settings) -> str:
    """With `vault.kubeContext`: the host of `vault.advertiseAddress` (what Vault's certificate must cover)."""
    if not settings.vault.separate_cluster:
        return ""
    return urlsplit(settings.vault.advertise_address).hostname or ""


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def extra_dns_names(settings: Settings) -> list[str]:
    """Names Vault's server certificate covers beyond the in-cluster ones: the advertised host name."""
    host = advertised_host(settings)
    return [host] if host and not _is_ip(host) else []


def server_ip_addresses(settings: Settings) -> list[str]:
    """IP SANs of Vault's server certificate: 127.0.0.1 (the program's port-forward and the pods' own CLI)
    and an advertised address given as an IP."""
    host = advertised_host(settings)
    return ["127.0.0.1", *([host] if host and _is_ip(host) and host != "127.0.0.1" else [])]


@dataclass(frozen=True)
class KubernetesAuthInputs:
    """What `vault.kubernetes.AuthBackendConfig` needs for this placement.

    `use_local_credentials`: Vault runs in the app cluster and uses its own pod token and CA
    (`disable_local_ca_jwt=False`, no `token_reviewer_jwt`, no `kubernetes_ca_cert`).
    Otherwise `reviewer_secret` (namespace, name) in the app cluster holds `token` (-> `token_reviewer_jwt`,
    a secret) and `ca.crt` (-> `kubernetes_ca_cert`); set `disable_local_ca_jwt=True` so a Vault that runs in
    some other Kubernetes cluster never falls back to that cluster's credentials.
    """

    kubernetes_host: str
    use_local_credentials: bool
    reviewer_secret: tuple[str, str] | None

    @property
    def disable_local_ca_jwt(self) -> bool:
        return not self.use_local_credentials


def kubernetes_auth_inputs(settings: Settings) -> KubernetesAuthInputs:
    """Kubernetes auth config per placement (the reviewer token and CA are read by VaultComponent)."""
    if settings.vault.in_app_cluster:
        return KubernetesAuthInputs(IN_CLUSTER_API, use_local_credentials=True, reviewer_secret=None)
    return KubernetesAuthInputs(
        settings.vault.app_api_address,
        use_local_credentials=False,
        reviewer_secret=(settings.namespaces.vault_secrets_operator, TOKEN_REVIEWER_SECRET),
    )
