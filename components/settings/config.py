"""All stack configuration, read once and validated into immutable settings.

`load_settings()` is the only place that reads Pulumi config. Each layer has one structured key
(`platform:vault`, `platform:pki`, ...) settable with `pulumi config set --path`; secrets are separate
top-level keys read with `get_secret`, so they stay `Output`s and never become plain values here.
Any invalid value raises one `ConfigError` naming the key and the fix, before a resource exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

import pulumi

from components.settings.reader import DNS1123_LABEL, ConfigError, Section, set_hint
from components.settings.versions import IMAGES

PROJECT = "platform"
MODES = ("local", "remote")
KEY_ALGORITHMS = {"RSA": (2048, 3072, 4096), "ECDSA": (256, 384, 521), "Ed25519": (0,)}
GIT_HTTPS_URL = re.compile(r"^https://[^\s/@]+(/[^\s]*)?$")
GIT_SSH_URL = re.compile(r"^ssh://[^\s@/]+@[^\s/]+(:\d+)?/[^\s]+$")
SCP_LIKE_URL = re.compile(r"^[^\s@/]+@[^\s:/]+:[^\s]+$")
VAULT_URL = re.compile(r"^https://[^\s/:]+(:\d{1,5})?/?$")
VAULT_URL_WHAT = "an https:// Vault address (scheme, host, optional port; TLS is mandatory)"
APP_API_EXAMPLE = "https://api.app-cluster.example.com:6443"


class ConfigSource(Protocol):
    """What settings need from `pulumi.Config` (a protocol so tests can pass a dict-backed fake)."""

    def get(self, key: str) -> str | None: ...
    def get_object(self, key: str) -> Any: ...
    def get_secret(self, key: str) -> pulumi.Output[str] | None: ...


@dataclass(frozen=True)
class LocalClusterSettings:
    """A kind cluster the local stack can create for itself (issue: local cluster provisioning)."""

    create: bool
    name: str
    encryption_at_rest: bool
    http_port: int
    https_port: int
    workers: int = 0  # worker nodes besides the control plane (3 allow vault.antiAffinity: required)


@dataclass(frozen=True)
class KubernetesSettings:
    context: str  # "" means the kubeconfig's current context
    cluster: LocalClusterSettings


@dataclass(frozen=True)
class NamespaceSettings:
    flux: str
    cert_manager: str
    monitoring: str
    vault: str
    vault_secrets_operator: str
    vault_config_operator: str
    database_operator: str
    storage_operator: str
    storage: str
    ingress: str
    app: str

    def all(self) -> tuple[str, ...]:
        """Every distinct namespace, in a stable order."""
        return tuple(dict.fromkeys(vars(self).values()))


@dataclass(frozen=True)
class PkiSettings:
    key_algorithm: str
    key_size: int
    root_ca_duration: str
    root_ca_renew_before: str
    intermediate_ca_duration: str
    intermediate_ca_renew_before: str
    leaf_duration: str
    leaf_renew_before: str
    organization: str


@dataclass(frozen=True)
class VaultSettings:
    release_name: str
    replicas: int
    anti_affinity: str  # "required" (one pod per node) or "preferred" (single-node clusters)
    key_shares: int
    key_threshold: int
    pgp_keys: tuple[str, ...]
    root_token_pgp_key: str
    storage_size: str
    audit_storage_size: str
    operator_role: str
    operator_service_account: str
    local_port: int
    # Where Vault runs (issue 9): "" = in this cluster; a second kubectl context; or an existing Vault
    # outside any cluster we deploy (address + CA PEM), in which case the program deploys no Vault at all.
    kube_context: str
    advertise_address: str  # with kube_context: how the application cluster reaches that Vault
    external_address: str
    external_ca_cert: str
    # Vault outside this cluster: the app cluster's API server address as Vault reaches it (Kubernetes auth
    # reviews the operators' tokens there). Required with kube_context, optional with external_address.
    app_api_address: str = ""
    # With PGP-encrypted shares the program cannot unseal by itself: the decrypted shares come here.
    unseal_keys: pulumi.Output[str] | None = field(default=None, compare=False)
    # A root token for the one-time admin bootstrap when the init output cannot be used: the initial
    # token is PGP-encrypted (rootTokenPgpKey), or a break-glass token to change the admin bootstrap.
    root_token: pulumi.Output[str] | None = field(default=None, compare=False)
    # An existing Vault (external_address): the AppRole its operator created for this program
    # (vaultExternalRoleId / vaultExternalSecretId). With it pulumi-vault configures that Vault; without it
    # its operator configures everything by hand (README "Where Vault runs").
    external_role_id: pulumi.Output[str] | None = field(default=None, compare=False)
    external_secret_id: pulumi.Output[str] | None = field(default=None, compare=False)

    @property
    def configures_external(self) -> bool:
        """The program configures the existing Vault with pulumi-vault (AppRole credentials given)."""
        return self.external and self.external_role_id is not None

    @property
    def ha(self) -> bool:
        return self.replicas > 1

    @property
    def pods(self) -> tuple[str, ...]:
        return tuple(f"{self.release_name}-{i}" for i in range(self.replicas))

    @property
    def external(self) -> bool:
        """Vault is not deployed by this program; everything points at `external_address`."""
        return bool(self.external_address)

    @property
    def separate_cluster(self) -> bool:
        """The Vault layer goes to its own kubectl context, the rest to `kubernetes.context`."""
        return bool(self.kube_context)


@dataclass(frozen=True)
class S3Settings:
    backend: str  # "minio" (in-cluster, local default) or "external"
    endpoint: str
    region: str
    bucket: str
    minio_storage_size: str
    access_key_id: pulumi.Output[str] | None = field(default=None, compare=False)
    secret_access_key: pulumi.Output[str] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class RegistrySettings:
    mode: str  # "in-cluster" or "external"
    host: str
    username: str
    password: pulumi.Output[str] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class PostgresSettings:
    instances: int
    storage_size: str
    database: str
    app_role_ttl: str
    migrations_role_ttl: str
    root_rotation_period: str


@dataclass(frozen=True)
class AppSettings:
    name: str
    image: str
    migrations_image: str
    replicas: int
    http_port: int
    metrics_port: int
    log_level: str
    otlp_endpoint: str
    secrets_delivery: str  # "vso" (Kubernetes Secrets synced by VSO) or "csi" (files, no Secret objects)
    env: dict[str, str]


@dataclass(frozen=True)
class IngressSettings:
    host: str
    https_port: int
    client_apps: tuple[str, ...]


@dataclass(frozen=True)
class FluxSettings:
    git_url: str
    branch: str
    tag: str
    semver: str
    interval: str
    path: str
    private: bool
    known_hosts: str
    ca_cert: str
    git_username: str
    git_token: pulumi.Output[str] | None = field(default=None, compare=False)
    git_ssh_key: pulumi.Output[str] | None = field(default=None, compare=False)

    @property
    def is_ssh(self) -> bool:
        return self.git_url.startswith("ssh://")


@dataclass(frozen=True)
class Settings:
    """Everything the program needs, immutable. Built by `load_settings`."""

    stack: str
    mode: str
    kubernetes: KubernetesSettings
    namespaces: NamespaceSettings
    pki: PkiSettings
    vault: VaultSettings
    s3: S3Settings
    registry: RegistrySettings
    postgres: PostgresSettings
    app: AppSettings
    ingress: IngressSettings
    flux: FluxSettings

    @property
    def labels(self) -> dict[str, str]:
        """Labels every object the program creates carries."""
        return {"app.kubernetes.io/part-of": PROJECT, "app.kubernetes.io/managed-by": "pulumi"}


def _key(name: str) -> str:
    return f"{PROJECT}:{name}"


def _section(source: ConfigSource, name: str) -> Section:
    try:
        raw = source.get_object(name)
    except Exception as error:  # pulumi raises on values that are not JSON
        raise ConfigError(
            f"{_key(name)}: not a structured value ({error}). Fix: set its fields with "
            f"{set_hint(_key(name) + '.<field>', '<value>')}"
        ) from error
    return Section(_key(name), raw)


def _kubernetes(section: Section, mode: str) -> KubernetesSettings:
    context = section.string("context", "")
    cluster = section.section("cluster")
    settings = KubernetesSettings(
        context=context,
        cluster=LocalClusterSettings(
            create=cluster.boolean("create", False),
            name=cluster.name("name", "platform"),
            encryption_at_rest=cluster.boolean("encryptionAtRest", True),
            http_port=cluster.integer("httpPort", 8080, minimum=1, maximum=65535),
            https_port=cluster.integer("httpsPort", 8443, minimum=1, maximum=65535),
            workers=cluster.integer("workers", 0, minimum=0, maximum=6),
        ),
    )
    if settings.cluster.create and mode != "local":
        raise cluster.fail("create", "only the local stack creates its own kind cluster", "false")
    if settings.cluster.create and context:
        raise section.fail("context", "kubernetes.cluster.create uses the new cluster's own kubeconfig", '""')
    if settings.cluster.http_port == settings.cluster.https_port:
        raise cluster.fail("httpsPort", "must differ from httpPort", "8443")
    cluster.finish()
    section.finish()
    return settings


def _namespaces(section: Section) -> NamespaceSettings:
    settings = NamespaceSettings(
        flux=section.name("flux", "flux-system"),
        cert_manager=section.name("certManager", "cert-manager"),
        monitoring=section.name("monitoring", "monitoring"),
        vault=section.name("vault", "vault"),
        vault_secrets_operator=section.name("vaultSecretsOperator", "vault-secrets-operator-system"),
        vault_config_operator=section.name("vaultConfigOperator", "vault-config-operator"),
        database_operator=section.name("databaseOperator", "cnpg-system"),
        storage_operator=section.name("storageOperator", "minio-operator"),
        storage=section.name("storage", "minio"),
        ingress=section.name("ingress", "traefik"),
        app=section.name("app", "sms-proxy"),
    )
    section.finish()
    return settings


def _pki(section: Section) -> PkiSettings:
    algorithm = section.string("keyAlgorithm", "RSA", choices=KEY_ALGORITHMS)
    sizes = KEY_ALGORITHMS[algorithm]
    default_size = {"RSA": 4096, "ECDSA": 384, "Ed25519": 0}[algorithm]
    size = section.integer("keySize", default_size, minimum=0, maximum=8192)
    if size not in sizes:
        raise section.fail(
            "keySize", f"{size} is not a valid size for {algorithm}; allowed: {sizes}", str(default_size)
        )
    settings = PkiSettings(
        key_algorithm=algorithm,
        key_size=size,
        root_ca_duration=section.duration("rootCaDuration", "43800h"),
        root_ca_renew_before=section.duration("rootCaRenewBefore", "2160h"),
        intermediate_ca_duration=section.duration("intermediateCaDuration", "8760h"),
        intermediate_ca_renew_before=section.duration("intermediateCaRenewBefore", "720h"),
        leaf_duration=section.duration("leafDuration", "2160h"),
        leaf_renew_before=section.duration("leafRenewBefore", "360h"),
        organization=section.string("organization", "platform"),
    )
    for prefix in ("rootCa", "intermediateCa", "leaf"):
        attr = re.sub(r"(?<!^)(?=[A-Z])", "_", prefix).lower()
        duration = _hours(getattr(settings, f"{attr}_duration"))
        renew = _hours(getattr(settings, f"{attr}_renew_before"))
        if renew >= duration:
            raise section.fail(f"{prefix}RenewBefore", "must be shorter than the certificate's duration", "720h")
    if _hours(settings.leaf_duration) > _hours(settings.intermediate_ca_duration):
        raise section.fail("leafDuration", "must not outlive the intermediate CA", "2160h")
    if _hours(settings.intermediate_ca_duration) > _hours(settings.root_ca_duration):
        raise section.fail("intermediateCaDuration", "must not outlive the root CA", "8760h")
    section.finish()
    return settings


def _hours(duration: str) -> float:
    total = 0.0
    for amount, unit in re.findall(r"(\d+)([hms])", duration):
        total += int(amount) * {"h": 1, "m": 1 / 60, "s": 1 / 3600}[unit]
    return total


def _vault(
    section: Section,
    mode: str,
    unseal_keys: pulumi.Output[str] | None,
    root_token: pulumi.Output[str] | None = None,
    external_approle: tuple[pulumi.Output[str] | None, pulumi.Output[str] | None] = (None, None),
) -> VaultSettings:
    replicas = section.integer("replicas", 3, minimum=1, maximum=7)
    if replicas % 2 == 0:
        raise section.fail(
            "replicas",
            f"{replicas} Raft voters tolerate no more failures than {replicas - 1} and 2 have no quorum "
            "after one loss; use 1 (standalone) or an odd number (3, 5, 7)",
            "3",
        )
    default_shares, default_threshold = (3, 2) if mode == "local" else (5, 3)
    shares = section.integer("keyShares", default_shares, minimum=1, maximum=10)
    threshold = section.integer("keyThreshold", min(default_threshold, shares), minimum=1, maximum=10)
    if threshold > shares:
        raise section.fail("keyThreshold", f"threshold {threshold} is greater than keyShares {shares}", str(shares))
    if shares > 1 and threshold == 1:
        raise section.fail("keyThreshold", "a threshold of 1 lets any single share holder unseal", "2")
    pgp_keys = section.string_list("pgpKeys")
    if pgp_keys and len(pgp_keys) != shares:
        raise section.fail(
            "pgpKeys",
            f"{len(pgp_keys)} PGP keys for {shares} shares; give exactly one per share",
            "'[...]' --json",
        )
    if pgp_keys and unseal_keys is None:
        raise ConfigError(
            f"{_key('vaultUnsealKeys')}: with {section.path('pgpKeys')} the shares are encrypted, so the program "
            "needs the decrypted shares to unseal. Fix: pulumi config set --secret vaultUnsealKeys "
            "'[\"<share>\", ...]' (at least keyThreshold shares), or remove vault.pgpKeys"
        )
    settings = VaultSettings(
        release_name=section.name("releaseName", "vault"),
        replicas=replicas,
        anti_affinity=section.string("antiAffinity", "required", choices=("required", "preferred")),
        key_shares=shares,
        key_threshold=threshold,
        pgp_keys=pgp_keys,
        root_token_pgp_key=section.string("rootTokenPgpKey", ""),
        storage_size=section.quantity("storageSize", "10Gi"),
        audit_storage_size=section.quantity("auditStorageSize", "10Gi"),
        operator_role=section.name("operatorRole", "vault-operator"),
        operator_service_account=section.name("operatorServiceAccount", "vault-operator-sa"),
        local_port=section.integer("localPort", 18200, minimum=1024, maximum=65535),
        kube_context=section.string("kubeContext", ""),
        advertise_address=section.string(
            "advertiseAddress", "", pattern=VAULT_URL, what=VAULT_URL_WHAT, example="https://vault.example.com:8200"
        ).rstrip("/"),
        external_address=section.string(
            "externalAddress", "", pattern=VAULT_URL, what=VAULT_URL_WHAT, example="https://vault.example.com:8200"
        ).rstrip("/"),
        external_ca_cert=section.string("externalCaCert", ""),
        app_api_address=section.string(
            "appApiAddress", "", pattern=VAULT_URL, what="an https:// Kubernetes API address", example=APP_API_EXAMPLE
        ).rstrip("/"),
        unseal_keys=unseal_keys,
        root_token=root_token,
        external_role_id=external_approle[0],
        external_secret_id=external_approle[1],
    )
    if settings.kube_context and settings.external_address:
        raise section.fail(
            "externalAddress",
            "set either kubeContext (deploy Vault to a second cluster) or externalAddress (use an existing "
            "Vault, deploy none), not both",
            '""',
        )
    if settings.external_address and "-----BEGIN CERTIFICATE-----" not in settings.external_ca_cert:
        raise section.fail(
            "externalCaCert",
            "an external Vault needs the PEM CA certificate that signed its TLS certificate "
            "(the operators and the database engine verify it)",
            '"$(cat vault-ca.pem)"',
        )
    if settings.kube_context and not settings.advertise_address:
        raise section.fail(
            "advertiseAddress",
            "with kubeContext Vault runs in another cluster; give the https address the application cluster "
            "reaches it at (a LoadBalancer or ingress name its server certificate covers)",
            "https://vault.example.com:8200",
        )
    if settings.advertise_address and not settings.kube_context:
        raise section.fail("advertiseAddress", "only used with kubeContext (Vault in a second cluster)", '""')
    if settings.external_ca_cert and not settings.external_address:
        raise section.fail("externalAddress", "externalCaCert is set but no external Vault address", '""')
    if settings.kube_context and not settings.app_api_address:
        raise section.fail(
            "appApiAddress",
            "with kubeContext, Vault's Kubernetes auth reviews the operators' tokens at this cluster's API server; "
            "give its https address as reachable from the Vault cluster",
            APP_API_EXAMPLE,
        )
    if settings.app_api_address and not (settings.kube_context or settings.external_address):
        raise section.fail("appApiAddress", "only used when Vault runs outside this cluster", '""')
    _check_external_approle(section, settings)
    section.finish()
    return settings


def _check_external_approle(section: Section, settings: VaultSettings) -> None:
    """vaultExternalRoleId / vaultExternalSecretId: both or neither, only with an existing Vault, and then
    Kubernetes auth needs the address Vault reviews this cluster's tokens at."""
    role_id, secret_id = settings.external_role_id, settings.external_secret_id
    if role_id is None and secret_id is None:
        return
    if not settings.external_address:
        given = "vaultExternalRoleId" if role_id is not None else "vaultExternalSecretId"
        raise ConfigError(
            f"{_key(given)}: AppRole credentials are only used with {section.path('externalAddress')} (an existing "
            "Vault the program configures). Fix: pulumi config rm vaultExternalRoleId; "
            "pulumi config rm vaultExternalSecretId"
        )
    missing = "vaultExternalSecretId" if secret_id is None else "vaultExternalRoleId" if role_id is None else ""
    if missing:
        other = "vaultExternalRoleId" if missing == "vaultExternalSecretId" else "vaultExternalSecretId"
        raise ConfigError(
            f"{_key(missing)}: {other} is set, so the program logs in to the existing Vault with an AppRole and "
            f"needs both. Fix: pulumi config set --secret {missing} <value from the Vault operator>, "
            f"or pulumi config rm {other}"
        )
    if not settings.app_api_address:
        raise section.fail(
            "appApiAddress",
            "with vaultExternalRoleId the program configures the existing Vault's Kubernetes auth, which reviews "
            "the operators' tokens at this cluster's API server; give its https address as reachable from Vault",
            APP_API_EXAMPLE,
        )


