"""Application layers of the local stack: every non-bootstrap layer applied directly, in order.

The remote stack hands the same layers to Flux (`components.layers.flux_sync`); both render the same
directories with the same `layers.variables(settings)`, so both apply the same objects
(tests/unit/rendering/test_flux_parity.py holds them to that).
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.kube.apply import apply_objects
from components.layers.options import LayerArgs, depends_on_of
from components.rendering import layers


class AppLayersComponent(pulumi.ComponentResource):
    """Owns one ConfigGroup per non-bootstrap layer of `components.rendering.layers.LAYERS`, named after the layer.

    Needs: the infra provider and, in `depends_on`, the operators and bootstrap layers (PKI, Vault). Each
    layer waits for the previous one, like the Kustomizations' `dependsOn` chain in the remote stack.
    """

    groups: dict[str, k8s.yaml.v2.ConfigGroup]

    def __init__(
        self,
        name: str,
        args: LayerArgs,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("platform:layers:AppLayers", name, None, opts)
        settings, infra, depends_on = args.settings, args.infra, depends_on_of(opts)
        self.groups = {}
        previous: list[pulumi.Resource] = []
        for layer in layers.active_layers(settings, bootstrap=False):
            group = apply_objects(
                layer.name,
                layers.render(settings, layer),
                provider=infra.provider,
                parent=self,
                depends_on=[*depends_on, *previous],
                keep=layer.stateful,
            )
            self.groups[layer.name] = group
            previous = [group]
        self.register_outputs({"layers": list(self.groups)})
