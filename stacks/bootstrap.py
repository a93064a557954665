"""The bootstrap layers both stacks deploy with Pulumi: infra, NetworkPolicies, operators, PKI, Vault server and
operators. Each waits for what it needs, nothing more (README "First deploy: order and timing"):

  namespaces -> NetworkPolicies -> every Helm release (each also after the releases of its `after`)
  cert-manager -> PKI, Vault's certificates, the operators' identities (CA Certificates)
  Vault's certificates + PKI -> Vault release -> init -> unseal -> bootstrap -> configuration
  identities -> Vault Secrets Operator, vault-config-operator (in parallel with Vault's start)
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.layers.client_certificates import ClientCertificatesComponent
from components.layers.infra import InfraArgs, InfraComponent
from components.layers.local_cluster import LocalClusterComponent
from components.layers.network_policies import NetworkPoliciesComponent
from components.layers.operators import OperatorsComponent
from components.layers.options import LayerArgs
from components.layers.pki import PkiComponent
from components.rendering import layers
from components.settings.model import AntiAffinity, Settings
from components.vault.operators import VaultOperatorsArgs, VaultOperatorsComponent
from components.vault.server import VaultServerArgs, VaultServerComponent


@dataclass(frozen=True)
class Bootstrap:
    infra: InfraComponent
    operators: OperatorsComponent
    pki: PkiComponent
    vault: VaultServerComponent
    vault_operators: VaultOperatorsComponent
    policies: NetworkPoliciesComponent
    cluster: LocalClusterComponent | None = None

    @property
    def all(self) -> list[pulumi.Resource]:
        """What the Flux sync objects (remote) wait for: Flux applies the application layers only once every
        bootstrap layer is there."""
        return [*self.policies.all, *self.operators.all, self.pki, self.vault, self.vault_operators]

    @property
    def releases(self) -> dict[str, pulumi.Resource]:
        """Every Helm release of the app cluster by name: the application layers wait for their CRDs' releases."""
        return {**self.operators.releases, **self.vault_operators.releases}


def after(*resources: pulumi.Resource) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(depends_on=list(resources))


def warn_about_unknowns(settings: Settings) -> None:
    """What config cannot check because the program does not know the cluster: said once, before deploying."""
    vault, cluster = settings.vault, settings.kubernetes.cluster
    if vault.in_app_cluster and vault.anti_affinity is AntiAffinity.REQUIRED and vault.ha and not cluster.create:
        # Its own kind cluster's nodes are counted by config (refused there); any other cluster's are unknown.
        pulumi.log.warn(
            f"vault.antiAffinity: required schedules each of the {vault.replicas} Vault pods on its own node: the "
            f"cluster needs at least {vault.replicas} schedulable nodes, or the last pod stays Pending and unseal "
            "waits. With fewer: `pulumi config set --path vault.antiAffinity preferred`."
        )
    if not layers.deploys_app_workloads(settings):
        pulumi.log.warn(
            "app.imageSource is not set and the in-cluster registry starts empty: the migrations Job and the app "
            "Deployment are not deployed (they would wait for images nothing pushes). Set app.imageSource "
            '(README "Configuration") or use an external registry holding app.image and app.migrationsImage.'
        )


def deploy_bootstrap(settings: Settings) -> Bootstrap:
    warn_about_unknowns(settings)
    # kubernetes.cluster.create (local stack only, enforced by config): our own kind cluster, whose
    # kubeconfig the provider uses; otherwise the provider uses the configured kubectl context.
    cluster = LocalClusterComponent("local-cluster", settings) if settings.kubernetes.cluster.create else None
    infra = InfraComponent(
        "infra",
        InfraArgs(
            settings,
            kubeconfig=cluster.kubeconfig if cluster else None,
            cluster=cluster.cluster if cluster else None,
            cluster_state_dir=cluster.state_dir if cluster else None,
        ),
    )
    layer = LayerArgs(settings, infra)
    # Right after the namespaces, before any workload: default-deny with every allow rule already in place.
    policies = NetworkPoliciesComponent("network-policies", layer)
    operators = OperatorsComponent("operators", layer, after(*policies.all))
    cert_manager = operators.releases["cert-manager"]
    # Vault's chart and the Vault operators' charts create ServiceMonitors: the monitoring CRDs.
    monitoring = operators.releases["kube-prometheus-stack"]
    pki = PkiComponent("pki", layer, after(cert_manager))
    if cluster is not None:
        cluster.trust_registry_ca(settings, infra.provider, pki.objects)
    # ingress.clientApps: credentials for external clients, issued by Pulumi in both stacks (not a Flux layer).
    ClientCertificatesComponent("client-certificates", layer, after(pki))
    vault = VaultServerComponent(
        "vault", VaultServerArgs(settings, infra, pki, cert_manager), after(monitoring, *policies.all)
    )
    vault_operators = VaultOperatorsComponent(
        "vault-operators", VaultOperatorsArgs(settings, infra, vault), after(cert_manager, monitoring, *policies.all)
    )
    return Bootstrap(infra, operators, pki, vault, vault_operators, policies, cluster)
