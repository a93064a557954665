"""Read and validate the keys of the services the platform uses: `platform:s3`, `platform:registry`,
`platform:flux` (each with its secret keys, which stay Pulumi secrets)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from components.settings import patterns
from components.settings.keys import secret_fix
from components.settings.model import (
    PROJECT,
    FluxSettings,
    RegistryMode,
    RegistrySettings,
    S3Backend,
    S3Settings,
    StackMode,
)
from components.settings.reader import ConfigError, ConfigSource, Section, set_from_stdin

GIT_HTTPS_URL = re.compile(r"^https://[^\s/@]+(/[^\s]*)?$")
GIT_SSH_URL = re.compile(r"^ssh://[^\s@/]+@[^\s/]+(:\d+)?/[^\s]+$")
SCP_LIKE_URL = re.compile(r"^[^\s@/]+@[^\s:/]+:[^\s]+$")
ORIGIN_URL_FIX = "pulumi config set --path 'flux.gitUrl' \"$(git remote get-url origin)\""


def _key(name: str) -> str:
    return f"{PROJECT}:{name}"


def load_s3(section: Section, mode: StackMode, source: ConfigSource) -> S3Settings:
    backend = section.choice("backend", S3Backend.MINIO if mode is StackMode.LOCAL else S3Backend.EXTERNAL)
    settings = S3Settings(
        backend=backend,
        endpoint=patterns.read(section, "endpoint", "", patterns.S3_ENDPOINT, optional=True),
        region=patterns.read(section, "region", "us-east-1", patterns.S3_REGION),
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
    if not settings.in_cluster:
        if not settings.endpoint:
            raise section.fail("endpoint", "an external S3 backend needs its endpoint", "https://s3.example")
        credentials = {"s3AccessKeyId": settings.access_key_id, "s3SecretAccessKey": settings.secret_access_key}
        missing = [key for key, value in credentials.items() if value is None]
        if missing:
            fix = " && ".join(secret_fix(key) for key in missing)
            raise ConfigError(f"{_key(missing[0])}: the external S3 backend needs credentials. Fix: {fix}")
    section.finish()
    return settings


def load_registry(section: Section, source: ConfigSource) -> RegistrySettings:
    mode = section.choice("mode", RegistryMode.IN_CLUSTER)
    settings = RegistrySettings(
        mode=mode,
        host=section.hostname("host", "registry.local")
        if section.has("host") or mode is RegistryMode.IN_CLUSTER
        else "",
        username=patterns.read(section, "username", "registry", patterns.REGISTRY_USERNAME),
        password=source.get_secret("registryPassword"),
    )
    if not settings.in_cluster:
        if not settings.host:
            raise section.fail("host", "an external registry needs its host", "registry.example.com")
        if settings.password is None:
            raise ConfigError(
                f"{_key('registryPassword')}: the external registry needs a password or token. "
                f"Fix: {secret_fix('registryPassword')}"
            )
    section.finish()
    return settings


def load_flux(section: Section, mode: StackMode, source: ConfigSource) -> FluxSettings:
    git_url = _git_url(section, mode)
    refs = {
        name: patterns.read(section, name, "", pattern, optional=True)
        for name, pattern in (
            ("branch", patterns.GIT_REF),
            ("tag", patterns.GIT_REF),
            ("semver", patterns.SEMVER_RANGE),
        )
    }
    chosen = [name for name, value in refs.items() if value]
    if len(chosen) > 1:
        raise section.fail_unset(chosen[1], f"set only one of branch, tag, semver (got {', '.join(chosen)})")
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
        known_hosts=_known_hosts(section),
        ca_cert=_ca_cert(section),
        git_username=patterns.read(section, "gitUsername", "git", patterns.GIT_USERNAME),
        **_verify(section.section("verify"), refs),
        git_token=source.get_secret("fluxGitToken"),
        git_ssh_key=source.get_secret("fluxGitSshKey"),
    )
    _check_credentials(section, settings)
    section.finish()
    return settings


def _verify(section: Section, refs: dict[str, str]) -> dict[str, str]:
    """`flux.verify.secretRef` / `mode`: Flux applies only commits (or tags) signed by a key in that Secret."""
    secret = section.name("secretRef", "") if section.has("secretRef") else ""
    mode = section.string("mode", "HEAD", choices=("HEAD", "Tag", "TagAndHEAD"))
    if mode != "HEAD" and not (refs["tag"] or refs["semver"]):
        raise section.fail("mode", f"{mode} verifies a tag; set flux.tag or flux.semver, or use", "HEAD")
    if section.has("mode") and not secret:
        raise section.fail("secretRef", "verification needs the Secret with the trusted public keys", "git-keys")
    section.finish()
    return {"verify_secret": secret, "verify_mode": mode}


def _known_hosts(section: Section) -> str:
    value = section.string("knownHosts", "")
    problem = patterns.known_hosts_problem(value) if value else None
    if problem:
        raise section.fail("knownHosts", f"not known_hosts content: {problem}", '"$(ssh-keyscan github.com)"')
    return value


def _ca_cert(section: Section) -> str:
    value = section.string("caCert", "")
    if value and not re.fullmatch(
        r"(-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n?)+", value
    ):
        raise section.fail("caCert", "not PEM certificates (BEGIN/END CERTIFICATE blocks)", '"$(cat git-ca.pem)"')
    return value


def _git_url(section: Section, mode: StackMode) -> str:
    git_url = section.string("gitUrl", "")
    if git_url and SCP_LIKE_URL.match(git_url):
        user_host, _, path = git_url.partition(":")
        raise section.fail(
            "gitUrl", f"{git_url!r} is scp-like; Flux needs ssh://user@host/path", f"ssh://{user_host}/{path}"
        )
    if git_url and not (GIT_HTTPS_URL.match(git_url) or GIT_SSH_URL.match(git_url)):
        shown = re.sub(r"//[^/@\s]*@", "//***@", git_url)  # never echo credentials someone put in the URL
        problem = f"{shown!r} is not an https:// or ssh:// Git URL"
        if shown != git_url:
            problem += " (a token goes to the secret fluxGitToken, not into the URL)"
        meant = _meant_git_url(git_url)
        if meant:
            raise section.fail("gitUrl", problem, meant)
        raise section.fail_with("gitUrl", problem, ORIGIN_URL_FIX)
    if mode is StackMode.REMOTE and not git_url:
        # This repository's own remote: Flux syncs manifests/ from where this program lives.
        problem = "the remote stack hands the application layers to Flux and needs the Git URL of this repository"
        raise section.fail_with("gitUrl", problem, ORIGIN_URL_FIX)
    return git_url


def _meant_git_url(url: str) -> str:
    """The valid URL `url` most likely means (no credentials in it), or "" when it names no host and path."""
    parts = urlsplit(url.strip() if "://" in url else f"https://{url.strip()}")
    host, path = parts.hostname or "", parts.path.strip("/")
    if "." not in host or not path:
        return ""
    if parts.scheme == "ssh":
        return f"ssh://{parts.username or 'git'}@{host}{f':{parts.port}' if parts.port else ''}/{path}"
    return f"https://{host}/{path}"


def _check_credentials(section: Section, settings: FluxSettings) -> None:
    """An SSH URL needs a deploy key and known_hosts; a private HTTPS repository a token."""
    if settings.is_ssh:
        if settings.git_ssh_key is None:
            raise ConfigError(
                f"{_key('fluxGitSshKey')}: {section.path('gitUrl')} is an SSH URL and needs a deploy key. "
                f"Fix: {secret_fix('fluxGitSshKey')}"
            )
        if not settings.known_hosts:
            host = urlsplit(settings.git_url)
            keyscan = f"ssh-keyscan {f'-p {host.port} ' if host.port else ''}{host.hostname}"
            fix = set_from_stdin(section.path("knownHosts"), keyscan)
            raise section.fail_with("knownHosts", f"an SSH URL needs the host's key ({keyscan})", fix)
    elif settings.private and settings.git_token is None:
        raise ConfigError(
            f"{_key('fluxGitToken')}: {section.path('private')} is true but no token (with read access) is set. "
            f"Fix: {secret_fix('fluxGitToken')}"
        )
