"""Read a Kubernetes Secret that another resource of this run brings into existence, except in a preview.

A preview runs with the read-only role of README "CI", which grants no `secrets`: there the Secret is not read
at all and its data stays computed (`computed()`), so whatever depends on it previews as "computed" too.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi.output import Unknown


def decoded(key: str) -> Callable[[dict[str, Any] | None], str]:
    """`Secret.data` -> the decoded text of one key ("" when absent, e.g. under mocks)."""

    def decode(data: dict[str, Any] | None) -> str:
        encoded = (data or {}).get(key) or ""
        return base64.b64decode(encoded).decode() if encoded else ""

    return decode


def computed(after: pulumi.Output[Any]) -> pulumi.Output[Any]:
    """A value the engine shows as computed (unknown), ordered after `after` like the value it stands for.

    An apply whose result holds an `Unknown` is itself unknown; callbacks applied to it never run in a preview,
    so nothing derived from it (a CA file, a port-forward) happens either."""
    return after.apply(lambda _: Unknown())


def secret_data_when(
    resource_name: str,
    namespace: str,
    name: str,
    gate: pulumi.Output[Any],
    provider: k8s.Provider,
    parent: pulumi.Resource,
    *,
    preview: bool,
) -> pulumi.Output[Any]:
    """The `data` of a Secret read once `gate` resolves; computed in a preview (no read).

    The id depends on the gate, so on a first `up` of a stack the read waits for the resource that creates
    the Secret instead of failing on a Secret that does not exist yet."""
    if preview:
        return computed(gate)
    secret_id = gate.apply(lambda _: f"{namespace}/{name}")
    secret = k8s.core.v1.Secret.get(
        resource_name, secret_id, opts=pulumi.ResourceOptions(parent=parent, provider=provider)
    )
    return secret.data


def secret_data_after(
    resource_name: str,
    namespace: str,
    name: str,
    after: pulumi.CustomResource,
    provider: k8s.Provider,
    parent: pulumi.Resource,
    *,
    preview: bool,
) -> pulumi.Output[Any]:
    """`secret_data_when` once the custom resource `after` exists (e.g. a Helm release whose pods mount it)."""
    return secret_data_when(resource_name, namespace, name, after.id, provider, parent, preview=preview)
