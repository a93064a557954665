"""Read a Kubernetes Secret that another resource of this run brings into existence."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_kubernetes as k8s


def decoded(key: str) -> Callable[[dict[str, Any] | None], str]:
    """`Secret.data` -> the decoded text of one key ("" when absent, e.g. under mocks)."""

    def decode(data: dict[str, Any] | None) -> str:
        encoded = (data or {}).get(key) or ""
        return base64.b64decode(encoded).decode() if encoded else ""

    return decode


def read_secret_when(
    resource_name: str,
    namespace: str,
    name: str,
    gate: pulumi.Output[Any],
    provider: k8s.Provider,
    parent: pulumi.Resource,
) -> k8s.core.v1.Secret:
    """Read a Secret once `gate` resolves. The id depends on the gate, so on a first preview (unknown
    gate) the read is skipped instead of failing on a Secret that does not exist yet."""
    secret_id = gate.apply(lambda _: f"{namespace}/{name}")
    return k8s.core.v1.Secret.get(
        resource_name, secret_id, opts=pulumi.ResourceOptions(parent=parent, provider=provider)
    )


def read_secret_after(
    resource_name: str, namespace: str, name: str, after: pulumi.CustomResource, provider: k8s.Provider, parent
) -> k8s.core.v1.Secret:
    """Read a Secret once the custom resource `after` exists (e.g. a Helm release whose pods mount it)."""
    return read_secret_when(resource_name, namespace, name, after.id, provider, parent)
