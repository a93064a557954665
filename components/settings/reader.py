"""Typed, validating access to one structured Pulumi config key (an object per layer).

`Section` wraps the dict behind a key such as `platform:vault` and hands out typed values. Every
problem raises one `ConfigError` that names the full key path (`platform:vault.replicas`) and ends with
`Fix: <command>`, a `pulumi config` command line that works when pasted: `--path` for nested keys, one
`set --path 'key[i]'` per list element (`pulumi config set` has no `--json`), the closest valid value (not
the default), secrets only from stdin. A bad stack file fails before any resource is registered.
"""

from __future__ import annotations

import difflib
import re
import shlex
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
    """What settings need from the stack's config (a protocol so tests can pass a dict-backed fake).

    `keys()` lists every key of the project's namespace the stack sets (without `platform:`), each mapped to
    whether it is a secret: `pulumi.Config` cannot list keys, so the unknown-key check needs it.
    """

    def get(self, key: str) -> str | None: ...
    def get_object(self, key: str) -> Any: ...
    def get_secret(self, key: str) -> pulumi.Output[str] | None: ...
    def keys(self) -> Mapping[str, bool]: ...


ChoiceT = TypeVar("ChoiceT", bound=StrEnum)


class ConfigError(ValueError):
    """A stack configuration value is invalid. The message names the key and the fix."""


def config_path(key_path: str) -> str:
    """`platform:vault.replicas` -> `vault.replicas` (what `pulumi config` takes inside this project)."""
    return key_path.partition(":")[2] or key_path


