"""Declarative Vault configuration through pulumi-vault: mounts, Kubernetes auth, roles, policies.

These are ordinary Pulumi resources, so a later change (a new role, a tightened policy) shows up as a
clean diff in `pulumi preview`. They run with the scoped `platform-admin` AppRole credential the
bootstrap resource created, never with the root token (revoked during bootstrap).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pulumi
import pulumi_vault as vault

from components.settings import names
from components.settings.model import Settings
from components.vault.trust import KubernetesAuthConfig
from components.vault_runtime.policies import MOUNTS, Role, roles
from components.vault_runtime.policies import managed_policies as policies

__all__ = ["MOUNTS", "OPERATOR_TOKEN_TTL", "Role", "VaultConfiguration", "policies", "roles"]

OPERATOR_TOKEN_TTL = 3600


class VaultConfiguration(pulumi.ComponentResource):
    """Owns Vault's mounts, the transit key of VSO's cache, the Kubernetes auth backend and its
    roles, the operators' ACL policies, and KV entries holding credentials that come from config.

    Needs: a pulumi-vault provider authenticated with the admin AppRole, the ACL policies by name,
    KV entries to write (path -> secret dict Output), and the Kubernetes-auth settings for where Vault
    runs relative to the app cluster.
    """

    def __init__(
        self,
        name: str,
        settings: Settings,
        *,
        provider: vault.Provider,
        policies: Mapping[str, str],
        kv_entries: Mapping[str, pulumi.Output[dict[str, str]]],
        kubernetes_auth: KubernetesAuthConfig,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("platform:vault:Configuration", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        self.mounts = {
            path: vault.Mount(
                f"mount-{path}",
                path=path,
                type=engine,
                options=options or None,
                description=f"platform: {engine} engine",
                opts=child,
            )
            for path, engine, options in MOUNTS
        }
        self.cache_key = vault.transit.SecretBackendKey(
            "vso-client-cache",
            backend=names.TRANSIT_MOUNT,
            name=names.VSO_CACHE_KEY,
            deletion_allowed=False,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.mounts["transit"]])),
        )
        self._kubernetes_auth(kubernetes_auth, child)
        self.policies = {
            policy_name: vault.Policy(f"policy-{policy_name}", name=policy_name, policy=hcl, opts=child)
            for policy_name, hcl in policies.items()
        }
        self.roles = {role.name: self._role(role, child) for role in roles(settings)}
        self.kv_entries = {
            path: vault.kv.Secret(
                f"kv-{path.replace('/', '-')}",
                path=f"{names.KV_V1_MOUNT}/{path}",
                data_json=pulumi.Output.secret(data).apply(json.dumps),
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.mounts["kv"]])),
            )
            for path, data in kv_entries.items()
        }
        self.register_outputs({"mounts": list(self.mounts), "roles": list(self.roles)})

    def _kubernetes_auth(self, kubernetes_auth: KubernetesAuthConfig, child: pulumi.ResourceOptions) -> None:
        self.auth = vault.AuthBackend(
            "kubernetes",
            type="kubernetes",
            path=names.KUBERNETES_AUTH_PATH,
            description="platform: in-cluster workloads",
            opts=child,
        )
        # Same cluster: Vault's own pod token and CA review tokens; elsewhere a reviewer token of the app
        # cluster and its API CA (trust.kubernetes_auth decides).
        self.auth_config = vault.kubernetes.AuthBackendConfig(
            "kubernetes",
            backend=self.auth.path,
            kubernetes_host=kubernetes_auth.kubernetes_host,
            disable_local_ca_jwt=kubernetes_auth.disable_local_ca_jwt,
            token_reviewer_jwt=kubernetes_auth.token_reviewer_jwt,
            kubernetes_ca_cert=kubernetes_auth.kubernetes_ca_cert,
            opts=child,
        )

    def _role(self, role: Role, child: pulumi.ResourceOptions) -> vault.kubernetes.AuthBackendRole:
        depends: list[pulumi.Resource] = [self.auth_config]
        if role.policy in self.policies:
            depends.append(self.policies[role.policy])
        return vault.kubernetes.AuthBackendRole(
            f"role-{role.name}",
            backend=self.auth.path,
            role_name=role.name,
            bound_service_account_names=list(role.service_accounts),
            bound_service_account_namespaces=list(role.namespaces),
            token_policies=[role.policy],
            token_ttl=OPERATOR_TOKEN_TTL,
            token_max_ttl=OPERATOR_TOKEN_TTL,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=depends)),
        )
