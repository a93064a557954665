"""The environment of every child process the program and its dynamic providers start (kubectl, kind, docker,
the tunnel supervisor): an allow-list, never the parent's environment.

Why: the program runs with ``PULUMI_CONFIG`` (every config secret, decrypted), ``PULUMI_CONFIG_PASSPHRASE``
(decrypts the state) and ``PULUMI_ACCESS_TOKEN`` in its environment, and kubectl passes its own environment on
to exec credential plugins. A child gets only what it needs to find its tools, reach the cluster and its
credential plugins, and nothing whose name starts with ``PULUMI_``.

Kept (if set): the basics (``PATH``, ``HOME``, user, shell, terminal, time zone), locale (``LANG``,
``LANGUAGE``, ``LC_*``), temp and XDG directories, proxies and TLS roots, kubectl's own variables
(``KUBECONFIG``, ``KUBECACHEDIR``, in-cluster ``KUBERNETES_SERVICE_*``), Docker/kind's, and the variables
common exec credential plugins read: ``aws eks get-token`` (``AWS_*`` profile, region, config files, web
identity, and static keys if you use them), ``gke-gcloud-auth-plugin`` (``CLOUDSDK_*``,
``GOOGLE_APPLICATION_CREDENTIALS``), ``kubelogin`` (``AZURE_*`` / ``AAD_*`` identity variables). Cloud keys
are your own identity for reaching the cluster (as in your shell), not the program's secrets. Windows'
system variables are kept so a child can start at all there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

ALLOWED_NAMES = frozenset(
    {
        # basics
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "TZ", "LANG", "LANGUAGE",
        "TMPDIR", "TMP", "TEMP",
        # proxies and TLS roots (Go's ProxyFromEnvironment reads both cases)
        "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "no_proxy", "all_proxy",
        "SSL_CERT_FILE", "SSL_CERT_DIR",
        # kubectl
        "KUBECONFIG", "KUBECACHEDIR", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT",
        # docker and kind
        "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY",
        "KIND_EXPERIMENTAL_PROVIDER",
        # aws eks get-token / aws-iam-authenticator
        "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_STS_REGIONAL_ENDPOINTS", "AWS_CA_BUNDLE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        # gke-gcloud-auth-plugin
        "GOOGLE_APPLICATION_CREDENTIALS", "USE_GKE_GCLOUD_AUTH_PLUGIN",
        # kubelogin (Azure)
        "AZURE_CONFIG_DIR", "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET",
        "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST",
        "AAD_SERVICE_PRINCIPAL_CLIENT_ID", "AAD_SERVICE_PRINCIPAL_CLIENT_SECRET", "AAD_LOGIN_METHOD",
        # Windows: a process cannot start (sockets, temp paths) without these
        "SYSTEMROOT", "SYSTEMDRIVE", "COMSPEC", "PATHEXT", "USERPROFILE", "APPDATA", "LOCALAPPDATA", "WINDIR",
    }
)  # fmt: skip
ALLOWED_PREFIXES = ("LC_", "XDG_", "CLOUDSDK_")
# Never passed on, whatever the lists above say (a prefix rule must not let one through).
FORBIDDEN_PREFIX = "PULUMI_"


def allowed(name: str) -> bool:
    """Whether a variable of this name may reach a child process."""
    if name.upper().startswith(FORBIDDEN_PREFIX):
        return False
    return name in ALLOWED_NAMES or name.startswith(ALLOWED_PREFIXES)


def child_environment(parent: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """The allow-listed part of `parent` (default: this process's environment), plus `extra` (non-secret
    settings the caller adds, e.g. a PATH of its own; ``PULUMI_*`` refused there too)."""
    source = os.environ if parent is None else parent
    env = {name: value for name, value in source.items() if allowed(name)}
    for name, value in extra.items():
        if name.upper().startswith(FORBIDDEN_PREFIX):
            raise ValueError(f"{name} must not reach a child process")
        env[name] = value
    return env