def shell_value(value: Any) -> str:
    """A value as one shell word that `pulumi config set --path` reads back as the same type."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    return shlex.quote(str(value))


def _path_flag(path: str) -> str:
    # A top-level key takes no --path: with it, a key like `mode` would work too, but the plain form is
    # what the README shows. Anything with a `.` or `[` must have it, or Pulumi stores a literal dotted key.
    return f"--path '{path}'" if "." in path or "[" in path else path


def set_command(key_path: str, value: Any) -> str:
    """`pulumi config set` for one plain value (nested keys with `--path`)."""
    return f"pulumi config set {_path_flag(config_path(key_path))} {shell_value(value)}"


def set_from_stdin(key_path: str, producer: str, *, secret: bool = False) -> str:
    """`pulumi config set` reading the value from stdin: `< file` or `command |` (secrets never in argv).
    Pulumi strips one trailing newline from stdin."""
    flags = "--secret " if secret else ""
    target = f"pulumi config set {flags}{_path_flag(config_path(key_path))}"
    return f"{target} {producer}" if producer.startswith("<") else f"{producer} | {target}"


def list_commands(key_path: str, items: Iterable[Any]) -> str:
    """Replace a list: `rm` the old value, then one `set --path 'key[i]'` per element (`set` has no --json)."""
    path = config_path(key_path)
    commands = [f"pulumi config rm --path '{path}'"]
    commands += [f"pulumi config set --path '{path}[{i}]' {shell_value(item)}" for i, item in enumerate(items)]
    return " && ".join(commands)


def map_commands(key_path: str, entries: Mapping[str, Any]) -> str:
    """Replace a map of strings: `rm` the old value, then one `set --path 'key.NAME'` per entry."""
    path = config_path(key_path)
    commands = [f"pulumi config rm --path '{path}'"]
    commands += [f"pulumi config set --path '{path}.{name}' {shell_value(value)}" for name, value in entries.items()]
    return " && ".join(commands)


def rm_command(key_path: str) -> str:
    path = config_path(key_path)
    return f"pulumi config rm {_path_flag(path)}"


def closest(value: str, candidates: Iterable[str]) -> str | None:
    """The candidate `value` most likely meant (case-insensitive; None when nothing is close)."""
    by_folded = {candidate.casefold(): candidate for candidate in candidates}
    if value.casefold() in by_folded:
        return by_folded[value.casefold()]
    found = difflib.get_close_matches(value.casefold(), list(by_folded), n=1, cutoff=0.6)
    return by_folded[found[0]] if found else None


def _closest_number(value: int, allowed: Iterable[int]) -> int:
    return min(allowed, key=lambda candidate: (abs(candidate - value), candidate))


class Section:
    """One config object, e.g. `platform:vault`, read once and checked for unknown keys."""

    def __init__(self, key: str, data: Any):
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ConfigError(
                f"{key}: expected an object (a YAML mapping of settings), got {type(data).__name__} {data!r}; "
                f"set single fields with pulumi config set --path '{config_path(key)}.<field>' <value>. "
                f"Fix: {rm_command(key)}"
            )
        self.key = key
        self._data = dict(data)
        self._used: set[str] = set()

    def path(self, name: str) -> str:
        return f"{self.key}.{name}"

    def fail(self, name: str, problem: str, value: Any) -> ConfigError:
        """The error for field `name`, whose fix sets it to `value` (one plain value, quoted here)."""
        if isinstance(value, str) and (value[:1] in ("'", '"') or "--json" in value):
            # A pre-quoted example or a `--json` fragment would print a fix that does not work when pasted.
            raise TypeError(f"Section.fail({name!r}): pass the value itself; fail_with for a command, fail_unset to rm")
        return ConfigError(f"{self.path(name)}: {problem}. Fix: {set_command(self.path(name), value)}")

    def fail_with(self, name: str, problem: str, fix: str) -> ConfigError:
        """The error for field `name` with a fix that is already a command line."""
        return ConfigError(f"{self.path(name)}: {problem}. Fix: {fix}")

    def fail_unset(self, name: str, problem: str) -> ConfigError:
        """The error for field `name` that must not be set here: the fix removes it."""
        return self.fail_with(name, problem, rm_command(self.path(name)))

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
        example = example or default
        if not isinstance(value, str):
            raise self.fail(name, f"expected {what}, got {value!r}", example or str(value))
        if choices is not None:
            allowed = list(choices)
            if value not in allowed:
                meant = closest(value, allowed) or (default if default in allowed else allowed[0])
                raise self.fail(name, f"unknown value {value!r}; allowed: {', '.join(allowed)}", meant)
        if pattern is not None and not pattern.match(value):
            raise self.fail(name, f"{value!r} is not {what}", example)
        return value

    def choice(self, name: str, default: ChoiceT) -> ChoiceT:
        """A member of `default`'s enum, given by its value (the error lists the allowed values)."""
        kind = type(default)
        return kind(self.string(name, default.value, choices=[member.value for member in kind]))

    def name(self, name: str, default: str) -> str:
        """A Kubernetes object or namespace name (DNS-1123 label, at most 63 characters)."""
        raw = self._data.get(name)
        example = _dns_label(raw) if isinstance(raw, str) else default
        value = self.string(name, default, pattern=DNS1123_LABEL, what="a DNS-1123 label", example=example)
        if len(value) > 63:
            raise self.fail(name, f"{value!r} is longer than 63 characters", value[:63].rstrip("-"))
        return value

    def hostname(self, name: str, default: str) -> str:
        raw = self._data.get(name)
        example = raw.lower().replace("_", "-") if isinstance(raw, str) else default
        if not DNS1123_SUBDOMAIN.match(example):
            example = default
        value = self.string(name, default, pattern=DNS1123_SUBDOMAIN, what="a DNS name (lower case)", example=example)
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
        # JSON/YAML booleans are ints in Python; refuse them explicitly. A string of digits is what
        # `pulumi config set` without --path stores: suggest the same number, which --path stores as one.
        if isinstance(value, bool) or not isinstance(value, int):
            meant = int(value) if isinstance(value, str) and value.strip().isdigit() else default
            raise self.fail(name, f"expected a whole number, got {value!r}", _clamp(meant, minimum, maximum))
        if not minimum <= value <= maximum:
            raise self.fail(name, f"{value} is out of range {minimum}..{maximum}", _clamp(value, minimum, maximum))
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self._raw(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            meant = BOOLEAN_WORDS.get(str(value).strip().casefold(), default)
            raise self.fail(name, f"expected true or false, got {value!r}", meant)
        return value

    def string_list(self, name: str, default: Iterable[str] = ()) -> tuple[str, ...]:
        value = self._raw(name)
        if value is None:
            return tuple(default)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            items = _list_items(value) or list(default) or ["value"]
            fix = list_commands(self.path(name), items)
            raise self.fail_with(name, f"expected a list of strings, got {value!r}", fix)
        return tuple(value)

    def mapping(self, name: str) -> dict[str, str]:
        value = self._raw(name)
        if value is None:
            return {}
        # `pulumi config set --path` stores digits and true/false as numbers and booleans; a map of strings
        # (environment variables) takes them as their text, which is what the user typed.
        if isinstance(value, Mapping) and all(
            isinstance(k, str) and isinstance(v, (str, int)) and not isinstance(v, float) for k, v in value.items()
        ):
            return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in value.items()}
        entries = dict(item.split("=", 1) for item in _list_items(value) if "=" in item)
        fix = map_commands(self.path(name), entries or {"NAME": "value"})
        raise self.fail_with(name, f"expected a map of strings, got {value!r}", fix)

    def section(self, name: str) -> Section:
        return Section(self.path(name), self._raw(name))

    def finish(self) -> None:
        """Refuse keys nobody read: a typo must not silently fall back to a default."""
        unknown = sorted(set(self._data) - self._used)
        if not unknown:
            return
        name = unknown[0]
        known = ", ".join(sorted(self._used))
        meant = closest(name, self._used)
        fix = rm_command(self.path(name))
        value = self._data[name]
        if meant and isinstance(value, (str, int, bool)):
            fix = f"{fix} && {set_command(self.path(meant), value)}"
        hint = f" (did you mean {meant!r}?)" if meant else ""
        raise ConfigError(f"{self.path(name)}: unknown setting{hint}. Known settings here: {known}. Fix: {fix}")


BOOLEAN_WORDS = {"yes": True, "y": True, "on": True, "1": True, "true": True}
BOOLEAN_WORDS |= {"no": False, "n": False, "off": False, "0": False, "false": False}


def _list_items(value: Any) -> list[str]:
    """What a user meant as a list: its items, or a comma-separated string split."""
    if isinstance(value, list):
        return [str(item) for item in value if item is not None]
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return []


def _clamp(value: int, minimum: int, maximum: int) -> int:
    return max(minimum, min(maximum, value))


def _dns_label(value: str) -> str:
    """The DNS-1123 label closest to `value`: lower case, `_`/`.` as `-`, at most 63 characters."""
    label = re.sub(r"[^a-z0-9-]", "-", value.lower())[:63].strip("-")
    return label or "name"
