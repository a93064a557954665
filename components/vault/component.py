"""Vault layer (deploy side): Vault's certificates and Helm release, then its two operators.

Order inside the component (every step waits for the previous one):
  1. manifests/vault/            server + PostgreSQL client certificates (issuer-leaf)
  2. Helm release `vault`        HA Raft / standalone, values from chart_values.py
  3. bootstrap()                 init, unseal, admin bootstrap, pulumi-vault configuration (runtime.py)
  4. manifests/vault-operators/  operator ServiceAccounts, CA Secrets, Vault's TokenReview binding
  5. Helm releases               Vault Secrets Operator, vault-config-operator (operator_values.py)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.config import Settings
from components.helm import chart_release
from components.infra import InfraComponent
from components.k8s_apply import apply_objects
from components.layers import layer_named, render
from components.vault import contract
from components.vault.chart_values import tls_secret, vault_values
from components.vault.operator_values import config_operator_values, secrets_operator_values
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
    (a Secret whose `ca.crt` verifies Vault's certificate) and `address` (what clients dial).

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
        self.address = contract.service_address(settings)
        self.pods = settings.vault.pods
        self.ca_secret = SecretRef(ns.vault, tls_secret(settings))
        self.release = None

        ready: list[pulumi.Resource] = list(depends_on)
        if not settings.vault.external:
            vault_namespace = infra.vault_namespace
            assert vault_namespace is not None  # InfraComponent creates it whenever Vault is deployed
            self.certificates = apply_objects(
                "vault",
                render(settings, layer_named("vault")),
                provider=infra.vault_provider,
                parent=self,
                depends_on=[*depends_on, vault_namespace],
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

        operator_namespaces = [
            infra.namespaces[n] for n in (ns.app, ns.vault_secrets_operator, ns.vault_config_operator)
        ]
        self.operator_objects = apply_objects(
            "vault-operators",
            render(settings, layer_named("vault-operators")),
            provider=infra.provider,
            parent=self,
            depends_on=[*depends_on, *ready, *operator_namespaces],
        )
        # The VaultConnection's CA Secret must exist before the chart creates it: after the layer.
        self.secrets_operator = chart_release(
            SECRETS_OPERATOR_RELEASE,
            "vault-secrets-operator",
            ns.vault_secrets_operator,
            secrets_operator_values(settings),
            provider=infra.provider,
            parent=self,
            depends_on=[self.operator_objects, infra.namespaces[ns.vault_secrets_operator]],
        )
        self.config_operator = chart_release(
            CONFIG_OPERATOR_RELEASE,
            "vault-config-operator",
            ns.vault_config_operator,
            config_operator_values(settings),
            provider=infra.provider,
            parent=self,
            depends_on=[self.operator_objects, infra.namespaces[ns.vault_config_operator]],
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
            opts=pulumi.ResourceOptions(parent=self),
        )
        return list(self.runtime.steps)
