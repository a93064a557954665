"""Read and validate `platform:vault` (and the Vault secrets) into `VaultSettings`.

Where Vault runs is decided here, once: `vault.kubeContext` means a second cluster, `vault.externalAddress`
an existing Vault, neither the application cluster. Every other module reads `VaultSettings.placement`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pulumi

from components.settings import patterns
from components.settings.keys import secret_fix
from components.settings.load.seal import load_seal
from components.settings.model import PROJECT, AntiAffinity, StackMode, VaultPlacement, VaultSettings, duration_seconds
from components.settings.reader import ConfigError, Section, set_command, set_from_stdin

# Host names and IPv4 only: these addresses are substituted into manifests (the operators' VaultConnection).
VAULT_URL = re.compile(r"^https://[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(:\d{1,5})?/?$")
VAULT_URL_WHAT = "an https:// Vault address (scheme, host, optional port; TLS is mandatory)"
VAULT_URL_EXAMPLE = "https://vault.example.com:8200"
APP_API_EXAMPLE = "https://api.app-cluster.example.com:6443"


@dataclass(frozen=True)
class VaultSecrets:
    """The Vault-related secret config keys (each a Pulumi secret, None when unset)."""

    default_anti_affinity: AntiAffinity = AntiAffinity.REQUIRED  # follows the nodes the program knows
    unseal_keys: pulumi.Output[str] | None = None  # vaultUnsealKeys
    root_token: pulumi.Output[str] | None = None  # vaultRootToken
    external_role_id: pulumi.Output[str] | None = None  # vaultExternalRoleId
    external_secret_id: pulumi.Output[str] | None = None  # vaultExternalSecretId
    seal: dict[str, pulumi.Output[str] | None] = field(default_factory=dict)  # seal.SECRET_KEYS


def _key(name: str) -> str:
    return f"{PROJECT}:{name}"


def load_vault(section: Section, mode: StackMode, secrets: VaultSecrets) -> VaultSettings:
    replicas = _replicas(section)
    shares, threshold, pgp_keys = _key_shares(section, mode, secrets)
    external_address = _url(section, "externalAddress", VAULT_URL_WHAT, VAULT_URL_EXAMPLE)
    kube_context = patterns.read(section, "kubeContext", "", patterns.KUBE_CONTEXT, optional=True)
    placement = _placement(section, kube_context, external_address)
    settings = VaultSettings(
        release_name=section.name("releaseName", "vault"),
        replicas=replicas,
        anti_affinity=section.choice("antiAffinity", secrets.default_anti_affinity),
        key_shares=shares,
        key_threshold=threshold,
        pgp_keys=pgp_keys,
        root_token_pgp_key=section.string("rootTokenPgpKey", ""),
        storage_size=section.quantity("storageSize", "10Gi"),
        audit_storage_size=section.quantity("auditStorageSize", "10Gi"),
        operator_role=section.name("operatorRole", "vault-operator"),
        operator_service_account=section.name("operatorServiceAccount", "vault-operator-sa"),
        local_port=section.integer("localPort", 18200, minimum=1024, maximum=65535),
        placement=placement,
        kube_context=kube_context,
        advertise_address=_url(section, "advertiseAddress", VAULT_URL_WHAT, VAULT_URL_EXAMPLE),
        external_address=external_address,
        external_ca_cert=section.string("externalCaCert", ""),
        app_api_address=_url(section, "appApiAddress", "an https:// Kubernetes API address", APP_API_EXAMPLE),
        admin_secret_id_ttl=_admin_secret_id_ttl(section),
        seal=load_seal(section.section("seal"), secrets.seal, deployed=placement is not VaultPlacement.EXTERNAL),
        unseal_keys=secrets.unseal_keys,
        root_token=secrets.root_token,
        external_role_id=secrets.external_role_id,
        external_secret_id=secrets.external_secret_id,
    )
    _check_placement(section, settings)
    _check_unseal_keys(settings)
    _check_external_approle(section, settings)
    section.finish()
    return settings


ADMIN_SECRET_ID_TTL = "720h"
ADMIN_SECRET_ID_TTL_RANGE = (3600, 8760 * 3600)  # 1h .. 1 year


def _admin_secret_id_ttl(section: Section) -> str:
    """The admin AppRole secret_id's lifetime: long enough to outlast the gap between two runs (it is renewed at the
    first `pulumi up` after half of it), short enough that a leaked one dies; 1h to 8760h."""
    ttl = section.duration("adminSecretIdTtl", ADMIN_SECRET_ID_TTL)
    low, high = ADMIN_SECRET_ID_TTL_RANGE
    if not low <= duration_seconds(ttl) <= high:
        raise section.fail(
            "adminSecretIdTtl",
            f"{ttl} is out of range 1h..8760h (the program renews the secret_id at the first `pulumi up` after half "
            "of it; if none runs before it expires, only a break-glass root token gets a new one)",
            ADMIN_SECRET_ID_TTL,
        )
    return ttl


def _url(section: Section, name: str, what: str, example: str) -> str:
    return section.string(name, "", pattern=VAULT_URL, what=what, example=example).rstrip("/")


def _replicas(section: Section) -> int:
    replicas = section.integer("replicas", 3, minimum=1, maximum=7)
    if replicas % 2 == 0:
        raise section.fail(
            "replicas",
            f"{replicas} Raft voters tolerate no more failures than {replicas - 1} and 2 have no quorum "
            "after one loss; use 1 (standalone) or an odd number (3, 5, 7)",
            replicas + 1,
        )
    return replicas


def _key_shares(section: Section, mode: StackMode, secrets: VaultSecrets) -> tuple[int, int, tuple[str, ...]]:
    default_shares, default_threshold = (3, 2) if mode is StackMode.LOCAL else (5, 3)
    shares = section.integer("keyShares", default_shares, minimum=1, maximum=10)
    threshold = section.integer("keyThreshold", min(default_threshold, shares), minimum=1, maximum=10)
    if threshold > shares:
        raise section.fail("keyThreshold", f"threshold {threshold} is greater than keyShares {shares}", shares)
    if shares > 1 and threshold == 1:
        raise section.fail("keyThreshold", "a threshold of 1 lets any single share holder unseal", shares // 2 + 1)
    pgp_keys = section.string_list("pgpKeys")
    if pgp_keys and len(pgp_keys) != shares:
        # One share per key given: keyShares follows the list (and the threshold stays within it).
        count = len(pgp_keys)
        fix = set_command(section.path("keyShares"), count)
        if threshold > count or (count > 1 and threshold == 1):
            fix += f" && {set_command(section.path('keyThreshold'), count // 2 + 1)}"
        raise section.fail_with(
            "pgpKeys", f"{count} PGP keys for {shares} shares (keyShares); give exactly one per share", fix
        )
    # With pgpKeys and no vaultUnsealKeys, decrypted shares are asked for only when a pod is sealed
    # (VAULT_UNSEAL_KEYS or a prompt, components/vault_runtime/steps/share_source.py): none in the config.
    return shares, threshold, pgp_keys


def _check_unseal_keys(settings: VaultSettings) -> None:
    """An auto-unseal seal unseals the pods itself: a share in the config would be unused (and recovery keys
    never unseal), so it is refused rather than kept around."""
    if settings.seal.auto and settings.unseal_keys is not None:
        raise ConfigError(
            f"{_key('vaultUnsealKeys')}: vault.seal.type {settings.seal.type.value} unseals the pods itself; no "
            "unseal share is used (recovery keys never unseal). Fix: pulumi config rm vaultUnsealKeys"
        )


def _placement(section: Section, kube_context: str, external_address: str) -> VaultPlacement:
    if kube_context and external_address:
        raise section.fail_unset(
            "externalAddress",
            "set either kubeContext (deploy Vault to a second cluster) or externalAddress (use an existing "
            "Vault, deploy none), not both",
        )
    if external_address:
        return VaultPlacement.EXTERNAL
    if kube_context:
        return VaultPlacement.SECOND_CLUSTER
    return VaultPlacement.SAME_CLUSTER


def _check_placement(section: Section, settings: VaultSettings) -> None:
    """The addresses and CA each placement needs, and none it does not use."""
    if settings.external and "-----BEGIN CERTIFICATE-----" not in settings.external_ca_cert:
        raise section.fail_with(
            "externalCaCert",
            "an external Vault needs the PEM CA certificate that signed its TLS certificate "
            "(the operators and the database engine verify it)",
            set_from_stdin(section.path("externalCaCert"), "< vault-ca.pem"),
        )
    if settings.separate_cluster and not settings.advertise_address:
        raise section.fail(
            "advertiseAddress",
            "with kubeContext Vault runs in another cluster; give the https address the application cluster "
            "reaches it at (a LoadBalancer or ingress name its server certificate covers)",
            VAULT_URL_EXAMPLE,
        )
    if settings.advertise_address and not settings.separate_cluster:
        raise section.fail_unset("advertiseAddress", "only used with kubeContext (Vault in a second cluster)")
    if settings.external_ca_cert and not settings.external:
        raise section.fail_unset("externalCaCert", "only used with externalAddress (an existing Vault)")
    if settings.separate_cluster and not settings.app_api_address:
        raise section.fail(
            "appApiAddress",
            "with kubeContext, Vault's Kubernetes auth reviews the operators' tokens at this cluster's API server; "
            "give its https address as reachable from the Vault cluster",
            APP_API_EXAMPLE,
        )
    if settings.app_api_address and settings.in_app_cluster:
        raise section.fail_unset("appApiAddress", "only used when Vault runs outside this cluster")


def _check_external_approle(section: Section, settings: VaultSettings) -> None:
    """vaultExternalRoleId / vaultExternalSecretId: both or neither, only with an existing Vault, and then
    Kubernetes auth needs the address Vault reviews this cluster's tokens at."""
    role_id, secret_id = settings.external_role_id, settings.external_secret_id
    if role_id is None and secret_id is None:
        return
    if not settings.external:
        given = "vaultExternalRoleId" if role_id is not None else "vaultExternalSecretId"
        raise ConfigError(
            f"{_key(given)}: AppRole credentials are only used with {section.path('externalAddress')} (an existing "
            "Vault the program configures). Fix: pulumi config rm vaultExternalRoleId && "
            "pulumi config rm vaultExternalSecretId"
        )
    missing = "vaultExternalSecretId" if secret_id is None else "vaultExternalRoleId" if role_id is None else ""
    if missing:
        other = "vaultExternalRoleId" if missing == "vaultExternalSecretId" else "vaultExternalSecretId"
        raise ConfigError(
            f"{_key(missing)}: {other} is set, so the program logs in to the existing Vault with an AppRole and "
            f"needs both (from the Vault operator). Fix: {secret_fix(missing)}"
        )
    if not settings.app_api_address:
        raise section.fail(
            "appApiAddress",
            "with vaultExternalRoleId the program configures the existing Vault's Kubernetes auth, which reviews "
            "the operators' tokens at this cluster's API server; give its https address as reachable from Vault",
            APP_API_EXAMPLE,
        )
