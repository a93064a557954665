"""Typed, validating access to one structured Pulumi config key (an object per layer).

`Section` wraps the dict behind a key such as `platform:vault` and hands out typed values. Every
problem raises one `ConfigError` that names the full key path (`platform:vault.replicas`) and says how
to fix it, so a bad stack file fails before any resource is registered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any, Protocol, TypeVar

import pulumi

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# Go durations as cert-manager and Flux accept them; we only allow h/m/s, which is all either needs.
GO_DURATION = re.compile(r"^(?=\d)(\d+h)?(\d+m)?(\d+s)?$")
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P|m)?$")
# image references must carry a tag or a digest: `:latest` and bare names are refused below.
IMAGE_REF = re.compile(r"^[a-z0-9][a-z0-9._/:-]*[a-z0-9](:[A-Za-z0-9_][A-Za-z0-9._-]{0,127}|@sha256:[a-f0-9]{64})$")


class ConfigSource(Protocol):
    """What settings need from `pulumi.Config` (a protocol so tests can pass a dict-backed fake)."""

    def get(self, key: str) -> str | None: ...
    def get_object(self, key: str) -> Any: ...
    def get_secret(self, key: str) -> pulumi.Output[str] | None: ...


ChoiceT = TypeVar("ChoiceT", bound=StrEnum)


class ConfigError(ValueError):
    """A stack configuration value is invalid. The message names the key and the fix."""


def set_hint(key_path: str, example: str) -> str:
    """How to set a value: `pulumi config set --path` for nested keys."""
    project_key, _, path = key_path.partition(":")
    _ = project_key
    if "." in path:
        return f"pulumi config set --path '{path}' {example}"
    return f"pulumi config set {path} {example}"


class Section:
    """One config object, e.g. `platform:vault`, read once and checked for unknown keys."""

    def __init__(self, key: str, data: Any):
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ConfigError(
                f"{key}: expected an object (a YAML mapping of settings), got {type(data).__name__}. "
                f"Fix: set individual fields, e.g. {set_hint(key + '.<field>', '<value>')}"
            )
        self.key = key
        self._data = dict(data)
        self._used: set[str] = set()

    def path(self, name: str) -> str:
        return f"{self.key}.{name}"

    def fail(self, name: str, problem: str, example: str) -> ConfigError:
        return ConfigError(f"{self.path(name)}: {problem}. Fix: {set_hint(self.path(name), example)}")

    def has(self, name: str) -> bool:
        return self._data.get(name) is not None

    def _raw(self, name: str) -> Any:
        self._used.add(name)
        return self._data.get(name)

    def string(
        self,
        name: str,
        default: str,
        *,
        choices: Iterable[str] | None = None,
        pattern: re.Pattern[str] | None = None,
        what: str = "a string",
        example: str | None = None,
    ) -> str:
        value = self._raw(name)
        if value is None:
            return default
        example = example or (default or "<value>")
        if not isinstance(value, str):
            raise self.fail(name, f"expected {what}, got {value!r}", example)
        if choices is not None:
            allowed = list(choices)
            if value not in allowed:
                raise self.fail(name, f"unknown value {value!r}; allowed: {', '.join(allowed)}", allowed[0])
        if pattern is not None and not pattern.match(value):
            raise self.fail(name, f"{value!r} is not {what}", example)
        return value

    def choice(self, name: str, default: ChoiceT) -> ChoiceT:
        """A member of `default`'s enum, given by its value (the error lists the allowed values)."""
        kind = type(default)
        return kind(self.string(name, default.value, choices=[member.value for member in kind]))

    def name(self, name: str, default: str) -> str:
        """A Kubernetes object or namespace name (DNS-1123 label, at most 63 characters)."""
        value = self.string(name, default, pattern=DNS1123_LABEL, what="a DNS-1123 label", example=default)
        if len(value) > 63:
            raise self.fail(name, f"{value!r} is longer than 63 characters", default)
        return value

    def hostname(self, name: str, default: str) -> str:
        value = self.string(name, default, pattern=DNS1123_SUBDOMAIN, what="a DNS name (lower case)", example=default)
        if len(value) > 253:
            raise self.fail(name, "a DNS name has at most 253 characters", default)
        return value

    def duration(self, name: str, default: str) -> str:
        return self.string(name, default, pattern=GO_DURATION, what="a duration like 720h or 5m", example=default)

    def quantity(self, name: str, default: str) -> str:
        return self.string(name, default, pattern=QUANTITY, what="a Kubernetes quantity like 10Gi", example=default)

    def image(self, name: str, default: str) -> str:
        value = self.string(
            name, default, pattern=IMAGE_REF, what="an image reference with a tag or digest", example=default
        )
        if value.endswith(":latest"):
            raise self.fail(name, "':latest' is not a pinned version", default)
        return value

    def integer(self, name: str, default: int, *, minimum: int, maximum: int) -> int:
        value = self._raw(name)
        if value is None:
            return default
        # JSON/YAML booleans are ints in Python; refuse them explicitly.
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(name, f"expected a whole number, got {value!r}", str(default))
        if not minimum <= value <= maximum:
            raise self.fail(name, f"{value} is out of range {minimum}..{maximum}", str(default))
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self._raw(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(name, f"expected true or false, got {value!r}", str(default).lower())
        return value

    def string_list(self, name: str, default: Iterable[str] = ()) -> tuple[str, ...]:
        value = self._raw(name)
        if value is None:
            return tuple(default)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.fail(name, f"expected a list of strings, got {value!r}", '\'["a", "b"]\' --json')
        return tuple(value)

    def mapping(self, name: str) -> dict[str, str]:
        value = self._raw(name)
        if value is None:
            return {}
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise self.fail(name, f"expected a map of strings, got {value!r}", '\'{"KEY": "value"}\' --json')
        return dict(value)

    def section(self, name: str) -> Section:
        return Section(self.path(name), self._raw(name))

    def finish(self) -> None:
        """Refuse keys nobody read: a typo must not silently fall back to a default."""
        unknown = sorted(set(self._data) - self._used)
        if unknown:
            known = ", ".join(sorted(self._used))
            raise ConfigError(
                f"{self.path(unknown[0])}: unknown setting. Known settings here: {known}. "
                f"Fix: pulumi config rm --path '{self.path(unknown[0]).partition(':')[2]}'"
            )
