"""Operators layer: the controllers and CRDs every later layer builds on."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.charts import registry
from components.kube.apply import apply_objects
from components.layers.options import LayerArgs, depends_on_of
from components.rendering.layers import layer_named, render


class OperatorsComponent(pulumi.ComponentResource):
    """Owns the Helm releases of `components.charts.registry.OPERATORS` that the settings enable (Flux
    controllers, cert-manager, kube-prometheus-stack, CloudNativePG, Traefik; the MinIO operator with
    `s3.backend: minio`; the Secrets Store CSI driver and Vault CSI provider with `app.secretsDelivery: csi`)
    and the monitors of operators installed before the monitoring CRDs (manifests/bootstrap/operators-monitoring).

    Needs: the infra provider and namespaces, and in `depends_on` the NetworkPolicies. Each release waits for
    those, its namespaces and the releases it names in `after`, nothing else: independent releases install
    in parallel. Later layers depend on the releases whose CRDs they use (`releases`, or `all`).
    """

    releases: dict[str, k8s.helm.v3.Release]
    monitoring: k8s.yaml.v2.ConfigGroup

    def __init__(self, name: str, args: LayerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:operators:Operators", name, None, opts)
        settings, infra, policies = args.settings, args.infra, depends_on_of(opts)
        self.releases = {}
        for chart in registry.active(settings, registry.OPERATORS):
            used = (chart.namespace(settings), *chart.other_namespaces(settings))
            # kube-system (CSI) is not ours to create; every other namespace is the infra layer's.
            own_namespaces = [infra.namespaces[namespace] for namespace in used if namespace in infra.namespaces]
            self.releases[chart.name] = chart.install(
                settings,
                provider=infra.provider,
                parent=self,
                depends_on=[*policies, *own_namespaces, *(self.releases[after] for after in chart.after)],
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
