"""NetworkPolicies layer: default-deny plus every allow rule, applied right after the namespaces in both stacks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.kube.apply import apply_objects
from components.layers.infra import InfraComponent
from components.layers.options import LayerArgs
from components.rendering import layers

# The local stack's application layers component, their parent until they became bootstrap.
FORMER_PARENT = ("app-layers", "platform:layers:AppLayers")


# Remote stacks deployed before the policies became bootstrap had them from Flux Kustomizations with
# `prune: true`: deleting those Kustomizations (this update) would garbage-collect the very objects Pulumi now
# applies, leaving every namespace open. Flux leaves objects carrying this annotation alone.
FLUX_PRUNE = {"kustomize.toolkit.fluxcd.io/prune": "disabled"}


def _kept_by_flux(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = obj["metadata"]
    return {**obj, "metadata": {**metadata, "annotations": {**metadata.get("annotations", {}), **FLUX_PRUNE}}}


def namespaces_of(objects: Iterable[dict[str, Any]], infra: InfraComponent) -> list[pulumi.Resource]:
    """The infra layer's Namespaces these objects live in (kube-system and other foreign ones are not ours)."""
    named = dict.fromkeys(obj.get("metadata", {}).get("namespace") for obj in objects)
    return [infra.namespaces[name] for name in named if name in infra.namespaces]


class NetworkPoliciesComponent(pulumi.ComponentResource):
    """Owns one ConfigGroup per active `network-policies*` layer (manifests/bootstrap/network-policies/).

    Needs: the infra provider and the namespaces the policies live in, nothing else (NetworkPolicy is a
    built-in kind). Every workload of the program waits for `all`: the allow rules for install-time traffic
    (API server -> webhooks, Helm hook Jobs -> API server, DNS) are there before the first pod, so a
    default-deny never blocks an operator's own install. The groups apply in parallel: policies only add.
    """

    groups: dict[str, k8s.yaml.v2.ConfigGroup]

    def __init__(self, name: str, args: LayerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:layers:NetworkPolicies", name, None, opts)
        settings, infra = args.settings, args.infra
        self.groups = {}
        # Built here, not at import: a URN names the stack of the run that creates it.
        former_parent = pulumi.create_urn(*FORMER_PARENT)
        for layer in layers.active_layers(settings, bootstrap=True):
            if not layer.name.startswith("network-policies"):
                continue
            objects = [_kept_by_flux(obj) for obj in layers.render(settings, layer)]
            self.groups[layer.name] = apply_objects(
                layer.name,
                objects,
                provider=infra.provider,
                parent=self,
                depends_on=namespaces_of(objects, infra),
                # The local stack applied them as app layers before: same objects, no delete-and-recreate gap.
                aliases=[pulumi.Alias(parent=former_parent)],
            )
        self.register_outputs({"layers": list(self.groups)})

    @property
    def all(self) -> list[pulumi.Resource]:
        """Every policy group: what each workload-creating resource waits for."""
        return list(self.groups.values())
