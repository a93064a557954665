"""Shared reading of pod specs for the Pod Security checks (the admission controller's helpers)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from typing import Any

PodCheck = Callable[[Mapping[str, Any], Mapping[str, Any], int], str | None]


def all_containers(spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Init, regular and ephemeral containers, in the admission controller's order."""
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(field) or []:
            if isinstance(container, Mapping):
                yield container


def security_context(item: Mapping[str, Any]) -> Mapping[str, Any]:
    """The `securityContext` of a pod spec or container ({} when unset)."""
    context = item.get("securityContext")
    return context if isinstance(context, Mapping) else {}


def mapping_at(mapping: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    """`mapping[key]` when it is a mapping, else None."""
    value = mapping.get(key)
    return value if isinstance(value, Mapping) else None


def quote(names: list[str] | set[str]) -> str:
    """`"a", "b"` (sets sorted), as the admission controller quotes names."""
    items = sorted(names) if isinstance(names, set) else names
    return ", ".join(f'"{name}"' for name in items)


def plural(word: str, count: int) -> str:
    """`word` or `words` for `count`."""
    return word if count == 1 else f"{word}s"


def containers_text(names: list[str]) -> str:
    """`container "a"` / `containers "a", "b"`."""
    return f"{plural('container', len(names))} {quote(names)}"


def is_windows(spec: Mapping[str, Any]) -> bool:
    """The pod declares `os.name: windows`."""
    os_ = mapping_at(spec, "os")
    return bool(os_ and os_.get("name") == "windows")


def in_user_namespace(spec: Mapping[str, Any], minor: int) -> bool:
    """Since 1.35 a pod in a user namespace (`hostUsers: false`) is exempt from the root-related checks."""
    return minor >= 35 and spec.get("hostUsers") is False


def setters(pod_bad: bool, containers: list[str]) -> str:
    """`pod and containers "a"`: who set a forbidden value."""
    setters = ["pod"] if pod_bad else []
    if containers:
        setters.append(containers_text(containers))
    return " and ".join(setters)


def api_defaults(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    """The pod spec as admission sees it, after the API server's defaulting that matters to the checks:
    with `hostNetwork`, a port's `hostPort` defaults to its `containerPort` (node-exporter's 9100 arrives as a
    hostPort that way); a volume without a source becomes an `emptyDir`."""
    defaulted = copy.deepcopy(dict(spec))
    if defaulted.get("hostNetwork") is True:
        for field in ("initContainers", "containers"):
            for container in defaulted.get(field) or []:
                for port in (container.get("ports") or []) if isinstance(container, dict) else []:
                    if isinstance(port, dict) and not port.get("hostPort") and port.get("containerPort"):
                        port["hostPort"] = port["containerPort"]
    for volume in defaulted.get("volumes") or []:
        if isinstance(volume, dict) and set(volume) <= {"name"}:
            volume["emptyDir"] = {}
    return defaulted
