"""Remote stack: bootstrap layers with Pulumi, application layers handed to Flux."""

from __future__ import annotations

from typing import Any

import pulumi

from components.layers.flux_sync import FluxSyncComponent
from components.layers.options import LayerArgs
from components.settings.model import Settings
from stacks.bootstrap import deploy_bootstrap


def deploy(settings: Settings) -> dict[str, Any]:
    """Deploy the bootstrap layers and the Flux sync objects; returns the stack outputs."""
    bootstrap = deploy_bootstrap(settings)
    # Application layers: only the Flux sync objects here; Flux applies manifests/<layer>/ from Git.
    flux = FluxSyncComponent(
        "flux-sync",
        LayerArgs(settings, bootstrap.infra),
        pulumi.ResourceOptions(depends_on=bootstrap.all),
    )
    return {"flux": {"gitRepository": flux.git_repository_name, "kustomizations": list(flux.kustomizations)}}
