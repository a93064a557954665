"""Vault layer (deploy side): Vault's certificates and Helm release, then its two operators.

Order inside the component (every step waits for the previous one):
  1. manifests/vault/            server + PostgreSQL client certificates (issuer-leaf)
  2. Helm release `vault`        HA Raft / standalone, values from chart_values.py
  3. bootstrap()                 init, unseal, admin bootstrap, pulumi-vault configuration (runtime.py)
  4. manifests/vault-operators/  operator ServiceAccounts, CA Secrets, Vault's TokenReview binding
  5. Helm releases               Vault Secrets Operator, vault-config-operator (operator_values.py)

Vault outside this cluster (VaultSettings.placement): with `vault.kubeContext` steps 1-3 run in the
second cluster, after its own cert-manager and PKI (cluster_pki.py); with `vault.externalAddress` they do
not run at all, and step 3 is only the pulumi-vault configuration, logged in with the AppRole that Vault's
operator created (`vaultExternalRoleId`/`vaultExternalSecretId`; without them, nothing: configure_external()).
Step 4 is then manifests/vault-operators-external/ (the same ServiceAccounts plus a token
reviewer, applied first: Vault's Kubernetes auth config needs its token) and CA Secrets Pulumi writes with
the CA of that Vault (trust.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.charts.vault import vault_values
from components.charts.vault_operators import config_operator_values, secrets_operator_values
from components.kube.apply import apply_objects
from components.kube.helm import chart_release
from components.layers.infra import InfraComponent
from components.rendering.layers import layer_named, render
from components.settings import placement
from components.settings.model import Settings
from components.vault import trust
from components.vault.admin_provider import admin_provider, configuration
from components.vault.cluster_pki import VaultClusterPkiComponent
from components.vault.runtime import VaultRuntime

SECRETS_OPERATOR_RELEASE = "vault-secrets-operator"
CONFIG_OPERATOR_RELEASE = "vault-config-operator"


@dataclass(frozen=True)
class SecretRef:
    """Where a Secret lives."""

    namespace: str
    name: str


class VaultComponent(pulumi.ComponentResource):
    """Owns Vault's certificates and Helm release, the Vault Secrets Operator and vault-config-operator
    releases, and the objects they authenticate with.

    Needs: the infra provider(s) and namespaces, the PKI (`issuer-leaf`) and the operators' CRDs (pass
    both in `depends_on`). Exposes `release` (the Vault Helm release), `pods` (pod names), `ca_secret`
    (a Secret whose `ca.crt` verifies Vault's certificate), `address` (what clients dial) and
    `kubernetes_auth` (the arguments of Vault's Kubernetes auth config for this placement, trust.py).

    With `vault.externalAddress` no Vault is deployed (`release` is None) and only the operators are.
    """

    release: k8s.helm.v3.Release | None
    secrets_operator: k8s.helm.v3.Release
    config_operator: k8s.helm.v3.Release

    def __init__(
        self,
        name: str,
        settings: Settings,
        infra: InfraComponent,
        *,
        depends_on: Sequence[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("platform:vault:Vault", name, None, opts)
        ns = settings.namespaces
        self.settings = settings
        self.infra = infra
        self.address = placement.vault_address(settings)
        self.pods = settings.vault.pods
        self.ca_secret = SecretRef(ns.vault, placement.tls_secret(settings))
        self.release = None
        in_app_cluster = settings.vault.in_app_cluster
        operator_namespaces = [
            infra.namespaces[n] for n in (ns.app, ns.vault_secrets_operator, ns.vault_config_operator)
        ]
        if not in_app_cluster:
            # Vault elsewhere: the operators' identities and the token reviewer need no Vault, and Vault's
            # Kubernetes auth config (bootstrap()) needs the reviewer's token, so they come first.
            self.operator_objects = apply_objects(
                "vault-operators-external",
                render(settings, layer_named("vault-operators-external")),
                provider=infra.provider,
                parent=self,
                depends_on=[*depends_on, *operator_namespaces],
            )
        self.kubernetes_auth, self.token_reviewer = trust.kubernetes_auth(
            settings, infra, None if in_app_cluster else self.operator_objects, self
        )

        ready: list[pulumi.Resource] = list(depends_on)
        if not settings.vault.external:
            vault_namespace = infra.vault_namespace
            assert vault_namespace is not None  # InfraComponent creates it whenever Vault is deployed
            issuer: list[pulumi.Resource] = list(depends_on)
            if settings.vault.separate_cluster:
                # `issuer-leaf` of the second cluster: its own cert-manager and PKI layer.
                self.cluster_pki = VaultClusterPkiComponent(
                    "vault-cluster", settings, infra, opts=pulumi.ResourceOptions(parent=self)
                )
                issuer = [self.cluster_pki.cert_manager, self.cluster_pki.issuer]
            self.certificates = apply_objects(
                "vault",
                render(settings, layer_named("vault")),
                provider=infra.vault_provider,
                parent=self,
                depends_on=[*issuer, vault_namespace],
            )
            # The pods mount both certificate Secrets, so the release waits for the certificates.
            self.release = chart_release(
                settings.vault.release_name,
                "vault",
                ns.vault,
                vault_values(settings),
                provider=infra.vault_provider,
                parent=self,
                depends_on=[self.certificates, vault_namespace],
            )
            ready = [self.release, *self.bootstrap()]
        else:
            ready = [*depends_on, *self.configure_external()]

        if in_app_cluster:
            self.operator_objects = apply_objects(
                "vault-operators",
                render(settings, layer_named("vault-operators")),
                provider=infra.provider,
                parent=self,
                depends_on=[*depends_on, *ready, *operator_namespaces],
            )
            operator_trust: list[pulumi.Resource] = [self.operator_objects]
        else:
            # The CA of the Vault the operators talk to, instead of cert-manager Certificates from this
            # cluster's own PKI (which did not sign that Vault's certificate).
            self.ca_secrets = trust.operator_ca_secrets(
                settings,
                infra,
                trust.vault_ca_pem(settings, infra, self.release, self),
                parent=self,
                depends_on=ready,
            )
            operator_trust = [self.operator_objects, *self.ca_secrets, *ready]
        # The VaultConnection's CA Secret must exist before the chart creates it: after the layer.
        self.secrets_operator = chart_release(
            SECRETS_OPERATOR_RELEASE,
            "vault-secrets-operator",
            ns.vault_secrets_operator,
            secrets_operator_values(settings),
            provider=infra.provider,
            parent=self,
            depends_on=[*operator_trust, infra.namespaces[ns.vault_secrets_operator]],
        )
        self.config_operator = chart_release(
            CONFIG_OPERATOR_RELEASE,
            "vault-config-operator",
            ns.vault_config_operator,
            config_operator_values(settings),
            provider=infra.provider,
            parent=self,
            depends_on=[*operator_trust, infra.namespaces[ns.vault_config_operator]],
        )
        self.register_outputs({"address": self.address, "pods": list(self.pods)})

    def bootstrap(self) -> list[pulumi.Resource]:
        """Init, unseal, admin bootstrap and declarative configuration (components/vault/runtime.py).

        Runs after `self.release` exists; the operators' layer and releases wait for what it returns, so
        VSO's first login (Kubernetes auth, transit cache key) finds an initialised, unsealed, configured
        Vault.
        """
        assert self.release is not None
        self.runtime = VaultRuntime(
            "vault-runtime",
            self.settings,
            release=self.release,
            ca_secret_namespace=self.ca_secret.namespace,
            ca_secret_name=self.ca_secret.name,
            kubernetes_provider=self.infra.vault_provider,
            kubernetes_auth=self.kubernetes_auth,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return list(self.runtime.steps)

    def configure_external(self) -> list[pulumi.Resource]:
        """An existing Vault: the same declarative configuration as a deployed one (admin_provider.py), through a
        provider at `vault.externalAddress` that trusts `vault.externalCaCert` and logs in with the AppRole
        Vault's operator created. No init, unseal or bootstrap (that Vault is theirs) and no tunnel.

        Without the AppRole credentials nothing is configured (the README lists what Vault's operator creates
        by hand). Returns what the operators must wait for.
        """
        vault_settings = self.settings.vault
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
        self.provider, _ = admin_provider(
            self.settings,
            ca_pem=vault_settings.external_ca_cert,
            ready=True,
            address=vault_settings.external_address,
            connect=None,
            role_id=vault_settings.external_role_id,
            secret_id=vault_settings.external_secret_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.configuration = configuration(self.settings, self.provider, self.kubernetes_auth, self)
        return [self.configuration]
