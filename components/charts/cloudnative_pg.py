"""The CloudNativePG operator with its CRDs (the Cluster itself is manifests/gitops/postgresql), and with
`backup.enabled` its Barman Cloud plugin (ObjectStore CRD; WAL archiving and base backups to S3 through a sidecar
the plugin injects into the PostgreSQL pods; manifests/gitops/postgresql-backup*)."""

from __future__ import annotations

from typing import Any

from components.charts.release import ChartRelease


def cloudnative_pg_values() -> dict[str, Any]:
    # The chart's defaults already run the controller non-root, read-only, seccomp RuntimeDefault, drop ALL.
    return {
        "replicaCount": 2,  # leader election: a second replica takes over without a gap in reconciling
        "crds": {"create": True},
        "config": {"clusterWide": True},  # Clusters live in the app namespace, the operator in its own
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
        "monitoring": {"podMonitorEnabled": True},  # kube-prometheus-stack selects every PodMonitor
    }


RELEASE = ChartRelease(
    name="cloudnative-pg",
    chart="cloudnative-pg",
    namespace=lambda s: s.namespaces.database_operator,
    values=lambda _s: cloudnative_pg_values(),
    # Its PodMonitor needs the monitoring CRDs.
    after=("kube-prometheus-stack",),
)


def barman_cloud_values() -> dict[str, Any]:
    # The chart's defaults run it non-root, read-only, seccomp RuntimeDefault, drop ALL, with cert-manager
    # certificates for the operator <-> plugin gRPC (mutual TLS).
    return {"resources": {"requests": {"cpu": "20m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}}


BARMAN_CLOUD = ChartRelease(
    name="plugin-barman-cloud",
    chart="plugin-barman-cloud",
    # The plugin must run in the operator's namespace (the operator discovers it there).
    namespace=lambda s: s.namespaces.database_operator,
    values=lambda _s: barman_cloud_values(),
    enabled=lambda s: s.backup.enabled,
    # Its certificates need cert-manager; it registers with the operator.
    after=("cert-manager", "cloudnative-pg"),
)
