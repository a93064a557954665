"""Helm values of the edge operators: the MinIO operator (in-cluster S3) and Traefik (ingress).

The releases are registered in `components/operators.py`; the objects they manage are in
`manifests/s3/` (the Tenant) and `manifests/ingress/` (TLS defaults, route, alerts).
"""

from __future__ import annotations

from typing import Any

from components.settings import kind_network as cluster_contract
from components.settings.model import Settings


def minio_operator_values() -> dict[str, Any]:
    # As the original: STS on, the operator's own certificate generation off (every certificate comes
    # from cert-manager; the tenant's CA reaches the operator through `operator-ca-tls-*` in manifests/s3).
    return {
        "operator": {
            "env": [
                {"name": "OPERATOR_STS_ENABLED", "value": "on"},
                {"name": "OPERATOR_STS_AUTO_TLS_ENABLED", "value": "off"},
            ],
            "replicaCount": 2,
            "resources": {"requests": {"cpu": "50m", "memory": "128Mi", "ephemeral-storage": "500Mi"}},
        }
    }


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
                # Only manifests/ingress (in this namespace) may define the default TLSOption/TLSStore.
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
        "service": {"spec": {"type": "LoadBalancer"}},
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
        # ports (components/cluster_contract.py). NodePort, not LoadBalancer: kind runs no load-balancer
        # controller, and the release would wait forever for an external address.
        values["ports"]["web"]["nodePort"] = cluster_contract.TRAEFIK_WEB_NODE_PORT
        values["ports"]["websecure"]["nodePort"] = cluster_contract.TRAEFIK_WEBSECURE_NODE_PORT
        values["service"]["spec"]["type"] = "NodePort"
    return values
