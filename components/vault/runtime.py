"""Vault runtime: initialise, unseal and bootstrap the deployed Vault, then configure it declaratively.

Order (each step waits for the previous one):
  1. VaultInit       `sys/init` once; shares and root token become secret outputs the engine persists
                     before anything else runs (protected: deleting it would only forget the keys)
  2. VaultUnseal     every `pulumi up`: unseals only sealed pods; no diff when all are unsealed (a preview never
                     contacts Vault). Auto-unseal seal: it only waits for the seal; PGP shares without
                     vaultUnsealKeys: asked for (VAULT_UNSEAL_KEYS or a prompt) only when a pod is sealed
  3. VaultBootstrap  once, with the root token: the file audit device, the `platform-admin` AppRole (secret_id
     TTL vault.adminSecretIdTtl, loopback-bound); its child step `<name>-revoke-root` revokes the root token
     only after the credentials are in the state. Later runs renew the secret_id after half its TTL with the
     admin's own login; `<name>-prune-secret-ids` then destroys the older ones
  4. pulumi-vault    a provider logged in with that AppRole (through a port-forward on vault.localPort)
                     drives VaultConfiguration: mounts, Kubernetes auth, roles, policies, KV entries
Later runs need no root token. Break-glass (a new root token from the unseal shares) is in the README.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_vault as vault

from components.charts.vault import AUDIT_PATH
from components.kube.read import decoded, secret_data_after
from components.settings.model import Settings, VaultSettings
from components.settings.names import VAULT_PORT
from components.vault import trust
from components.vault.admin_provider import admin_provider, configuration
from components.vault.configuration import VaultConfiguration
from components.vault_runtime import tunnel
from components.vault_runtime.admin_policy import admin_policy_for
from components.vault_runtime.providers import VaultBootstrap, VaultInit, VaultUnseal

UNSEAL_TIMEOUT_SECONDS = 300
ADMIN_CIDRS = ("127.0.0.1/32", "::1/128")


def connection_props(settings: Settings, kubectl_target: dict[str, Any], ca_pem: pulumi.Input[str]) -> dict[str, Any]:
    """How the dynamic providers reach Vault's pods (components/vault_runtime/transport.py reads it);
    `kubectl_target` is InfraComponent.kubectl_target(vault=True)."""
    return {
        **kubectl_target,
        "namespace": settings.namespaces.vault,
        "pods": list(settings.vault.pods),
        "ca_pem": ca_pem,
        "port": VAULT_PORT,
    }


def _ca_pem(
    settings: Settings,
    namespace: str,
    name: str,
    release: pulumi.CustomResource,
    provider: k8s.Provider,
    parent: pulumi.Resource,
) -> pulumi.Output[str]:
    """The `ca.crt` of the Secret that verifies Vault's TLS, read once the release exists. Computed in a
    preview (no Secret read): the steps' connection is then unknown, so none of their Diffs dials Vault."""
    data = secret_data_after("vault-ca", namespace, name, release, provider, parent, preview=settings.preview)
    return data.apply(decoded("ca.crt"))


def unseal_keys(vault_settings: VaultSettings, init: VaultInit) -> pulumi.Input[Any]:
    """The shares VaultUnseal gets: the config's decrypted ones, none (auto-unseal, or PGP shares asked for on
    demand), or init's own."""
    if vault_settings.seal.auto:
        return []
    if vault_settings.unseal_keys is not None:
        return vault_settings.unseal_keys
    return [] if vault_settings.pgp_keys else init.keys_b64


