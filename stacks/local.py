"""Local stack: everything applied directly to the kubectl context."""

from __future__ import annotations

from typing import Any

from components.config import Settings
from stacks.bootstrap import deploy_bootstrap


def deploy(settings: Settings) -> dict[str, Any]:
    """Deploy all layers; returns the stack outputs."""
    bootstrap = deploy_bootstrap(settings)
    _ = bootstrap
    return {}
