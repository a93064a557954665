"""PKI layer: the cert-manager CA chain (manifests/bootstrap/pki) every TLS certificate is issued from."""

from __future__ import annotations

import pulumi

from components.kube.apply import apply_objects
from components.layers.options import LayerArgs, depends_on_of
from components.rendering.layers import LAYERS, render

LEAF_ISSUER = "issuer-leaf"
ROOT_CA_SECRET = "root-ca"
# The client CA (its own root) and its ClusterIssuer: only `ingress.clientApps` certificates come from it, and
# Traefik's mutual TLS trusts it alone (manifests/bootstrap/pki/client-ca.yaml).
CLIENT_ISSUER = "issuer-client"
CLIENT_CA_SECRET = "client-ca"


class PkiComponent(pulumi.ComponentResource):
    """Owns the self-signed root CA (a namespaced Issuer: it signs only the intermediate), the intermediate CA,
    the `issuer-leaf` ClusterIssuer, and the separate client CA with its `issuer-client` ClusterIssuer.

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
