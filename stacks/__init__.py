"""Stack compositions: which components each stack mode deploys."""

from __future__ import annotations

from typing import Any

from components.settings.model import Settings


def deploy(settings: Settings) -> dict[str, Any]:
    """Run the composition of the settings' mode and return the stack outputs."""
    from stacks import local, remote
    from stacks.outputs import user_outputs

    composition = {"local": local.deploy, "remote": remote.deploy}[settings.mode]
    outputs = composition(settings)
    return {
        "mode": settings.mode,
        "namespaces": {
            "app": settings.namespaces.app,
            "vault": settings.namespaces.vault,
            "flux": settings.namespaces.flux,
        },
        **user_outputs(settings),
        **outputs,
    }
