"""Flux controllers (the flux2 community chart): the GitRepository and Kustomizations are the remote
stack's (components/layers/flux_sync.py)."""

from __future__ import annotations

from typing import Any

from components.charts.release import ChartRelease

_FLUX_RESOURCES = {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "1000m", "memory": "1Gi"}}
_FLUX_POD_SECURITY = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def flux_values() -> dict[str, Any]:
    # Controllers only: the GitRepository/Kustomizations are the remote stack's (FluxSyncComponent).
    return {
        "installCRDs": True,
        "watchAllNamespaces": True,
        "logLevel": "info",
        # Nothing here updates images from Git: the image controllers would be idle code with write access.
        "imageAutomationController": {"create": False},
        "imageReflectionController": {"create": False},
        # Flux's own install limits (1 CPU, 1Gi) on every controller; the chart leaves limits empty.
        "sourceController": {"resources": _FLUX_RESOURCES},
        # helm- and notification-controller get no pod securityContext from the chart (their containers do).
        "helmController": {"resources": _FLUX_RESOURCES, "podSecurityContext": _FLUX_POD_SECURITY},
        "notificationController": {"resources": _FLUX_RESOURCES, "podSecurityContext": _FLUX_POD_SECURITY},
        # The pre-install `flux check` Job.
        "cli": {
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
        },
        # No flux-edit/flux-view aggregated into the built-in edit/view roles: a namespace editor could otherwise
        # create a Kustomization, which kustomize-controller applies with cluster-admin (cluster-reconciler).
        "rbac": {"createAggregation": False},
        # The chart's kustomize-controller (v1.8) substitutes an unset ${var} with "" unless strict mode is on;
        # the local renderer (components/flux_substitution.py) fails instead, so both stacks must agree.
        "kustomizeController": {
            "container": {"additionalArgs": ["--feature-gates=StrictPostBuildSubstitutions=true"]},
            "resources": _FLUX_RESOURCES,
        },
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
