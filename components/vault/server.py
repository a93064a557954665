"""Vault server layer: Vault's certificates and Helm release, its init/unseal/bootstrap and configuration,
and the Kubernetes-auth identities Vault trusts.

Order inside the component:
  1. manifests/bootstrap/vault/   server + PostgreSQL client certificates (only cert-manager's CRDs: the
                                  objects apply in parallel with the PKI, cert-manager issues them once it is up)
  2. Helm release `vault`         HA Raft / standalone, values from components/charts/vault.py; after 1, the
                                  PKI (its pods mount the issued Secrets) and the auto-unseal Secret of seal.py
                                  when `vault.seal` is not Shamir; protected and retained
  3. VaultRuntime                 init, unseal, admin bootstrap, pulumi-vault configuration (runtime.py)
  4. manifests/bootstrap/vault-operators/   the ServiceAccounts Vault's Kubernetes-auth roles bind, their CA
                                  Certificates, and the TokenReview (auth-delegator) binding of Vault's own SA;
                                  after the PKI only (none of it talks to Vault), in parallel with 1-3

Vault outside this cluster (`VaultSettings.placement`): with `vault.kubeContext` steps 1-3 run in the second
cluster, after its own cert-manager and PKI (cluster_pki.py); with `vault.externalAddress` they do not run at
all, and step 3 is only the pulumi-vault configuration, logged in with the AppRole that Vault's operator
created (`vaultExternalRoleId`/`vaultExternalSecretId`; without them, nothing). Step 4 is then
manifests/bootstrap/vault-operators-external/ (the same ServiceAccounts plus a token reviewer whose token the
Kubernetes-auth configuration needs), applied first.

The identity layers stay here, not with the operators (components/vault/operators.py): Vault's Kubernetes-auth
configuration needs the reviewer's token before the operators can exist, and moving their objects into
another ConfigGroup would delete and recreate them on existing stacks.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_vault as vault

from components.charts import registry
from components.kube.apply import apply_objects
from components.layers.infra import InfraComponent
from components.layers.options import depends_on_of
from components.rendering.layers import layer_named, render
from components.settings import placement
from components.settings.model import Settings
from components.vault import trust
from components.vault.admin_provider import admin_provider, configuration
from components.vault.cluster_pki import VaultClusterPkiComponent
from components.vault.runtime import VaultRuntime
from components.vault.seal import seal_secret


@dataclass(frozen=True)
class VaultServerArgs:
    settings: Settings
    infra: InfraComponent
    # The PKI layer (`issuer-leaf`): what the release and the identities wait for, beyond `opts.depends_on`.
    pki: pulumi.Resource | None = None
    # cert-manager's release (its CRDs): all Vault's certificates and the identities' CA Certificates need.
    cert_manager: pulumi.Resource | None = None


class VaultServerComponent(pulumi.ComponentResource):
    """Owns Vault's certificates, Helm release, init/unseal/bootstrap and configuration (or only the
    configuration of an existing Vault), and the identities its Kubernetes auth trusts.

    Needs: the infra provider(s) and namespaces, `args.pki` (`issuer-leaf`) and `args.cert_manager` (the
    Certificate CRD); in `opts.depends_on` the NetworkPolicies and what the release needs besides (the
    monitoring CRDs for Vault's ServiceMonitor). Exposes `address` (what clients dial), `ready` (what
    Vault's clients must wait for: an initialised, unsealed, configured Vault and, with Vault elsewhere, the
    identity layer), `identities` (that layer), `ca_pem` (the CA that verifies an outside Vault, None when
    Vault runs here) and `release` (None for an existing Vault).

    The type token is still `platform:vault:Vault` (the component before the server/operators split), so
    every resource it owns keeps its URN on existing stacks.
    """

    release: k8s.helm.v3.Release | None
    runtime: VaultRuntime | None
    identities: k8s.yaml.v2.ConfigGroup
    ca_pem: pulumi.Output[str] | None
    ready: list[pulumi.Resource]

    def __init__(self, name: str, args: VaultServerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:vault:Vault", name, None, opts)
        settings, infra = args.settings, args.infra
        after = depends_on_of(opts)
        issuer = [args.pki] if args.pki is not None else []
        certificate_crd = [args.cert_manager] if args.cert_manager is not None else []
        self.address = placement.vault_address(settings)
        self.release = None
        self.runtime = None
        # The pulumi-vault provider logged in as the admin AppRole (None until Vault is bootstrapped, or for an
        # existing Vault the program does not configure): what reads a Vault secret the program needs.
        self.admin_provider: vault.Provider | None = None
        self.ca_pem = None
        ns = settings.namespaces
        client_namespaces = [infra.namespaces[n] for n in (ns.app, ns.vault_secrets_operator, ns.vault_config_operator)]
        reviewer: k8s.yaml.v2.ConfigGroup | None = None
        if not settings.vault.in_app_cluster:
            # Vault elsewhere: the identities and the token reviewer need no Vault, and Vault's Kubernetes-auth
            # configuration needs the reviewer's token, so they come first.
            reviewer = self._identities(settings, infra, "vault-operators-external", [*after, *client_namespaces])
        kubernetes_auth, self.token_reviewer = trust.kubernetes_auth(settings, infra, reviewer, self)
        if settings.vault.deployed:
            self.ready = self._deploy(settings, infra, kubernetes_auth, after, issuer, certificate_crd)
        else:
            self.ready = [*after, *self._configure_external(settings, kubernetes_auth)]
        if reviewer is not None:
            self.identities = reviewer
            # The CA that signed that Vault's certificate, for the operators' CA Secrets.
            self.ca_pem = trust.vault_ca_pem(settings, infra, self.release, self)
        else:
            # ServiceAccounts, CA Certificates and a ClusterRoleBinding: nothing here talks to Vault.
            self.identities = self._identities(
                settings, infra, "vault-operators", [*after, *certificate_crd, *issuer, *client_namespaces]
            )
        self.register_outputs({"address": self.address, "pods": list(settings.vault.pods)})

    def _identities(
        self, settings: Settings, infra: InfraComponent, layer: str, depends_on: list[pulumi.Resource]
    ) -> k8s.yaml.v2.ConfigGroup:
        return apply_objects(
            layer, render(settings, layer_named(layer)), provider=infra.provider, parent=self, depends_on=depends_on
        )

    def _deploy(
        self,
        settings: Settings,
        infra: InfraComponent,
        kubernetes_auth: trust.KubernetesAuthConfig,
        after: list[pulumi.Resource],
        issuer: list[pulumi.Resource],
        certificate_crd: list[pulumi.Resource],
    ) -> list[pulumi.Resource]:
        """Certificates, release and runtime in the cluster Vault runs in; returns what clients wait for."""
        vault_namespace = infra.vault_namespace
        assert vault_namespace is not None  # InfraComponent creates it whenever Vault is deployed
        crds = certificate_crd or after
        if settings.vault.separate_cluster:
            # `issuer-leaf` of the second cluster: its own cert-manager and PKI layer.
            cluster_pki = VaultClusterPkiComponent(
                "vault-cluster", settings, infra, opts=pulumi.ResourceOptions(parent=self)
            )
            crds = issuer = [cluster_pki.cert_manager, cluster_pki.issuer]
        certificates = apply_objects(
            "vault",
            render(settings, layer_named("vault")),
            provider=infra.vault_provider,
            parent=self,
            depends_on=[*crds, vault_namespace],
        )
        # The pods mount both certificate Secrets, so the release waits for the certificates. Protected and
        # retained: an uninstall deletes the StatefulSet, and a renamed release (vault.releaseName) would start an
        # empty Vault beside the keys of this one (README "Teardown").
        seal = seal_secret(settings, infra.vault_provider, vault_namespace, self)
        self.release = registry.VAULT_SERVER.install(
            settings,
            provider=infra.vault_provider,
            parent=self,
            depends_on=[certificates, *issuer, *after, vault_namespace, *([seal] if seal else [])],
            opts=pulumi.ResourceOptions(protect=True, retain_on_delete=True),
        )
        self.runtime = VaultRuntime(
            "vault-runtime",
            settings,
            release=self.release,
            ca_secret_namespace=settings.namespaces.vault,
            ca_secret_name=placement.tls_secret(settings),
            kubernetes_provider=infra.vault_provider,
            kubernetes_auth=kubernetes_auth,
            kubectl_target=infra.kubectl_target(vault=True),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # VSO's first login (Kubernetes auth, transit cache key) must find a configured Vault.
        self.admin_provider = self.runtime.provider
        return [self.release, *self.runtime.steps]

    def _configure_external(
        self, settings: Settings, kubernetes_auth: trust.KubernetesAuthConfig
    ) -> list[pulumi.Resource]:
        """An existing Vault: the same declarative configuration as a deployed one (admin_provider.py), through a
        provider at `vault.externalAddress` that trusts `vault.externalCaCert` and logs in with the AppRole
        Vault's operator created. No init, unseal or bootstrap (that Vault is theirs) and no tunnel.

        Without the AppRole credentials nothing is configured (the README lists what Vault's operator creates
        by hand). Returns what the operators must wait for.
        """
        vault_settings = settings.vault
        if not vault_settings.configures_external:
            pulumi.log.warn(
                "vault.externalAddress without vaultExternalRoleId/vaultExternalSecretId: the program does not "
                "configure that Vault. Its operator creates the mounts, Kubernetes auth, roles and policies by hand "
                '(README "Where Vault runs"), or an AppRole with the policy '
                "`python -m components.vault_runtime.admin_policy` prints, whose role id and secret id go to "
                "`pulumi config set --secret`.",
                resource=self,
            )
            return []
        assert vault_settings.external_role_id is not None and vault_settings.external_secret_id is not None
        provider, _ = self.admin_provider, _ = admin_provider(
            settings,
            ca_pem=vault_settings.external_ca_cert,
            ready=True,
            address=vault_settings.external_address,
            connect=None,
            role_id=vault_settings.external_role_id,
            secret_id=vault_settings.external_secret_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return [configuration(settings, provider, kubernetes_auth, self)]
