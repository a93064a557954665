"""The bootstrap layers both stacks deploy with Pulumi: infra, operators, PKI (and Vault)."""

from __future__ import annotations

from dataclasses import dataclass

from components.layers.client_certificates import ClientCertificatesComponent
from components.layers.infra import InfraComponent
from components.layers.local_cluster import LocalClusterComponent
from components.layers.operators import OperatorsComponent
from components.layers.pki import PkiComponent
from components.settings.model import Settings
from components.vault.server import VaultComponent


@dataclass(frozen=True)
class Bootstrap:
    infra: InfraComponent
    operators: OperatorsComponent
    pki: PkiComponent
    vault: VaultComponent
    cluster: LocalClusterComponent | None = None


def deploy_bootstrap(settings: Settings) -> Bootstrap:
    # kubernetes.cluster.create (local stack only, enforced by config): our own kind cluster, whose
    # kubeconfig the provider uses; otherwise the provider uses the configured kubectl context.
    cluster = LocalClusterComponent("local-cluster", settings) if settings.kubernetes.cluster.create else None
    infra = InfraComponent(
        "infra",
        settings,
        kubeconfig=cluster.kubeconfig if cluster else None,
        cluster=cluster.cluster if cluster else None,
    )
    operators = OperatorsComponent("operators", settings, infra)
    pki = PkiComponent("pki", settings, infra, depends_on=operators.all)
    if cluster is not None:
        cluster.trust_registry_ca(settings, infra.provider, pki.objects)
    # ingress.clientApps: credentials for external clients, issued by Pulumi in both stacks (not a Flux layer).
    ClientCertificatesComponent("client-certificates", settings, infra, depends_on=[pki])
    vault = VaultComponent("vault", settings, infra, depends_on=[pki, *operators.all])
    return Bootstrap(infra=infra, operators=operators, pki=pki, vault=vault, cluster=cluster)
