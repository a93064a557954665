"""How layer components take their arguments (`LayerArgs`) and their dependencies (`depends_on` in
`ResourceOptions`, like any resource).

A component's own `depends_on` does not hold back the resources it creates, so each component passes
`depends_on_of(opts)` on to the children that need it (and only to those).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi

from components.settings.model import Settings

if TYPE_CHECKING:  # infra.py imports nothing from here at run time; this only names its type
    from components.layers.infra import InfraComponent


@dataclass(frozen=True)
class LayerArgs:
    """What most layer components need: the settings and the infra layer (providers, namespaces)."""

    settings: Settings
    infra: InfraComponent


def depends_on_of(opts: pulumi.ResourceOptions | None) -> list[pulumi.Resource]:
    """The resources `opts.depends_on` names, as a list (None, one resource, or a sequence)."""
    if opts is None or opts.depends_on is None:
        return []
    if isinstance(opts.depends_on, pulumi.Resource):
        return [opts.depends_on]
    return list(opts.depends_on)  # type: ignore[arg-type]  (plain resources here; no Output of a list)
