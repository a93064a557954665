"""The stack's top-level config keys: which exist, and the refusal of any other.

`pulumi.Config` answers only for keys the program asks about, so a misspelt key (`platform:valut`) or a
nested key set without `--path` (a top-level key literally named `vault.replicas`) would silently fall back to
the defaults. `check_keys()` reads every key the engine passed (`ConfigSource.keys()`) and refuses those the
program does not read, each with the closest valid name and a command that fixes it. `PulumiConfigSource`
is the running stack's config: `pulumi.Config` plus the raw key list the language host hands the program
(`PULUMI_CONFIG` / `PULUMI_CONFIG_SECRET_KEYS`, which the SDK's exec shim loads into `pulumi.runtime.config`).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi.runtime.config as runtime_config

from components.settings.model import PROJECT
from components.settings.reader import (
    ConfigError,
    ConfigSource,
    closest,
    set_command,
    set_from_stdin,
)

# One structured key per layer (`platform:vault`, ...): set their fields with `pulumi config set --path`.
SECTIONS = (
    "kubernetes",
    "namespaces",
    "pki",
    "vault",
    "s3",
    "registry",
    "postgres",
    "app",
    "ingress",
    "flux",
    "monitoring",
    "backup",
)
PLAIN_KEYS = ("mode", *SECTIONS)
# Secret keys, each with the file its fix reads the value from (never the value on the command line).
SECRET_KEYS = {
    "vaultUnsealKeys": "unseal-keys.json",
    "vaultRootToken": "root-token.txt",
    "vaultExternalRoleId": "role-id.txt",
    "vaultExternalSecretId": "secret-id.txt",
    "s3AccessKeyId": "s3-access-key-id.txt",
    "s3SecretAccessKey": "s3-secret-access-key.txt",
    "registryPassword": "registry-password.txt",
    "fluxGitToken": "git-token.txt",
    "fluxGitSshKey": "deploy_key",
    # vault.seal (auto-unseal): the transit token or the cloud KMS credentials.
    "vaultSealToken": "seal-token.txt",
    "vaultSealAwsAccessKeyId": "aws-access-key-id.txt",
    "vaultSealAwsSecretAccessKey": "aws-secret-access-key.txt",
    "vaultSealGcpCredentials": "gcp-credentials.json",
    "vaultSealAzureClientSecret": "azure-client-secret.txt",
}
PATH_SEPARATOR = re.compile(r"[.\[]")


def secret_fix(key: str) -> str:
    """`pulumi config set --secret KEY < FILE`: the value from a file, never from argv."""
    return set_from_stdin(f"{PROJECT}:{key}", f"< {SECRET_KEYS[key]}", secret=True)


def check_keys(source: ConfigSource) -> None:
    """Refuse every top-level key the program does not read, before any value is used."""
    keys = source.keys()
    for key in sorted(keys):
        if key in PLAIN_KEYS:
            continue
        if key in SECRET_KEYS:
            if not keys[key]:
                raise ConfigError(
                    f"{PROJECT}:{key}: stored in plaintext in the stack file; it must be a secret (and, if the file "
                    f"was committed, rotated). Fix: {secret_fix(key)}"
                )
            continue
        raise _unknown(key, keys[key], source)


def _unknown(key: str, secret: bool, source: ConfigSource) -> ConfigError:
    head = PATH_SEPARATOR.split(key, maxsplit=1)[0]
    # `flux.gitToken` for the secret `fluxGitToken`: a secret key written as a path.
    joined = re.sub(r"[.\[\]]+(\w)", lambda match: match.group(1).upper(), key)
    if head != key and joined not in SECRET_KEYS:
        section = head if head in SECTIONS else closest(head, SECTIONS)
        if section is not None:
            return _dotted(key, section, None if secret else source.get(key))
    meant = joined if joined in SECRET_KEYS else closest(key, [*PLAIN_KEYS, *SECRET_KEYS])
    hint = f" (did you mean {meant!r}?)" if meant else ""
    literal = shlex.quote(key)  # without --path: the key exactly as stored
    fix = f"pulumi config rm {literal}"
    if meant in SECRET_KEYS and secret:
        # Move the value without it ever appearing in argv: `config get` prints it, `config set` reads stdin.
        fix = f"{set_from_stdin(f'{PROJECT}:{meant}', f'pulumi config get {literal}', secret=True)} && {fix}"
    elif meant in SECRET_KEYS:
        fix = f"{fix} && {secret_fix(meant)}"
    elif meant is not None and not secret:
        moves = [set_command(f"{PROJECT}:{path}", value) for path, value in _leaves(meant, _parsed(source.get(key)))]
        fix = " && ".join([fix, *moves])
    known = ", ".join([*PLAIN_KEYS, *SECRET_KEYS])
    return ConfigError(f"{PROJECT}:{key}: unknown key{hint}. Keys the program reads: {known}. Fix: {fix}")


def _dotted(key: str, section: str, value: str | None) -> ConfigError:
    """A top-level key like `vault.replicas`: `pulumi config set` without `--path` stores the dots literally.
    `value` is None for a secret (never echoed)."""
    head = PATH_SEPARATOR.split(key, maxsplit=1)[0]
    path = f"{PROJECT}:{section}{key[len(head) :]}"
    literal = shlex.quote(key)  # without --path: the key exactly as stored
    remove = f"pulumi config rm {literal}"
    if value is None:
        # Stored with --secret: moved through a pipe (`config get` prints it, `config set` reads stdin), never echoed.
        fix = f"{set_from_stdin(path, f'pulumi config get {literal}')} && {remove}"
    else:
        fix = f"{remove} && {set_command(path, _typed(value))}"
    where = f"{PROJECT}:{section}" + (f" (not {head!r})" if section != head else "")
    return ConfigError(
        f"{PROJECT}:{key}: a top-level key named like a path: it was set without --path, so the program never "
        f"reads it; the setting belongs inside {where}. Fix: {fix}"
    )


def _parsed(text: Any) -> Any:
    """A raw config value: structured values arrive as JSON text."""
    if not isinstance(text, str) or text[:1] not in ("[", "{"):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _leaves(path: str, value: Any) -> list[tuple[str, Any]]:
    """(`a.b[0]`, scalar) for every scalar inside `value` (`--path` sets one scalar at a time)."""
    if isinstance(value, Mapping):
        return [leaf for name, item in value.items() for leaf in _leaves(f"{path}.{name}", item)]
    if isinstance(value, list):
        return [leaf for index, item in enumerate(value) for leaf in _leaves(f"{path}[{index}]", item)]
    return [] if value is None else [(path, value)]


def _typed(value: str) -> Any:
    """A top-level value is always a string; `--path` stores `true`/`false`/digits as bool/number."""
    if value in ("true", "false"):
        return value == "true"
    return int(value) if value.isdigit() else value


class PulumiConfigSource:
    """The running stack's config (`pulumi.Config` of the project) with the list of keys it sets."""

    def __init__(self) -> None:
        self._config = pulumi.Config(PROJECT)

    def get(self, key: str) -> str | None:
        return self._config.get(key)

    def get_object(self, key: str) -> Any:
        return self._config.get_object(key)

    def get_secret(self, key: str) -> pulumi.Output[str] | None:
        return self._config.get_secret(key)

    def keys(self) -> Mapping[str, bool]:
        # The exec shim loads PULUMI_CONFIG into runtime_config.CONFIG (mocks: set_all_config); read both.
        raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
        secret = set(runtime_config.get_config_secret_keys_env())
        prefix = f"{PROJECT}:"
        return {
            key.removeprefix(prefix): key in secret or runtime_config.is_config_secret(key)
            for key in raw
            if key.startswith(prefix)
        }
