"""The bootstrap layers both stacks deploy with Pulumi: infra, operators, PKI, Vault server and operators."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.layers.client_certificates import ClientCertificatesComponent
from components.layers.infra import InfraArgs, InfraComponent
from components.layers.local_cluster import LocalClusterComponent
from components.layers.operators import OperatorsComponent
from components.layers.options import LayerArgs
from components.layers.pki import PkiComponent
from components.settings.model import Settings
from components.vault.operators import VaultOperatorsArgs, VaultOperatorsComponent
from components.vault.server import VaultServerArgs, VaultServerComponent


@dataclass(frozen=True)
class Bootstrap:
    infra: InfraComponent
    operators: OperatorsComponent
    pki: PkiComponent
    vault: VaultServerComponent
    vault_operators: VaultOperatorsComponent
    cluster: LocalClusterComponent | None = None

    @property
    def all(self) -> list[pulumi.Resource]:
        """What the application layers (local) or the Flux sync objects (remote) wait for."""
        return [*self.operators.all, self.pki, self.vault, self.vault_operators]


def after(*resources: pulumi.Resource) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(depends_on=list(resources))


def deploy_bootstrap(settings: Settings) -> Bootstrap:
    # kubernetes.cluster.create (local stack only, enforced by config): our own kind cluster, whose
    # kubeconfig the provider uses; otherwise the provider uses the configured kubectl context.
    cluster = LocalClusterComponent("local-cluster", settings) if settings.kubernetes.cluster.create else None
    infra = InfraComponent(
        "infra",
        InfraArgs(
            settings, kubeconfig=cluster.kubeconfig if cluster else None, cluster=cluster.cluster if cluster else None
        ),
    )
    layer = LayerArgs(settings, infra)
    operators = OperatorsComponent("operators", layer)
    pki = PkiComponent("pki", layer, after(*operators.all))
    if cluster is not None:
        cluster.trust_registry_ca(settings, infra.provider, pki.objects)
    # ingress.clientApps: credentials for external clients, issued by Pulumi in both stacks (not a Flux layer).
    ClientCertificatesComponent("client-certificates", layer, after(pki))
    vault = VaultServerComponent("vault", VaultServerArgs(settings, infra), after(pki, *operators.all))
    vault_operators = VaultOperatorsComponent(
        "vault-operators", VaultOperatorsArgs(settings, infra, vault), after(pki, *operators.all)
    )
    return Bootstrap(infra, operators, pki, vault, vault_operators, cluster)
