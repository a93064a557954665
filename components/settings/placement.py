"""Where Vault runs, and what follows from it for the application cluster.

Three placements (`VaultSettings.placement`, decided in components/settings/load/vault.py):
  same cluster  (default)            Vault, its certificates and its TokenReview binding live next to the app
  second cluster (vault.kubeContext) Vault + cert-manager + the PKI layer in that cluster; the app cluster
                                     reaches it at vault.advertiseAddress and trusts that cluster's CA
  existing Vault (vault.externalAddress) nothing of Vault is deployed; the app cluster trusts vault.externalCaCert

Pure functions only: the address clients dial, the names of Vault's Services, Secret and ServiceAccount, the
names and addresses Vault's certificate must cover, and what Vault's Kubernetes auth method needs to validate
the application cluster's tokens. The chart values (components/charts/vault.py) and the manifests' variables
(components/rendering/variables.py) both read them here, so a certificate and what mounts it cannot drift.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from components.settings import names as contract
from components.settings.model import Settings

CLUSTER_DOMAIN = "cluster.local"

# Kubernetes auth in the cluster Vault runs in: Vault reads that cluster's CA and its own ServiceAccount
# token from its pod, so no long-lived reviewer JWT is stored in Vault.
IN_CLUSTER_API = "https://kubernetes.default.svc:443"
# Vault elsewhere: a ServiceAccount in the app cluster whose long-lived token Vault uses for TokenReview
# (manifests/bootstrap/vault-operators-external/; the token Secret also carries the app cluster's API CA as `ca.crt`).
TOKEN_REVIEWER_SERVICE_ACCOUNT = "vault-token-reviewer"
TOKEN_REVIEWER_SECRET = "vault-token-reviewer"


def client_port(settings: Settings) -> int:
    """The TCP port the app cluster's clients dial Vault on (443 when the address names none)."""
    return urlsplit(vault_address(settings)).port or 443


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


def in_cluster_address(settings: Settings) -> str:
    """Address of the active Vault node inside the cluster Vault runs in (`-active` exists only in HA)."""
    vault = settings.vault
    service = f"{vault.release_name}-active" if vault.ha else vault.release_name
    return f"https://{service}.{settings.namespaces.vault}.svc:{contract.VAULT_PORT}"


def vault_address(settings: Settings) -> str:
    """The address VSO, vault-config-operator, the database engine and the app cluster's clients use.

    In-cluster service address by default; `vault.externalAddress` for an existing Vault the program does
    not deploy; `vault.advertiseAddress` when Vault runs in the second cluster of `vault.kubeContext`.
    """
    vault = settings.vault
    if vault.external:
        return vault.external_address
    if vault.separate_cluster:
        return vault.advertise_address
    return in_cluster_address(settings)


def tls_secret(settings: Settings) -> str:
    """Secret of Vault's server certificate (in the Vault namespace); also holds the root CA `ca.crt`."""
    return f"{settings.vault.release_name}-server-tls"


def service_account(settings: Settings) -> str:
    """Vault's own ServiceAccount (fixed to the release name, see `fullnameOverride`)."""
    return settings.vault.release_name


def internal_service(settings: Settings) -> str:
    """The headless service that gives every pod a stable DNS name: `<pod>.<release>-internal`."""
    return f"{settings.vault.release_name}-internal"


def peer_addresses(settings: Settings) -> list[str]:
    """`leader_api_addr` of every Raft peer, in pod order."""
    return [f"https://{pod}.{internal_service(settings)}:{contract.VAULT_PORT}" for pod in settings.vault.pods]


def server_dns_names(settings: Settings) -> list[str]:
    """Every DNS name Vault's certificate must cover.

    Each peer by name (what `retry_join` dials) and the wildcard for the headless service, every chart
    Service in its short, namespaced and fully qualified forms, `localhost`, and the advertised host name
    when Vault runs in a second cluster.
    """
    release, ns = settings.vault.release_name, settings.namespaces.vault
    internal = internal_service(settings)
    names = [f"{pod}.{internal}" for pod in settings.vault.pods]
    names += [f"*.{internal}", f"*.{internal}.{ns}.svc", f"*.{internal}.{ns}.svc.{CLUSTER_DOMAIN}"]
    services = [release, internal, f"{release}-ui"]
    if settings.vault.ha:
        services += [f"{release}-active", f"{release}-standby"]  # the chart creates these only in HA mode
    for service in services:
        names += [service, f"{service}.{ns}", f"{service}.{ns}.svc", f"{service}.{ns}.svc.{CLUSTER_DOMAIN}"]
    names.append("localhost")
    # Vault in a second cluster: the application cluster dials vault.advertiseAddress.
    names += extra_dns_names(settings)
    return names


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
