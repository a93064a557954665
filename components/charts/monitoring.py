"""kube-prometheus-stack: Prometheus, Alertmanager and the monitoring CRDs every ServiceMonitor needs."""

from __future__ import annotations

from typing import Any

from components.charts.release import ChartRelease
from components.settings.model import Settings


def kube_prometheus_stack_values(settings: Settings) -> dict[str, Any]:
    """The release's values; node-exporter (hostNetwork, hostPID, hostPath /, /proc, /sys, hostPort 9100) runs
    in `namespaces.nodeExporter`, the only namespace enforcing Pod Security `privileged`, or not at all
    (monitoring.nodeExporter: false): `monitoring` enforces `baseline`, which refuses its pods."""
    return {
        "nodeExporter": {"enabled": settings.monitoring.node_exporter},
        "prometheus-node-exporter": {
            "namespaceOverride": settings.namespaces.node_exporter,
            # Host namespaces and mounts it needs; nothing more: no capability, no escalation, seccomp on.
            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
            "containerSecurityContext": {
                "readOnlyRootFilesystem": True,
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]},
            },
            "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "250m", "memory": "128Mi"}},
        },
        "kube-state-metrics": {
            "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"cpu": "250m", "memory": "256Mi"}}
        },
        # Not wired into the platform (no ingress, no SSO, no dashboards of ours) and its chart default admin
        # password is the public "prom-operator": off. Prometheus and Alertmanager are what the platform uses.
        "grafana": {"enabled": False},
        # Admission webhook certificates from cert-manager instead of the chart's patch Job.
        "prometheusOperator": {
            "admissionWebhooks": {"certManager": {"enabled": True}},
            "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
        },
        # Select every ServiceMonitor/PodMonitor/rule, not only those carrying this release's labels.
        "prometheus": {
            "prometheusSpec": {
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "ruleSelectorNilUsesHelmValues": False,
                "retention": "15d",
                "resources": {"requests": {"cpu": "200m", "memory": "1Gi"}},
                # Metrics survive a Prometheus restart (the chart default is an emptyDir).
                "storageSpec": {
                    "volumeClaimTemplate": {
                        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "20Gi"}}}
                    }
                },
            }
        },
    }


RELEASE = ChartRelease(
    name="kube-prometheus-stack",
    chart="kube-prometheus-stack",
    namespace=lambda s: s.namespaces.monitoring,
    values=kube_prometheus_stack_values,
    other_namespaces=lambda s: (s.namespaces.node_exporter,) if s.monitoring.node_exporter else (),
    # Its webhook certificates are cert-manager Certificates.
    after=("cert-manager",),
)
