"""Vault operators layer: the Vault Secrets Operator and vault-config-operator, and their trust in Vault's CA.

Both operators reach Vault at `VaultServerComponent.address` and verify it with the CA Secret
`names.VAULT_CA_SECRET` in their own namespace: with Vault in this cluster a cert-manager Certificate in the
identity layer the server applies; with Vault elsewhere a Secret Pulumi writes here with that Vault's CA
(components/vault/trust.py). The releases come from components/charts/registry.py (`VAULT_OPERATORS`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.charts import registry
from components.layers.infra import InfraComponent
from components.layers.options import depends_on_of
from components.settings.model import Settings
from components.vault import trust
from components.vault.server import VaultServerComponent


@dataclass(frozen=True)
class VaultOperatorsArgs:
    settings: Settings
    infra: InfraComponent
    server: VaultServerComponent


class VaultOperatorsComponent(pulumi.ComponentResource):
    """Owns the Vault Secrets Operator and vault-config-operator releases and, when Vault runs outside this
    cluster, the CA Secrets they (and the Vault CSI provider) verify it with.

    Needs: the Vault server layer's identities (the ServiceAccounts its Kubernetes auth binds and the CA
    Secrets; `server.ca_pem` and `server.ready` when Vault is elsewhere) and in `opts.depends_on` the
    NetworkPolicies and the CRDs their charts use (cert-manager's for VCO's webhook certificates, the monitoring
    CRDs for their ServiceMonitors). Not Vault itself: both controllers start without it and log in per
    object, retrying, so they install while Vault initialises; the layers whose workloads need Vault's
    roles wait for `server.ready` (components/layers/app_layers.py). Resources created before the split
    keep their state through an alias to their former parent, the server component.
    """

    ca_secrets: list[k8s.core.v1.Secret]
    releases: dict[str, k8s.helm.v3.Release]

    def __init__(self, name: str, args: VaultOperatorsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:vault:Operators", name, None, opts)
        settings, infra, server = args.settings, args.infra, args.server
        moved = pulumi.ResourceOptions(aliases=[pulumi.Alias(parent=server)])
        self.ca_secrets = []
        trusted: list[pulumi.Resource] = [server.identities]
        if server.ca_pem is not None:
            # Instead of cert-manager Certificates from this cluster's own PKI (which did not sign that Vault).
            self.ca_secrets = trust.operator_ca_secrets(
                settings, infra, server.ca_pem, parent=self, depends_on=server.ready, opts=moved
            )
            trusted = [server.identities, *self.ca_secrets, *server.ready]
        self.releases = {}
        for chart in registry.VAULT_OPERATORS:
            namespace = infra.namespaces[chart.namespace(settings)]
            # The VaultConnection's CA Secret must exist before the chart creates it: after the trust.
            self.releases[chart.name] = chart.install(
                settings,
                provider=infra.provider,
                parent=self,
                depends_on=[*depends_on_of(opts), *trusted, namespace],
                opts=moved,
            )
        self.register_outputs({"releases": list(self.releases)})
