"""kube-prometheus-stack: Prometheus, Alertmanager and the monitoring CRDs every ServiceMonitor needs."""

from __future__ import annotations

from typing import Any

from components.charts.release import ChartRelease


def kube_prometheus_stack_values() -> dict[str, Any]:
    return {
        # Admission webhook certificates from cert-manager instead of the chart's patch Job.
        "prometheusOperator": {
            "admissionWebhooks": {"certManager": {"enabled": True}},
            "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}},
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
    values=lambda _s: kube_prometheus_stack_values(),
    # Its webhook certificates are cert-manager Certificates.
    after=("cert-manager",),
)
