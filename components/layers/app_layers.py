"""Application layers of the local stack: every non-bootstrap layer applied directly, each after what it needs.

The remote stack hands the same layers to Flux (`components.layers.flux_sync`); both render the same
directories with the same `layers.variables(settings)`, so both apply the same objects
(tests/unit/rendering/test_flux_parity.py holds them to that), and both order them by each layer's `depends_on`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.charts import registry
from components.kube.apply import apply_objects
from components.layers.app_images import copy_app_images
from components.layers.infra import InfraComponent
from components.layers.network_policies import namespaces_of
from components.rendering import layers
from components.settings.model import Settings


@dataclass(frozen=True)
class AppLayersArgs:
    """What the application layers may wait for; each layer takes only the entries it needs."""

    settings: Settings
    infra: InfraComponent
    # The NetworkPolicies every workload waits for.
    policies: Sequence[pulumi.Resource]
    # Helm release name -> release: a layer waits for the releases installing the CRDs of its kinds.
    releases: Mapping[str, pulumi.Resource]
    # Bootstrap layer name (pki, vault, ...) -> what applied it: for a layer's `depends_on` on a bootstrap layer.
    bootstrap: Mapping[str, pulumi.Resource]
    # An initialised, unsealed and configured Vault (roles, policies, mounts): for layers with `reads_vault`.
    vault_ready: Sequence[pulumi.Resource]
    # Layer name -> more resources it waits for (the image copy before the layers that pull the app images).
    before: Mapping[str, Sequence[pulumi.Resource]] = field(default_factory=dict)
    # The admin pulumi-vault provider: the image copy reads the registry's push password from Vault with it.
    vault_admin: pulumi.ProviderResource | None = None


def crd_releases(objects: list[dict[str, Any]], releases: Mapping[str, pulumi.Resource]) -> list[pulumi.Resource]:
    """The releases installing the CRDs of these objects' kinds (none for built-in kinds)."""
    names = dict.fromkeys(registry.crd_release(obj["apiVersion"]) for obj in objects)
    return [releases[name] for name in names if name is not None]


class AppLayersComponent(pulumi.ComponentResource):
    """Owns one ConfigGroup per non-bootstrap layer of `components.rendering.layers.LAYERS`, named after the layer.

    Needs (`AppLayersArgs`): each layer waits for its namespaces, the NetworkPolicies, the releases installing
    the CRDs of its kinds, the layers of its `depends_on` (application layers here, bootstrap layers from
    `bootstrap`), Vault's configuration when it `reads_vault`, and `before` entries; nothing else, so layers
    that need nothing of each other apply in parallel.
    """

    groups: dict[str, k8s.yaml.v2.ConfigGroup]

    def __init__(self, name: str, args: AppLayersArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:layers:AppLayers", name, None, opts)
        settings, infra = args.settings, args.infra
        self.groups = {}
        self.images: Sequence[pulumi.Resource] = ()
        for layer in layers.active_layers(settings, bootstrap=False):
            if layer.pulls_app_images and settings.app.image_source is not None and not self.images:
                # app.imageSource: the images the in-cluster registry must serve before anything pulls them.
                self.images = copy_app_images(
                    settings,
                    infra,
                    registry=self.groups.get("registry"),
                    access=self.groups["registry-access"],
                    vault_admin=args.vault_admin,
                    parent=self,
                )
            objects = layers.render(settings, layer)
            self.groups[layer.name] = apply_objects(
                layer.name,
                objects,
                provider=infra.provider,
                parent=self,
                depends_on=self._needs(layer, objects, args),
                keep=layer.stateful,
            )
        self.register_outputs({"layers": list(self.groups)})

    def _needs(self, layer: layers.Layer, objects: list[dict[str, Any]], args: AppLayersArgs) -> list[pulumi.Resource]:
        declared = [
            self.groups.get(name) or args.bootstrap.get(name)
            for name in layer.depends_on
            # A disabled layer (s3 with an external endpoint) is simply not there to wait for.
            if name in self.groups or name in args.bootstrap
        ]
        needs: list[pulumi.Resource | None] = [
            *namespaces_of(objects, args.infra),
            *args.policies,
            *crd_releases(objects, args.releases),
            *declared,
            *(args.vault_ready if layer.reads_vault else ()),
            *args.before.get(layer.name, ()),
            *(self.images if layer.pulls_app_images else ()),
        ]
        return list(dict.fromkeys(resource for resource in needs if resource is not None))
