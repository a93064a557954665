"""Traefik, the ingress controller; its TLS defaults, route and alerts are manifests/gitops/ingress."""

from __future__ import annotations

from typing import Any

from components.charts.release import ChartRelease
from components.settings import kind_network
from components.settings.model import Settings


def traefik_values(settings: Settings) -> dict[str, Any]:
    """Own ServiceAccount and RBAC (chart defaults), Ingress + CRD providers, HTTP -> HTTPS, metrics."""
    values: dict[str, Any] = {
        "deployment": {"replicas": 2},
        "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
        "rbac": {"enabled": True},
        "serviceAccount": {"name": ""},  # "" = the chart creates Traefik's own ServiceAccount
        "providers": {
            "kubernetesCRD": {
                "enabled": True,
                "allowCrossNamespace": False,
                # Only manifests/gitops/ingress (in this namespace) may define the default TLSOption/TLSStore.
                "defaultTLSResourcesNamespace": settings.namespaces.ingress,
            },
            "kubernetesIngress": {"enabled": True},
        },
        "ports": {
            "web": {
                "http": {"redirections": {"entryPoint": {"to": "websecure", "scheme": "https", "permanent": True}}}
            },
            "websecure": {"exposedPort": settings.ingress.https_port},
        },
        # ingress.serviceType: what the cluster offers (LoadBalancer needs a load-balancer controller).
        "service": {"spec": {"type": settings.ingress.service_type}},
        "metrics": {
            "prometheus": {
                "entryPoint": "metrics",
                "service": {"enabled": True},
                "serviceMonitor": {"enabled": True},
            }
        },
        "ingressRoute": {"dashboard": {"enabled": False}},
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
    }
    if settings.kubernetes.cluster.create:
        # The program's own kind cluster maps kubernetes.cluster.httpPort/httpsPort on 127.0.0.1 to these node
        # ports (components/kind_network.py); config refuses any other ingress.serviceType there.
        values["ports"]["web"]["nodePort"] = kind_network.TRAEFIK_WEB_NODE_PORT
        values["ports"]["websecure"]["nodePort"] = kind_network.TRAEFIK_WEBSECURE_NODE_PORT
    return values


RELEASE = ChartRelease(
    name="traefik",
    chart="traefik",
    namespace=lambda s: s.namespaces.ingress,
    values=traefik_values,
    # Its ServiceMonitor needs the monitoring CRDs.
    after=("kube-prometheus-stack",),
)
