"""The MinIO operator (`s3.backend: minio`); the Tenant it manages is manifests/gitops/s3."""

from __future__ import annotations

from typing import Any

from components.charts.release import ChartRelease


def minio_operator_values() -> dict[str, Any]:
    # As the original: STS on, the operator's own certificate generation off (every certificate comes
    # from cert-manager; the tenant's CA reaches the operator through `operator-ca-tls-*` in manifests/gitops/s3).
    return {
        "operator": {
            "env": [
                {"name": "OPERATOR_STS_ENABLED", "value": "on"},
                {"name": "OPERATOR_STS_AUTO_TLS_ENABLED", "value": "off"},
            ],
            "replicaCount": 2,
            "resources": {
                "requests": {"cpu": "50m", "memory": "128Mi", "ephemeral-storage": "500Mi"},
                "limits": {"cpu": "500m", "memory": "512Mi", "ephemeral-storage": "1Gi"},
            },
            # Read-only root: the operator writes only under /tmp (its TLS scratch and the MinIO binary
            # update path), an emptyDir. The rest is the chart's default container securityContext.
            "containerSecurityContext": {
                "runAsUser": 1000,
                "runAsGroup": 1000,
                "runAsNonRoot": True,
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "500Mi"}}],
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108 (in the container: an emptyDir)
        }
    }


RELEASE = ChartRelease(
    name="minio-operator",
    chart="minio-operator",
    namespace=lambda s: s.namespaces.storage_operator,
    values=lambda _s: minio_operator_values(),
    enabled=lambda s: s.s3.in_cluster,
)
