"""All stack configuration, read once and validated into immutable settings.

`load_settings()` is the only place that reads Pulumi config. Each layer has one structured key
(`platform:vault`, `platform:pki`, ...) settable with `pulumi config set --path`; secrets are separate
top-level keys read with `get_secret`, so they stay `Output`s and never become plain values here.
Any invalid value raises one `ConfigError` naming the key and the fix, before a resource exists.
Vault's keys are read in vault.py, the external services' (S3, registry, Flux) in services.py.
"""

from __future__ import annotations

import dataclasses
import re

import pulumi

from components.settings import patterns
from components.settings.keys import PulumiConfigSource, check_keys
from components.settings.load.seal import SECRET_KEYS as SEAL_SECRET_KEYS
from components.settings.load.services import load_flux, load_registry, load_s3
from components.settings.load.vault import VaultSecrets, load_vault
from components.settings.model import (
    PROJECT,
    AntiAffinity,
    AppSettings,
    BackupSettings,
    ImageSource,
    IngressSettings,
    KubernetesSettings,
    LocalClusterSettings,
    MonitoringSettings,
    NamespaceSettings,
    PkiSettings,
    PostgresSettings,
    SecretsDelivery,
    Settings,
    StackMode,
)
from components.settings.reader import (
    DNS1123_LABEL,
    ConfigError,
    ConfigSource,
    Section,
    closest,
    list_commands,
    rm_command,
    set_command,
)
from components.settings.versions import IMAGES

KEY_ALGORITHMS = {"RSA": (2048, 3072, 4096), "ECDSA": (256, 384, 521), "Ed25519": (0,)}


def _key(name: str) -> str:
    return f"{PROJECT}:{name}"


def _section(source: ConfigSource, name: str) -> Section:
    try:
        raw = source.get_object(name)
    except Exception as error:  # pulumi raises on values that are not JSON
        raise ConfigError(
            f"{_key(name)}: not a structured value ({error}); set its fields with "
            f"pulumi config set --path '{name}.<field>' <value>. Fix: {rm_command(_key(name))}"
        ) from error
    return Section(_key(name), raw)


def _kubernetes(section: Section, mode: StackMode) -> KubernetesSettings:
    context = patterns.read(section, "context", "", patterns.KUBE_CONTEXT, optional=True)
    cluster = section.section("cluster")
    # The local stack never touches a cluster nobody named: without a context it creates its own kind cluster.
    settings = KubernetesSettings(
        context=context,
        cluster=LocalClusterSettings(
            create=cluster.boolean("create", mode is StackMode.LOCAL and not context),
            name=cluster.name("name", "platform"),
            encryption_at_rest=cluster.boolean("encryptionAtRest", True),
            http_port=cluster.integer("httpPort", 8080, minimum=1, maximum=65535),
            https_port=cluster.integer("httpsPort", 8443, minimum=1, maximum=65535),
            workers=cluster.integer("workers", 0, minimum=0, maximum=6),
        ),
    )
    if settings.cluster.create and mode is not StackMode.LOCAL:
        raise cluster.fail("create", "only the local stack creates its own kind cluster", False)
    if settings.cluster.create and context:
        raise cluster.fail(
            "create",
            f"kubernetes.context {context!r} deploys to that existing cluster, kubernetes.cluster.create to a new kind "
            "cluster: choose one (to keep the kind cluster instead: pulumi config rm --path 'kubernetes.context')",
            False,
        )
    if settings.cluster.http_port == settings.cluster.https_port:
        raise cluster.fail(
            "httpsPort", "must differ from httpPort", 8443 if settings.cluster.http_port != 8443 else 8444
        )
    cluster.finish()
    section.finish()
    return settings


SERVICE_TYPES = ("LoadBalancer", "NodePort", "ClusterIP")


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
        node_exporter=section.name("nodeExporter", "node-exporter"),
    )
    section.finish()
    return settings


