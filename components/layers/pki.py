"""PKI layer: the cert-manager CA chain (manifests/bootstrap/pki) every TLS certificate is issued from."""

from __future__ import annotations

import pulumi

from components.kube.apply import apply_objects
from components.layers.options import LayerArgs, depends_on_of
from components.rendering.layers import LAYERS, render

LEAF_ISSUER = "issuer-leaf"
ROOT_CA_SECRET = "root-ca"


class PkiComponent(pulumi.ComponentResource):
    """Owns the self-signed root CA, the intermediate CA and the `issuer-leaf` ClusterIssuer.

    Needs: the infra provider and namespaces, and cert-manager's CRDs (pass the operators component
    in `depends_on`). Applied by Pulumi in both stacks: Vault's TLS needs it before Flux has anything
    to reconcile.
    """

    def __init__(
        self,
        name: str,
        args: LayerArgs,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("platform:pki:Pki", name, None, opts)
        settings, infra, depends_on = args.settings, args.infra, depends_on_of(opts)
        layer = next(layer for layer in LAYERS if layer.name == "pki")
        self.objects = apply_objects(
            "pki",
            render(settings, layer),
            provider=infra.provider,
            parent=self,
            depends_on=[*depends_on, infra.namespaces[settings.namespaces.cert_manager]],
        )
        self.leaf_issuer = LEAF_ISSUER
        self.register_outputs({"leafIssuer": LEAF_ISSUER})
