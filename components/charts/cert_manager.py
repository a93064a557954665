"""cert-manager with its CRDs: every certificate of the platform (manifests pki and below) comes from it."""

from __future__ import annotations

from typing import Any

from components.charts.release import ChartRelease


def _resources(memory_limit: str) -> dict[str, Any]:
    """Small requests; limits so a runaway informer cache cannot take a node (the controller and cainjector
    cache every Certificate/Secret they watch: more memory than the webhook)."""
    return {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": memory_limit}}


_small = _resources("128Mi")


def cert_manager_values() -> dict[str, Any]:
    # Every TLS certificate depends on these three Deployments: two replicas and a PDB each, so a node
    # drain never leaves the webhook (which admits every Certificate) unavailable.
    ha = {"replicaCount": 2, "podDisruptionBudget": {"enabled": True, "minAvailable": 1}}
    return {
        # The chart aggregates create/update rights on Certificates, CertificateRequests and Issuers into the
        # built-in `edit` and `admin` ClusterRoles by default: anyone who may edit one namespace could then ask
        # the ClusterIssuers (issuer-leaf, issuer-client) for any name, and cert-manager approves requests
        # automatically. Off: only cluster admins and the program create Certificates. Namespaced Issuers are
        # not needed by any tenant here; approver-policy would be the tool if tenants ever issue their own.
        "global": {"rbac": {"aggregateClusterRoles": False}},
        "crds": {"enabled": True, "keep": True},
        **ha,
        "webhook": {**ha, "resources": _small},
        "cainjector": {**ha, "resources": _resources("256Mi")},
        "resources": _resources("256Mi"),
        "startupapicheck": {"resources": _small},
        # No ServiceMonitor/PodMonitor from this chart: cert-manager is installed BEFORE kube-prometheus-stack
        # (whose webhook certificates it issues), so the monitoring CRDs do not exist yet. The PodMonitor is
        # in manifests/bootstrap/operators-monitoring/, applied after kube-prometheus-stack.
        "prometheus": {"enabled": True, "servicemonitor": {"enabled": False}, "podmonitor": {"enabled": False}},
    }


RELEASE = ChartRelease(
    name="cert-manager",
    chart="cert-manager",
    namespace=lambda s: s.namespaces.cert_manager,
    values=lambda _s: cert_manager_values(),
)
