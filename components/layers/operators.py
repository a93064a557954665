"""Operators layer: the controllers and CRDs every later layer builds on."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.charts import secrets_csi
from components.charts.edge import minio_operator_values, traefik_values
from components.kube.apply import apply_objects
from components.kube.helm import chart_release
from components.layers.infra import InfraComponent
from components.rendering.layers import layer_named, render
from components.settings.model import Settings


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


def cert_manager_values() -> dict[str, Any]:
    # Every TLS certificate depends on these three Deployments: two replicas and a PDB each, so a node
    # drain never leaves the webhook (which admits every Certificate) unavailable.
    ha = {"replicaCount": 2, "podDisruptionBudget": {"enabled": True, "minAvailable": 1}}
    return {
        "crds": {"enabled": True, "keep": True},
        **ha,
        "webhook": ha,
        "cainjector": ha,
        "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}},
        # No ServiceMonitor/PodMonitor from this chart: cert-manager is installed BEFORE kube-prometheus-stack
        # (whose webhook certificates it issues), so the monitoring CRDs do not exist yet. The PodMonitor is
        # in manifests/operators-monitoring/, applied after kube-prometheus-stack.
        "prometheus": {"enabled": True, "servicemonitor": {"enabled": False}, "podmonitor": {"enabled": False}},
    }


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


def cloudnative_pg_values() -> dict[str, Any]:
    # The chart's defaults already run the controller non-root, read-only, seccomp RuntimeDefault, drop ALL.
    return {
        "replicaCount": 2,  # leader election: a second replica takes over without a gap in reconciling
        "crds": {"create": True},
        "config": {"clusterWide": True},  # Clusters live in the app namespace, the operator in its own
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        "monitoring": {"podMonitorEnabled": True},  # kube-prometheus-stack selects every PodMonitor
    }


class OperatorsComponent(pulumi.ComponentResource):
    """Owns the Helm releases of Flux (controllers only), cert-manager (with CRDs),
    kube-prometheus-stack and the CloudNativePG operator (with CRDs); with `app.secretsDelivery: csi`
    also the Secrets Store CSI driver and the Vault CSI provider.

    Needs: the infra provider and namespaces. Later layers depend on this component, so no custom
    resource is sent before the CRD that defines it exists.
    """

    releases: dict[str, k8s.helm.v3.Release]

    def __init__(
        self, name: str, settings: Settings, infra: InfraComponent, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("platform:operators:Operators", name, None, opts)
        ns = settings.namespaces

        def release(
            release_name: str, chart: str, namespace: str, values: dict[str, Any], *after: pulumi.Resource
        ) -> k8s.helm.v3.Release:
            return chart_release(
                release_name,
                chart,
                namespace,
                values,
                provider=infra.provider,
                parent=self,
                depends_on=[infra.namespaces[namespace], *after],
            )

        cert_manager = release("cert-manager", "cert-manager", ns.cert_manager, cert_manager_values())
        # Its webhook certificates are cert-manager Certificates, so cert-manager goes first.
        prometheus = release(
            "kube-prometheus-stack",
            "kube-prometheus-stack",
            ns.monitoring,
            kube_prometheus_stack_values(),
            cert_manager,
        )
        self.releases = {
            "cert-manager": cert_manager,
            "kube-prometheus-stack": prometheus,
            # Its PodMonitor needs the monitoring CRDs.
            "flux2": release("flux2", "flux2", ns.flux, flux_values(), prometheus),
        }
        # Monitors for charts installed before the monitoring CRDs existed (cert-manager).
        self.monitoring = apply_objects(
            "operators-monitoring",
            render(settings, layer_named("operators-monitoring")),
            provider=infra.provider,
            parent=self,
            depends_on=[prometheus, cert_manager],
        )
        # Its PodMonitor needs the monitoring CRDs, so it follows kube-prometheus-stack.
        self.releases["cloudnative-pg"] = release(
            "cloudnative-pg",
            "cloudnative-pg",
            ns.database_operator,
            cloudnative_pg_values(),
            self.releases["kube-prometheus-stack"],
        )
        if settings.s3.in_cluster:
            self.releases["minio-operator"] = release(
                "minio-operator", "minio-operator", ns.storage_operator, minio_operator_values()
            )
        # Its ServiceMonitor needs the monitoring CRDs.
        self.releases["traefik"] = release(
            "traefik", "traefik", ns.ingress, traefik_values(settings), self.releases["kube-prometheus-stack"]
        )
        if settings.app.csi:
            # The Secrets Store CSI driver and the Vault CSI provider (the `vault` chart, provider only), in
            # kube-system (components/secrets_csi.py says why); the app mounts its secrets through them.
            driver = chart_release(
                secrets_csi.DRIVER_RELEASE,
                "secrets-store-csi-driver",
                secrets_csi.NAMESPACE,
                secrets_csi.driver_values(settings),
                provider=infra.provider,
                parent=self,
            )
            self.releases[secrets_csi.DRIVER_RELEASE] = driver
            self.releases[secrets_csi.PROVIDER_RELEASE] = chart_release(
                secrets_csi.PROVIDER_RELEASE,
                "vault",
                secrets_csi.NAMESPACE,
                secrets_csi.provider_values(),
                provider=infra.provider,
                parent=self,
                depends_on=[driver],
            )
        self.register_outputs({"releases": list(self.releases)})

    @property
    def all(self) -> list[pulumi.Resource]:
        """Every release, for `depends_on` of layers that need the CRDs."""
        return list(self.releases.values())
