"""Flux controllers (the flux2 community chart): the GitRepository and Kustomizations are the remote
stack's (components/layers/flux_sync.py)."""

from __future__ import annotations

from typing import Any

from components.charts.release import ChartRelease


def flux_values() -> dict[str, Any]:
    # Controllers only: the GitRepository/Kustomizations are the remote stack's (FluxSyncComponent).
    return {
        "installCRDs": True,
        "watchAllNamespaces": True,
        "logLevel": "info",
        # Nothing here updates images from Git: the image controllers would be idle code with write access.
        "imageAutomationController": {"create": False},
        "imageReflectionController": {"create": False},
        # The chart's kustomize-controller (v1.8) substitutes an unset ${var} with "" unless strict mode is on;
        # the local renderer (components/flux_substitution.py) fails instead, so both stacks must agree.
        "kustomizeController": {"container": {"additionalArgs": ["--feature-gates=StrictPostBuildSubstitutions=true"]}},
        # Scraped by kube-prometheus-stack (the release waits for it: the PodMonitor CRD comes from there).
        "prometheus": {"podMonitor": {"create": True}},
    }


RELEASE = ChartRelease(
    name="flux2",
    chart="flux2",
    namespace=lambda s: s.namespaces.flux,
    values=lambda _s: flux_values(),
    # Its PodMonitor needs the monitoring CRDs.
    after=("kube-prometheus-stack",),
)