def _s3(section: Section, mode: str, source: ConfigSource) -> S3Settings:
    backend = section.string("backend", "minio" if mode == "local" else "external", choices=("minio", "external"))
    settings = S3Settings(
        backend=backend,
        endpoint=section.string(
            "endpoint",
            "",
            pattern=re.compile(r"^https://\S+$"),
            what="an https:// URL",
            example="https://s3.example",
        ),
        region=section.string("region", "us-east-1"),
        bucket=section.string(
            "bucket",
            "oci-registry",
            pattern=re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"),
            what="an S3 bucket name",
            example="oci-registry",
        ),
        minio_storage_size=section.quantity("minioStorageSize", "5Gi"),
        access_key_id=source.get_secret("s3AccessKeyId"),
        secret_access_key=source.get_secret("s3SecretAccessKey"),
    )
    if backend == "external":
        if not settings.endpoint:
            raise section.fail("endpoint", "an external S3 backend needs its endpoint", "https://s3.example")
        for key, value in (
            ("s3AccessKeyId", settings.access_key_id),
            ("s3SecretAccessKey", settings.secret_access_key),
        ):
            if value is None:
                raise ConfigError(
                    f"{_key(key)}: the external S3 backend needs credentials. "
                    f"Fix: pulumi config set --secret {key} <value>"
                )
    section.finish()
    return settings


