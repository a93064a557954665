"""Operators layer: the controllers and CRDs every later layer builds on."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.charts import registry
from components.kube.apply import apply_objects
from components.layers.options import LayerArgs
from components.rendering.layers import layer_named, render


class OperatorsComponent(pulumi.ComponentResource):
    """Owns the Helm releases of `components.charts.registry.OPERATORS` that the settings enable (Flux
    controllers, cert-manager, kube-prometheus-stack, CloudNativePG, Traefik; the MinIO operator with
    `s3.backend: minio`; the Secrets Store CSI driver and Vault CSI provider with `app.secretsDelivery: csi`)
    and the monitors of operators installed before the monitoring CRDs (manifests/bootstrap/operators-monitoring).

    Needs: the infra provider and namespaces. Each release waits for its namespace and the releases it
    names in `after`; later layers depend on `all`, so no custom resource is sent before its CRD exists.
    """

    releases: dict[str, k8s.helm.v3.Release]
    monitoring: k8s.yaml.v2.ConfigGroup

    def __init__(self, name: str, args: LayerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:operators:Operators", name, None, opts)
        settings, infra = args.settings, args.infra
        self.releases = {}
        for chart in registry.active(settings, registry.OPERATORS):
            namespace = chart.namespace(settings)
            # kube-system (CSI) is not ours to create; every other namespace is the infra layer's.
            own_namespace = [infra.namespaces[namespace]] if namespace in infra.namespaces else []
            self.releases[chart.name] = chart.install(
                settings,
                provider=infra.provider,
                parent=self,
                depends_on=[*own_namespace, *(self.releases[after] for after in chart.after)],
            )
        # Monitors for charts installed before the monitoring CRDs existed (cert-manager).
        self.monitoring = apply_objects(
            "operators-monitoring",
            render(settings, layer_named("operators-monitoring")),
            provider=infra.provider,
            parent=self,
            depends_on=[self.releases["kube-prometheus-stack"], self.releases["cert-manager"]],
        )
        self.register_outputs({"releases": list(self.releases)})

    @property
    def all(self) -> list[pulumi.Resource]:
        """Every release, for `depends_on` of layers that need the CRDs."""
        return list(self.releases.values())
