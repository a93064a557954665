"""Apply rendered manifest objects through Pulumi, so every object is a visible input."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s


def apply_objects(
    name: str,
    objects: Sequence[dict[str, Any]],
    *,
    provider: k8s.Provider,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
    aliases: Sequence[pulumi.Alias] | None = None,
    keep: bool = False,
) -> k8s.yaml.v2.ConfigGroup:
    """One ConfigGroup per layer: it orders CRDs and namespaces before the objects that need them,
    and passing `objs` (never file paths) keeps every object inspectable in previews and tests.

    `keep`: the layer holds data. `protect` and `retain_on_delete` on the ConfigGroup propagate to every object
    in it (a component's options are its children's defaults); pulumi-kubernetes has no per-object annotation
    for either, and moving the stateful object into a group of its own would change its URN (delete + create)."""
    return k8s.yaml.v2.ConfigGroup(
        name,
        objs=list(objects),
        opts=pulumi.ResourceOptions(
            provider=provider,
            parent=parent,
            depends_on=list(depends_on),
            aliases=list(aliases) if aliases else None,
            protect=True if keep else None,
            retain_on_delete=True if keep else None,
        ),
    )