def _registry(section: Section, source: ConfigSource) -> RegistrySettings:
    mode = section.string("mode", "in-cluster", choices=("in-cluster", "external"))
    settings = RegistrySettings(
        mode=mode,
        host=section.hostname("host", "registry.local") if section.has("host") or mode == "in-cluster" else "",
        username=section.string("username", "registry"),
        password=source.get_secret("registryPassword"),
    )
    if mode == "external":
        if not settings.host:
            raise section.fail("host", "an external registry needs its host", "registry.example.com")
        if settings.password is None:
            raise ConfigError(
                f"{_key('registryPassword')}: the external registry needs a password or token. "
                "Fix: pulumi config set --secret registryPassword <value>"
            )
    section.finish()
    return settings


def _postgres(section: Section) -> PostgresSettings:
    settings = PostgresSettings(
        instances=section.integer("instances", 1, minimum=1, maximum=9),
        storage_size=section.quantity("storageSize", "10Gi"),
        database=section.string(
            "database", "sms_proxy", pattern=re.compile(r"^[a-z_][a-z0-9_]{0,62}$"), what="a database name"
        ),
        app_role_ttl=section.duration("appRoleTtl", "12h"),
        migrations_role_ttl=section.duration("migrationsRoleTtl", "5m"),
        root_rotation_period=section.duration("rootRotationPeriod", "24h"),
    )
    section.finish()
    return settings


