"""Stack compositions: which components each stack mode deploys."""

from __future__ import annotations

from typing import Any

from components.settings import placement
from components.settings.model import Settings


def deploy(settings: Settings) -> dict[str, Any]:
    """Run the composition of the settings' mode and return the stack outputs."""
    from stacks import local, remote

    composition = {"local": local.deploy, "remote": remote.deploy}[settings.mode]
    outputs = composition(settings)
    registry = settings.registry
    return {
        "mode": settings.mode,
        "namespaces": {
            "app": settings.namespaces.app,
            "vault": settings.namespaces.vault,
            "flux": settings.namespaces.flux,
        },
        # Where things are: what clients in the cluster dial, and how to reach Vault from this machine.
        "vault": {
            "address": placement.vault_address(settings),
            # The program's own port-forward (vault.localPort) while `pulumi up` runs.
            "localAddress": f"https://127.0.0.1:{settings.vault.local_port}",
        },
        "registry": {"mode": registry.mode, "host": registry.host},
        "ingress": {"host": settings.ingress.host, "httpsPort": settings.ingress.https_port},
        **outputs,
    }
