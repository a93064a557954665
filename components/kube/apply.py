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
) -> k8s.yaml.v2.ConfigGroup:
    """One ConfigGroup per layer: it orders CRDs and namespaces before the objects that need them,
    and passing `objs` (never file paths) keeps every object inspectable in previews and tests."""
    return k8s.yaml.v2.ConfigGroup(
        name,
        objs=list(objects),
        opts=pulumi.ResourceOptions(
            provider=provider, parent=parent, depends_on=list(depends_on), aliases=list(aliases) if aliases else None
        ),
    )
