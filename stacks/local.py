"""Local stack: everything applied directly to the kubectl context."""

from __future__ import annotations

from typing import Any

import pulumi

from components.layers.app_layers import AppLayersComponent
from components.layers.options import LayerArgs
from components.settings.model import Settings
from stacks.bootstrap import deploy_bootstrap


def deploy(settings: Settings) -> dict[str, Any]:
    """Deploy all layers; returns the stack outputs."""
    bootstrap = deploy_bootstrap(settings)
    # Non-bootstrap layers applied directly; the remote stack hands the same layers to Flux.
    app_layers = AppLayersComponent(
        "app-layers",
        LayerArgs(settings, bootstrap.infra),
        pulumi.ResourceOptions(depends_on=bootstrap.all),
    )
    return {"layers": list(app_layers.groups)}