def _app(section: Section) -> AppSettings:
    settings = AppSettings(
        name=section.name("name", "sms-proxy"),
        image=section.image("image", IMAGES["app"]),
        migrations_image=section.image("migrationsImage", IMAGES["migrations"]),
        replicas=section.integer("replicas", 2, minimum=1, maximum=50),
        http_port=section.integer("httpPort", 3000, minimum=1024, maximum=65535),
        metrics_port=section.integer("metricsPort", 4000, minimum=1024, maximum=65535),
        log_level=section.string("logLevel", "info", choices=("debug", "info", "warn", "error")),
        otlp_endpoint=section.string("otlpEndpoint", ""),
        secrets_delivery=section.string("secretsDelivery", "vso", choices=("vso", "csi")),
        env=section.mapping("env"),
    )
    if settings.http_port == settings.metrics_port:
        raise section.fail("metricsPort", "must differ from httpPort", "4000")
    section.finish()
    return settings


def _ingress(section: Section) -> IngressSettings:
    settings = IngressSettings(
        host=section.hostname("host", "sms-proxy.local"),
        https_port=section.integer("httpsPort", 4443, minimum=1, maximum=65535),
        client_apps=section.string_list("clientApps", ("client-app-1", "client-app-2")),
    )
    # Each name becomes a certificate CN and the Secret `<name>-client-tls` (components/client_certificates.py).
    example = '\'["billing", "reports"]\' --json'
    for app in settings.client_apps:
        if not DNS1123_LABEL.match(app) or len(app) > 52:
            raise section.fail("clientApps", f"{app!r} is not a DNS-1123 label of at most 52 characters", example)
    if len(set(settings.client_apps)) != len(settings.client_apps):
        raise section.fail("clientApps", "names must be unique (one certificate each)", example)
    section.finish()
    return settings