class VaultRuntime(pulumi.ComponentResource):
    """Owns Vault's init, unseal and admin bootstrap (dynamic providers), the pulumi-vault provider and the
    declarative Vault configuration.

    Needs: the Vault Helm release (pods exist), the Secret whose `ca.crt` verifies Vault's TLS
    certificate, the Kubernetes provider of the cluster Vault runs in (to read that Secret), how kubectl
    reaches that cluster (`kubectl_target`), and the Kubernetes-auth settings for where Vault runs
    (trust.kubernetes_auth).
    `kubectl` must be on PATH where `pulumi up` runs (port-forwards; no secret in their arguments). A preview
    (`settings.preview`) reads no Secret and opens no port-forward: the CA, hence the steps' connection and
    the pulumi-vault provider's address, stay computed.
    """

    def __init__(
        self,
        name: str,
        settings: Settings,
        *,
        release: pulumi.Resource,
        ca_secret_namespace: str,
        ca_secret_name: str,
        kubernetes_provider: k8s.Provider,
        kubernetes_auth: trust.KubernetesAuthConfig,
        kubectl_target: dict[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("platform:vault:Runtime", name, None, opts)
        vault_settings = settings.vault
        ca_pem = _ca_pem(settings, ca_secret_namespace, ca_secret_name, release, kubernetes_provider, self)
        connection = connection_props(settings, kubectl_target, ca_pem)
        self.init, self.unseal = self._init_and_unseal(vault_settings, connection, release, preview=settings.preview)
        self.steps: list[pulumi.Resource] = [self.init, self.unseal]
        self.bootstrap: VaultBootstrap | None = None
        self.provider: vault.Provider | None = None
        self.configuration: VaultConfiguration | None = None
        root_token = vault_settings.root_token
        if root_token is None and vault_settings.root_token_pgp_key:
            # The bootstrap stays registered either way: leaving it out once the token is removed again would
            # delete it and the whole Vault configuration. Its diff ignores root_token, so only a first create
            # uses this (encrypted, hence refused) token.
            pulumi.log.warn(
                "vault.rootTokenPgpKey is set: the initial root token is encrypted. The first admin bootstrap "
                "needs it decrypted: `pulumi config set --secret vaultRootToken <token>`, then `pulumi up`; "
                "remove it once vault-bootstrap exists (it is revoked then).",
                resource=self,
            )
        self.bootstrap = self._bootstrap(settings, connection, root_token)
        self.steps.append(self.bootstrap)
        address = self._configure(settings, connection, ca_pem, kubernetes_auth)
        self.register_outputs({"localAddress": address})

    def _bootstrap(
        self, settings: Settings, connection: dict[str, Any], root_token: pulumi.Output[str] | None
    ) -> VaultBootstrap:
        """The admin AppRole (and the file audit device) with the root token, once; see README "The admin identity"."""
        return VaultBootstrap(
            "vault-bootstrap",
            connection=connection,
            root_token=root_token if root_token is not None else self.init.root_token,
            admin_policy=admin_policy_for(settings),
            secret_id_ttl=settings.vault.admin_secret_id_ttl_seconds,
            # Every request of the program reaches Vault through `kubectl port-forward`, which dials the pod's
            # loopback: the admin's secret_id and tokens work from there only (a leaked one needs pod access too).
            secret_id_bound_cidrs=ADMIN_CIDRS,
            audit_file_path=f"{AUDIT_PATH}/audit.log",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.unseal]),
        )

    def _init_and_unseal(
        self, vault_settings: VaultSettings, connection: dict[str, Any], release: pulumi.Resource, *, preview: bool
    ) -> tuple[VaultInit, VaultUnseal]:
        """VaultInit (recovery shares under an auto-unseal seal) and VaultUnseal (waits for that seal, or
        unseals with shares: init's, the config's, or asked for on demand with PGP)."""
        auto_unseal = vault_settings.seal.auto
        init = VaultInit(
            "vault-init",
            connection=connection,
            secret_shares=vault_settings.key_shares,
            secret_threshold=vault_settings.key_threshold,
            pgp_keys=list(vault_settings.pgp_keys) or None,
            root_token_pgp_key=vault_settings.root_token_pgp_key or None,
            auto_unseal=auto_unseal,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[release], protect=True),
        )
        unseal = VaultUnseal(
            "vault-unseal",
            connection=connection,
            keys=unseal_keys(vault_settings, init),
            threshold=vault_settings.key_threshold,
            timeout_seconds=UNSEAL_TIMEOUT_SECONDS,
            auto_unseal=auto_unseal,
            # PGP: the init output is encrypted for its holders; without vaultUnsealKeys they are asked for
            # decrypted shares (VAULT_UNSEAL_KEYS or a prompt) only when a pod is sealed.
            shares_on_demand=bool(vault_settings.pgp_keys) and not auto_unseal and vault_settings.unseal_keys is None,
            live_check=not preview,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[init]),
        )
        return init, unseal

    def _configure(
        self,
        settings: Settings,
        connection: dict[str, Any],
        ca_pem: pulumi.Output[str],
        kubernetes_auth: trust.KubernetesAuthConfig,
    ) -> pulumi.Output[str]:
        """The pulumi-vault provider, logged in with the bootstrap's AppRole through a port-forward to the
        active node, and the declarative configuration through it. Returns the provider's local address."""
        assert self.bootstrap is not None
        vault_settings = settings.vault
        tunnel_connection = {key: value for key, value in connection.items() if key != "ca_pem"}
        # The `-active` Service exists only in HA mode; standalone has one pod behind the plain Service.
        service = f"svc/{vault_settings.release_name}" + ("-active" if vault_settings.ha else "")

        def open_tunnel(pem: str) -> str:
            from components.vault_runtime.transport import VaultConnection

            conn = VaultConnection.from_props({**tunnel_connection, "ca_pem": pem})
            return tunnel.open_tunnel(conn, service, vault_settings.local_port)

        # No role id yet (a mock run) or a preview (admin_provider keeps the address computed): no tunnel.
        self.provider, address = admin_provider(
            settings,
            ca_pem=ca_pem,
            ready=self.bootstrap.role_id,
            address=tunnel.LOCAL_ADDRESS.format(port=vault_settings.local_port),
            connect=open_tunnel,
            role_id=self.bootstrap.role_id,
            secret_id=self.bootstrap.secret_id,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.bootstrap]),
        )
        self.configuration = configuration(settings, self.provider, kubernetes_auth, self)
        self.steps.append(self.configuration)
        return address
