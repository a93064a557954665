"""Patterns for the free-form config strings that reach YAML, HCL, templates or a kubeconfig.

Every value here is substituted as text somewhere (Flux `${var}` substitution into manifests, VSO templates, the
registry's config file, HCL policies), so a value may only hold characters that cannot end the scalar it lands
in: no newline, no `: `, no quote, no `{`, `}`, `$`, `#`, no comma or bracket (flow collections). Each pattern
is the narrowest one the real values need; `what` and `example` feed the ConfigError's fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from components.settings.reader import Section


@dataclass(frozen=True)
class Pattern:
    """A full-match pattern with the words a ConfigError uses for it."""

    regex: re.Pattern[str]
    what: str
    example: str


_HOST = r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?"
_PORT = r"(?::\d{1,5})?"
_URL_PATH = r"(?:/[A-Za-z0-9._~/%-]*)?"

# Subject organisation of the CAs: letters, digits, space, dot, dash, underscore; no leading/trailing space.
ORGANIZATION = Pattern(
    re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9 ._-]{0,62}[A-Za-z0-9.])?$"),
    "an organisation name (letters, digits, space . _ -; at most 64 characters)",
    "platform",
)
# An OTLP endpoint: scheme, host, optional port and path; nothing YAML or a URL query could smuggle.
OTLP_ENDPOINT = Pattern(
    re.compile(rf"^https?://{_HOST}{_PORT}{_URL_PATH}$"),
    "an http(s):// URL (host, optional port and path)",
    "http://otel-collector.monitoring.svc:4318",
)
S3_ENDPOINT = Pattern(
    re.compile(rf"^https://{_HOST}{_PORT}{_URL_PATH}$"),
    "an https:// URL (host, optional port and path)",
    "https://s3.example",
)
S3_REGION = Pattern(re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$"), "an S3 region like us-east-1", "us-east-1")
# htpasswd `user:hash` lines and VSO templates: no colon, no quote, no template braces.
REGISTRY_USERNAME = Pattern(
    re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?$"),
    "a user name (letters, digits, . _ -)",
    "registry",
)
ENV_NAME = Pattern(
    re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"), "an environment variable name (letters, digits, _)", "FEATURE_X"
)
# Environment values are rendered JSON-quoted (components/rendering/variables.py), so only control characters
# (newlines included) are refused: they have no place in an environment variable.
ENV_VALUE = Pattern(
    re.compile(r"^[^\x00-\x1f\x7f]{0,4096}$"), "a single-line value of at most 4096 characters", "value"
)
# Git references as Flux passes them on: branch and tag names (git check-ref-format's safe subset), semver ranges.
GIT_REF = Pattern(re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$"), "a Git branch or tag name", "main")
SEMVER_RANGE = Pattern(
    re.compile(r"^[0-9A-Za-z.*^~<>=!| -]{1,128}$"), "a semver range like '>=1.0.0 <2.0.0'", ">=1.0.0"
)
GIT_USERNAME = Pattern(re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$"), "a Git user name", "git")
# kubectl context names (EKS ARNs have colons and slashes); they reach kubeconfig lookups and argv.
KUBE_CONTEXT = Pattern(re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,252}$"), "a kubectl context name", "kind-platform")
# The secret-file paths and connection settings the platform sets for the app (manifests/gitops/app/config.yaml):
# `app.env` is applied after them, so it must not replace any.
RESERVED_ENV_PREFIXES = ("PG", "OTEL_", "TLS_", "DB_")
RESERVED_ENV_SUFFIXES = ("_FILE",)
RESERVED_ENV_NAMES = frozenset({"HTTP_PORT", "METRICS_PORT", "LOG_LEVEL", "HASHING_SECRET_FILE"})


def reserved_env(name: str) -> bool:
    """An environment variable the platform itself sets for the app (connection, TLS, secret-file paths)."""
    return name in RESERVED_ENV_NAMES or name.startswith(RESERVED_ENV_PREFIXES) or name.endswith(RESERVED_ENV_SUFFIXES)


def known_hosts_problem(text: str) -> str | None:
    """Why `flux.knownHosts` is not known_hosts content (None when it is): `host[,host] keytype base64` lines."""
    line = re.compile(r"^(@[a-z-]+ )?[^\s#]+ [a-z0-9@.-]+ [A-Za-z0-9+/=]+( [^\n]*)?$")
    for number, entry in enumerate(text.strip().splitlines(), start=1):
        if entry.strip() and not entry.startswith("#") and not line.match(entry.strip()):
            return f"line {number} is not 'host keytype key'"
    return None


def read(section: Section, name: str, default: str, pattern: Pattern, *, optional: bool = False) -> str:
    """`section.string(name)` that must match `pattern` in full (an empty value only when `optional`)."""
    value = section.string(name, default)
    if value == "" and optional:
        return value
    if not pattern.regex.match(value):
        shown = value if len(value) <= 80 else value[:77] + "..."
        raise section.fail(name, f"{shown!r} is not {pattern.what}", pattern.example)
    return value
