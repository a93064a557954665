"""Local stack: everything applied directly to the kubectl context."""

from __future__ import annotations

from typing import Any

from components.layers.app_layers import AppLayersArgs, AppLayersComponent
from components.settings.model import Settings
from stacks.bootstrap import deploy_bootstrap


def deploy(settings: Settings) -> dict[str, Any]:
    """Deploy all layers; returns the stack outputs."""
    bootstrap = deploy_bootstrap(settings)
    # Non-bootstrap layers applied directly, each after what it needs; the remote stack hands them to Flux.
    app_layers = AppLayersComponent(
        "app-layers",
        AppLayersArgs(
            settings,
            bootstrap.infra,
            policies=bootstrap.policies.all,
            releases=bootstrap.releases,
            bootstrap={"pki": bootstrap.pki},
            vault_ready=bootstrap.vault.ready,
            vault_admin=bootstrap.vault.admin_provider,
        ),
    )
    return {"layers": list(app_layers.groups)}
