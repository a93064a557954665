"""All stack configuration, read once and validated into immutable settings.

`load_settings()` is the only place that reads Pulumi config. Each layer has one structured key
(`platform:vault`, `platform:pki`, ...) settable with `pulumi config set --path`; secrets are separate
top-level keys read with `get_secret`, so they stay `Output`s and never become plain values here.
Any invalid value raises one `ConfigError` naming the key and the fix, before a resource exists.
Vault's keys are read in load_vault.py, the external services' (S3, registry, Flux) in load_services.py.
"""

from __future__ import annotations

import re

import pulumi

from components.settings.load_seal import SECRET_KEYS as SEAL_SECRET_KEYS
from components.settings.load_services import load_flux, load_registry, load_s3
from components.settings.load_vault import VaultSecrets, load_vault
from components.settings.model import (
    PROJECT,
    AppSettings,
    BackupSettings,
    IngressSettings,
    KubernetesSettings,
    LocalClusterSettings,
    NamespaceSettings,
    PkiSettings,
    PostgresSettings,
    SecretsDelivery,
    Settings,
    StackMode,
)
from components.settings.reader import DNS1123_LABEL, ConfigError, ConfigSource, Section, set_hint
from components.settings.versions import IMAGES

KEY_ALGORITHMS = {"RSA": (2048, 3072, 4096), "ECDSA": (256, 384, 521), "Ed25519": (0,)}


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


def _kubernetes(section: Section, mode: StackMode) -> KubernetesSettings:
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
    if settings.cluster.create and mode is not StackMode.LOCAL:
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
        secrets_delivery=section.choice("secretsDelivery", SecretsDelivery.VSO),
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


CRON = re.compile(r"^(\S+\s+){4}\S+$")


def _backup(section: Section) -> BackupSettings:
    settings = BackupSettings(
        enabled=section.boolean("enabled", True),
        schedule=section.string("schedule", "17 2 * * *", pattern=CRON, what="a 5-field cron schedule"),
        retention_days=section.integer("retentionDays", 14, minimum=1, maximum=3650),
    )
    section.finish()
    return settings


def load_settings(source: ConfigSource, stack: str) -> Settings:
    """Read and validate every config key of the stack. Raises ConfigError on the first bad value."""
    modes = [member.value for member in StackMode]
    name = source.get("mode") or (stack if stack in modes else "")
    if name not in modes:
        raise ConfigError(
            f"{_key('mode')}: unknown mode {name!r} for stack {stack!r}; allowed: {', '.join(modes)}. "
            "Fix: pulumi config set mode local"
        )
    mode = StackMode(name)
    return Settings(
        stack=stack,
        mode=mode,
        kubernetes=_kubernetes(_section(source, "kubernetes"), mode),
        namespaces=_namespaces(_section(source, "namespaces")),
        pki=_pki(_section(source, "pki")),
        vault=load_vault(
            _section(source, "vault"),
            mode,
            VaultSecrets(
                unseal_keys=source.get_secret("vaultUnsealKeys"),
                root_token=source.get_secret("vaultRootToken"),
                external_role_id=source.get_secret("vaultExternalRoleId"),
                external_secret_id=source.get_secret("vaultExternalSecretId"),
                seal={key: source.get_secret(key) for key in SEAL_SECRET_KEYS},
            ),
        ),
        s3=load_s3(_section(source, "s3"), mode, source),
        registry=load_registry(_section(source, "registry"), source),
        postgres=_postgres(_section(source, "postgres")),
        app=_app(_section(source, "app")),
        ingress=_ingress(_section(source, "ingress")),
        flux=load_flux(_section(source, "flux"), mode, source),
        backup=_backup(_section(source, "backup")),
    )


def settings_from_pulumi() -> Settings:
    """The settings of the running stack."""
    return load_settings(pulumi.Config(PROJECT), pulumi.get_stack())


__all__ = ["ConfigError", "Settings", "load_settings", "settings_from_pulumi"]
