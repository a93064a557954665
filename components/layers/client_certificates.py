"""Client certificates of the external apps that call the platform through Traefik (`ingress.clientApps`).

One cert-manager Certificate per client app, in the app namespace: issued by `issuer-client` (the client CA, a
root of its own that signs nothing else), usage `client auth`, commonName = the client app's name (Traefik
verifies the chain against the client CA only and forwards the subject; the app authorises by CN), Secret
`<client app>-client-tls` (`tls.crt` with the chain, `tls.key`, `ca.crt`) for an operator to hand to that client.

Why Python and not a manifest layer: the list is config, and plain manifests cannot loop over it. Why Pulumi in
BOTH stacks, not Flux: these are credentials handed to parties outside the cluster, issued when the PKI exists;
they are not part of the app's GitOps layers and must not disappear with a layer's prune.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.kube.apply import apply_objects
from components.layers.options import LayerArgs, depends_on_of
from components.layers.pki import CLIENT_ISSUER
from components.settings.model import Settings


def secret_name(client_app: str) -> str:
    """The Secret holding one client app's certificate and key."""
    return f"{client_app}-client-tls"


def client_certificate(settings: Settings, client_app: str) -> dict[str, Any]:
    """The Certificate of one client app (same key and lifetime settings as every platform leaf)."""
    pki = settings.pki
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {
            "name": f"{client_app}-client",
            "namespace": settings.namespaces.app,
            "labels": {
                "app.kubernetes.io/part-of": "platform",
                "app.kubernetes.io/component": "client-certificate",
                "app.kubernetes.io/name": client_app,
            },
        },
        "spec": {
            "secretName": secret_name(client_app),
            "commonName": client_app,
            "subject": {"organizations": [pki.organization]},
            "usages": ["client auth", "digital signature", "key encipherment"],
            "duration": pki.leaf_duration,
            "renewBefore": pki.leaf_renew_before,
            "privateKey": {"algorithm": pki.key_algorithm, "size": pki.key_size, "rotationPolicy": "Always"},
            "issuerRef": {"name": CLIENT_ISSUER, "kind": "ClusterIssuer", "group": "cert-manager.io"},
        },
    }


def client_certificates(settings: Settings) -> list[dict[str, Any]]:
    """One Certificate per `ingress.clientApps` entry, in config order."""
    return [client_certificate(settings, app) for app in settings.ingress.client_apps]


class ClientCertificatesComponent(pulumi.ComponentResource):
    """Owns one cert-manager Certificate per `ingress.clientApps` entry (a ConfigGroup `client-certificates`).

    Needs: the infra provider and the app namespace, and the PKI (`issuer-client`) in `depends_on`.
    """

    def __init__(
        self,
        name: str,
        args: LayerArgs,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("platform:pki:ClientCertificates", name, None, opts)
        settings, infra, depends_on = args.settings, args.infra, depends_on_of(opts)
        self.objects = apply_objects(
            "client-certificates",
            client_certificates(settings),
            provider=infra.provider,
            parent=self,
            depends_on=[infra.namespaces[settings.namespaces.app], *depends_on],
        )
        self.register_outputs({"secrets": [secret_name(app) for app in settings.ingress.client_apps]})