def _flux(section: Section, mode: str, source: ConfigSource) -> FluxSettings:
    git_url = section.string("gitUrl", "")
    if git_url and SCP_LIKE_URL.match(git_url):
        raise section.fail(
            "gitUrl",
            f"{git_url!r} is scp-like; Flux needs ssh://user@host/path",
            "ssh://git@github.com/org/repo",
        )
    if git_url and not (GIT_HTTPS_URL.match(git_url) or GIT_SSH_URL.match(git_url)):
        raise section.fail("gitUrl", f"{git_url!r} is not an https:// or ssh:// Git URL", "https://github.com/org/repo")
    if mode == "remote" and not git_url:
        raise section.fail(
            "gitUrl",
            "the remote stack hands the application layers to Flux and needs the Git URL",
            "https://github.com/org/repo",
        )
    refs = {name: section.string(name, "") for name in ("branch", "tag", "semver")}
    chosen = [name for name, value in refs.items() if value]
    if len(chosen) > 1:
        raise section.fail(chosen[1], f"set only one of branch, tag, semver (got {', '.join(chosen)})", '""')
    settings = FluxSettings(
        git_url=git_url,
        branch=refs["branch"] or ("" if chosen else "main"),
        tag=refs["tag"],
        semver=refs["semver"],
        interval=section.duration("interval", "5m"),
        path=section.string("path", "manifests", pattern=re.compile(r"^[A-Za-z0-9._/-]+$"), what="a repository path")
        .strip("/")
        .removeprefix("./"),
        private=section.boolean("private", False),
        known_hosts=section.string("knownHosts", ""),
        ca_cert=section.string("caCert", ""),
        git_username=section.string("gitUsername", "git"),
        git_token=source.get_secret("fluxGitToken"),
        git_ssh_key=source.get_secret("fluxGitSshKey"),
    )
    if settings.is_ssh:
        if settings.git_ssh_key is None:
            raise ConfigError(
                f"{_key('fluxGitSshKey')}: {section.path('gitUrl')} is an SSH URL and needs a deploy key. "
                "Fix: pulumi config set --secret fluxGitSshKey < deploy_key"
            )
        if not settings.known_hosts:
            raise section.fail(
                "knownHosts",
                "an SSH URL needs the host's key (ssh-keyscan <host>)",
                '"$(ssh-keyscan github.com)"',
            )
    elif settings.private and settings.git_token is None:
        raise ConfigError(
            f"{_key('fluxGitToken')}: {section.path('private')} is true but no token is set. "
            "Fix: pulumi config set --secret fluxGitToken <token with read access>"
        )
    section.finish()
    return settings