def _pki(section: Section) -> PkiSettings:
    algorithm = section.string("keyAlgorithm", "RSA", choices=KEY_ALGORITHMS)
    sizes = KEY_ALGORITHMS[algorithm]
    default_size = {"RSA": 4096, "ECDSA": 384, "Ed25519": 0}[algorithm]
    size = section.integer("keySize", default_size, minimum=0, maximum=8192)
    if size not in sizes:
        meant = min(sizes, key=lambda allowed: (abs(allowed - size), allowed))
        raise section.fail("keySize", f"{size} is not a valid size for {algorithm}; allowed: {sizes}", meant)
    settings = PkiSettings(
        key_algorithm=algorithm,
        key_size=size,
        root_ca_duration=section.duration("rootCaDuration", "43800h"),
        root_ca_renew_before=section.duration("rootCaRenewBefore", "2160h"),
        intermediate_ca_duration=section.duration("intermediateCaDuration", "8760h"),
        intermediate_ca_renew_before=section.duration("intermediateCaRenewBefore", "720h"),
        leaf_duration=section.duration("leafDuration", "2160h"),
        leaf_renew_before=section.duration("leafRenewBefore", "360h"),
        organization=patterns.read(section, "organization", "platform", patterns.ORGANIZATION),
    )
    for prefix in ("rootCa", "intermediateCa", "leaf"):
        attr = re.sub(r"(?<!^)(?=[A-Z])", "_", prefix).lower()
        duration = _hours(getattr(settings, f"{attr}_duration"))
        renew = _hours(getattr(settings, f"{attr}_renew_before"))
        if renew >= duration:
            raise section.fail(
                f"{prefix}RenewBefore", "must be shorter than the certificate's duration", _third(duration)
            )
    if _hours(settings.leaf_duration) > _hours(settings.intermediate_ca_duration):
        bound = settings.intermediate_ca_duration
        meant = "2160h" if _hours("2160h") <= _hours(bound) else bound
        raise section.fail("leafDuration", "must not outlive the intermediate CA", meant)
    if _hours(settings.intermediate_ca_duration) > _hours(settings.root_ca_duration):
        bound = settings.root_ca_duration
        meant = "8760h" if _hours("8760h") <= _hours(bound) else bound
        raise section.fail("intermediateCaDuration", "must not outlive the root CA", meant)
    section.finish()
    return settings


def _third(hours: float) -> str:
    """A renewal window a third of the lifetime (cert-manager's own default), as whole hours or minutes."""
    return f"{int(hours // 3)}h" if hours >= 3 else f"{max(1, int(hours * 20))}m"


def _client_name(name: str) -> str:
    label = re.sub(r"[^a-z0-9-]", "-", name.lower())[:52].strip("-")
    return label or "client-app"


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
        otlp_endpoint=patterns.read(section, "otlpEndpoint", "", patterns.OTLP_ENDPOINT, optional=True),
        secrets_delivery=section.choice("secretsDelivery", SecretsDelivery.VSO),
        env=section.mapping("env"),
        image_source=_image_source(section),
    )
    _check_env(section, settings.env)
    if settings.http_port == settings.metrics_port:
        raise section.fail("metricsPort", "must differ from httpPort", settings.http_port + 1000)
    section.finish()
    return settings


def _image_source(app: Section) -> ImageSource | None:
    """Both images, each an OCI layout directory or an image archive; read when `pulumi up` copies them.
    Unset (or null, to drop the stack file's value in an override): None."""
    present, section = app.has("imageSource"), app.section("imageSource")
    if not present:
        return None
    example = "images/app.tar"
    source = ImageSource(app=section.string("app", ""), migrations=section.string("migrations", ""))
    for name in ("app", "migrations"):
        if not getattr(source, name):
            raise section.fail(name, "the path of an OCI layout directory or image archive is required", example)
    section.finish()
    return source


def _check_env(section: Section, env: dict[str, str]) -> None:
    """`app.env`: plain variable names and single-line values, never one the platform sets itself."""
    for name, value in env.items():
        entry = f"env.{name}" if patterns.ENV_NAME.regex.match(name) else "env"
        if not patterns.ENV_NAME.regex.match(name):
            raise section.fail_unset(entry, f"{name[:80]!r} is not {patterns.ENV_NAME.what}")
        if patterns.reserved_env(name):
            raise section.fail_unset(
                entry,
                f"{name} is set by the platform (database connection, TLS or secret-file paths) and cannot be "
                "overridden",
            )
        if not patterns.ENV_VALUE.regex.match(value):
            raise section.fail_unset(entry, f"the value of {name} is not {patterns.ENV_VALUE.what}")


