"""Remote stack: bootstrap layers with Pulumi, application layers handed to Flux."""

from __future__ import annotations

from typing import Any

from components.config import Settings
from stacks.bootstrap import deploy_bootstrap


def deploy(settings: Settings) -> dict[str, Any]:
    """Deploy the bootstrap layers and the Flux sync objects; returns the stack outputs."""
    bootstrap = deploy_bootstrap(settings)
    _ = bootstrap
    return {}