def load_settings(source: ConfigSource, stack: str) -> Settings:
    """Read and validate every config key of the stack. Raises ConfigError on the first bad value."""
    mode = source.get("mode") or (stack if stack in MODES else "")
    if mode not in MODES:
        raise ConfigError(
            f"{_key('mode')}: unknown mode {mode!r} for stack {stack!r}; allowed: {', '.join(MODES)}. "
            "Fix: pulumi config set mode local"
        )
    return Settings(
        stack=stack,
        mode=mode,
        kubernetes=_kubernetes(_section(source, "kubernetes"), mode),
        namespaces=_namespaces(_section(source, "namespaces")),
        pki=_pki(_section(source, "pki")),
        vault=_vault(
            _section(source, "vault"),
            mode,
            source.get_secret("vaultUnsealKeys"),
            source.get_secret("vaultRootToken"),
            (source.get_secret("vaultExternalRoleId"), source.get_secret("vaultExternalSecretId")),
        ),
        s3=_s3(_section(source, "s3"), mode, source),
        registry=_registry(_section(source, "registry"), source),
        postgres=_postgres(_section(source, "postgres")),
        app=_app(_section(source, "app")),
        ingress=_ingress(_section(source, "ingress")),
        flux=_flux(_section(source, "flux"), mode, source),
    )


def settings_from_pulumi() -> Settings:
    """The settings of the running stack."""
    return load_settings(pulumi.Config(PROJECT), pulumi.get_stack())


__all__ = ["ConfigError", "Settings", "load_settings", "settings_from_pulumi"]