def _ingress(section: Section, mode: StackMode, cluster: LocalClusterSettings) -> IngressSettings:
    # The program's kind cluster maps host ports to Traefik's node ports; a local cluster seldom has a
    # load-balancer controller; a remote one usually has (cloud) or is given one (MetalLB).
    default = "NodePort" if mode is StackMode.LOCAL else "LoadBalancer"
    settings = IngressSettings(
        host=section.hostname("host", "sms-proxy.local"),
        https_port=section.integer("httpsPort", 4443, minimum=1, maximum=65535),
        client_apps=section.string_list("clientApps", ("client-app-1", "client-app-2")),
        service_type=section.string("serviceType", default, choices=SERVICE_TYPES),
    )
    if cluster.create and settings.service_type != "NodePort":
        raise section.fail(
            "serviceType", "the program's kind cluster reaches Traefik only through node ports", "NodePort"
        )
    # Each name becomes a certificate CN and the Secret `<name>-client-tls` (components/client_certificates.py).
    key = section.path("clientApps")
    fixed = list(dict.fromkeys(_client_name(app) for app in settings.client_apps))
    for app in settings.client_apps:
        if not DNS1123_LABEL.match(app) or len(app) > 52:
            problem = f"{app!r} is not a DNS-1123 label of at most 52 characters"
            raise section.fail_with("clientApps", problem, list_commands(key, fixed))
    if len(set(settings.client_apps)) != len(settings.client_apps):
        raise section.fail_with("clientApps", "names must be unique (one certificate each)", list_commands(key, fixed))
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
    check_keys(source)
    modes = [member.value for member in StackMode]
    name = source.get("mode") or (stack if stack in modes else "")
    if name not in modes:
        meant = closest(name, modes) or "local"
        raise ConfigError(
            f"{_key('mode')}: unknown mode {name!r} for stack {stack!r}; allowed: {', '.join(modes)}. "
            f"Fix: pulumi config set mode {meant}"
        )
    mode = StackMode(name)
    kubernetes = _kubernetes(_section(source, "kubernetes"), mode)
    settings = Settings(
        stack=stack,
        mode=mode,
        kubernetes=kubernetes,
        namespaces=_namespaces(_section(source, "namespaces")),
        pki=_pki(_section(source, "pki")),
        vault=load_vault(
            _section(source, "vault"),
            mode,
            VaultSecrets(
                default_anti_affinity=_default_anti_affinity(kubernetes),
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
        ingress=_ingress(_section(source, "ingress"), mode, kubernetes.cluster),
        flux=load_flux(_section(source, "flux"), mode, source),
        monitoring=_monitoring(_section(source, "monitoring")),
        backup=_backup(_section(source, "backup")),
    )
    _check_vault_nodes(settings, _section(source, "vault"))
    _check_image_source(settings)
    return settings


def _check_image_source(settings: Settings) -> None:
    """`app.imageSource` fills the local stack's in-cluster registry, under the references the pods pull."""
    if settings.app.image_source is None:
        return
    key = f"{PROJECT}:app.imageSource"
    example = rm_command(key)
    if settings.mode is not StackMode.LOCAL and settings.registry.in_cluster:
        raise ConfigError(
            f"{key}: the remote stack's in-cluster registry comes up through Flux after `pulumi up`, so nothing can "
            f"be copied into it then (push from CI, or use registry.mode external). Fix: {example}"
        )
    for field, name in (("image", "image"), ("migrations_image", "migrationsImage")):
        reference = getattr(settings.app, field)
        if not reference.startswith(f"{settings.registry.host}/") or "@" in reference:
            raise ConfigError(
                f"{PROJECT}:app.{name}: {reference!r} must be a tagged image on registry.host "
                f"({settings.registry.host}) for app.imageSource to copy it there. Fix: "
                f"{set_command(f'{PROJECT}:app.{name}', f'{settings.registry.host}/{settings.app.name}:0.1.0')}"
            )


def _monitoring(section: Section) -> MonitoringSettings:
    settings = MonitoringSettings(node_exporter=section.boolean("nodeExporter", True))
    section.finish()
    return settings


def _default_anti_affinity(kubernetes: KubernetesSettings) -> AntiAffinity:
    """`required` (one Vault pod per node) unless the program's own kind cluster has a single node: then
    `preferred`, so the default local stack schedules. An explicit `required` is still checked below."""
    single_node_kind = kubernetes.cluster.create and kubernetes.cluster.workers == 0
    return AntiAffinity.PREFERRED if single_node_kind else AntiAffinity.REQUIRED


def _check_vault_nodes(settings: Settings, section: Section) -> None:
    """`vault.antiAffinity: required` puts each Vault pod on its own node: on the program's kind cluster (whose
    nodes it knows) fewer nodes than replicas leave a pod Pending and unseal waiting, so refuse it."""
    vault, cluster = settings.vault, settings.kubernetes.cluster
    nodes = 1 + cluster.workers
    if (
        cluster.create
        and vault.in_app_cluster
        and vault.anti_affinity is AntiAffinity.REQUIRED
        and vault.replicas > nodes
    ):
        raise section.fail(
            "antiAffinity",
            f"required puts each of the {vault.replicas} Vault pods on its own node, and the kind cluster has "
            f"{nodes} (kubernetes.cluster.workers: {cluster.workers}); use preferred, or "
            f"`pulumi config set --path kubernetes.cluster.workers {vault.replicas - 1}`",
            "preferred",
        )


def settings_from_pulumi() -> Settings:
    """The settings of the running stack. The one place that asks the engine whether this run is a preview."""
    settings = load_settings(PulumiConfigSource(), pulumi.get_stack())
    return dataclasses.replace(settings, preview=pulumi.runtime.is_dry_run())


__all__ = ["ConfigError", "Settings", "load_settings", "settings_from_pulumi"]
