"""Turn program registrations into the Kubernetes objects they would apply."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.harness.program import Registration

CONFIG_GROUP = "kubernetes:yaml/v2:ConfigGroup"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
# Kubernetes package types that are not objects themselves.
_NOT_OBJECTS = {"pulumi:providers:kubernetes", CONFIG_GROUP, HELM_RELEASE, "kubernetes:yaml/v2:ConfigFile"}


def objects_of(registrations: list[Registration]) -> list[dict[str, Any]]:
    """Every object: typed resources (their inputs are the object) and ConfigGroup `objs`."""
    objects: list[dict[str, Any]] = []
    for registration in registrations:
        if registration.type == CONFIG_GROUP:
            objects.extend(registration.inputs.get("objs") or [])
        elif registration.type.startswith("kubernetes:") and registration.type not in _NOT_OBJECTS:
            objects.append(dict(registration.inputs))
    return objects


def key(obj: dict[str, Any]) -> tuple[str, str, str, str]:
    meta = obj.get("metadata") or {}
    return obj["apiVersion"], obj["kind"], meta.get("namespace") or "", meta.get("name") or ""
