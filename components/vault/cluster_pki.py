"""The second cluster's own PKI (`vault.kubeContext`): cert-manager and the `manifests/bootstrap/pki` chain there.

Vault's certificates (manifests/bootstrap/vault) name `issuer-leaf`, which must exist in the cluster Vault runs in.
The second cluster gets its own root CA rather than a copy of the application cluster's CA keys: no CA
private key ever crosses clusters. The application cluster trusts Vault through the public `ca.crt` that
components/vault/trust.py copies into the operators' CA Secrets.
"""

from __future__ import annotations

import pulumi

from components.charts import cert_manager
from components.kube.apply import apply_objects
from components.layers.infra import InfraComponent
from components.rendering.layers import layer_named, render
from components.settings.model import Settings

PREFIX = "vault-cluster"


class VaultClusterPkiComponent(pulumi.ComponentResource):
    """Owns, in the second cluster only: the cert-manager release (CRDs included, same chart and values as the
    application cluster) and the root CA -> intermediate CA -> `issuer-leaf` chain of `manifests/bootstrap/pki`.

    Needs: `infra.vault_provider` and `infra.vault_cluster_namespaces`. Exposes `issuer` (the PKI layer)
    for the Vault certificates to wait for.
    """

    def __init__(
        self, name: str, settings: Settings, infra: InfraComponent, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("platform:vault:ClusterPki", name, None, opts)
        namespace = infra.vault_cluster_namespaces[settings.namespaces.cert_manager]
        self.cert_manager = cert_manager.RELEASE.install(
            settings,
            provider=infra.vault_provider,
            parent=self,
            depends_on=[namespace],
            resource_name=f"{PREFIX}-cert-manager",
        )
        self.issuer = apply_objects(
            f"{PREFIX}-pki",
            render(settings, layer_named("pki")),
            provider=infra.vault_provider,
            parent=self,
            depends_on=[self.cert_manager, namespace],
        )
        self.register_outputs({})
