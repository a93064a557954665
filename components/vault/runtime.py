"""Vault runtime: initialise, unseal and bootstrap the deployed Vault, then configure it declaratively.

Order (each step waits for the previous one):
  1. VaultInit       `sys/init` once; shares and root token become secret outputs the engine persists
                     before anything else runs (protected: deleting it would only forget the keys)
  2. VaultUnseal     every `pulumi up`: unseals only sealed pods; no diff when all are unsealed
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
from components.kube.kind_config import state_directory
from components.kube.read import decoded, read_secret_after
from components.settings.model import Settings
from components.settings.names import VAULT_PORT
from components.vault import trust
from components.vault.admin_provider import admin_provider, configuration
from components.vault.configuration import VaultConfiguration
from components.vault_runtime import tunnel
from components.vault_runtime.admin_policy import admin_policy_for
from components.vault_runtime.providers import VaultBootstrap, VaultInit, VaultUnseal

UNSEAL_TIMEOUT_SECONDS = 300
ADMIN_CIDRS = ("127.0.0.1/32", "::1/128")


def kube_target(settings: Settings) -> dict[str, str]:
    """Which kubeconfig/context reaches the Vault pods from where `pulumi up` runs."""
    if settings.vault.kube_context:
        return {"kube_context": settings.vault.kube_context}
    cluster = settings.kubernetes.cluster
    if cluster.create:
        # The kind cluster's own kubeconfig (components/kind_provider.py writes it there).
        return {
            "kube_context": f"kind-{cluster.name}",
            "kubeconfig": str(state_directory(cluster.name) / "kubeconfig"),
        }
    return {"kube_context": settings.kubernetes.context}


def connection_props(settings: Settings, ca_pem: pulumi.Input[str]) -> dict[str, Any]:
    """How the dynamic providers reach Vault's pods (components/vault_runtime/transport.py reads it)."""
    return {
        **kube_target(settings),
        "namespace": settings.namespaces.vault,
        "pods": list(settings.vault.pods),
        "ca_pem": ca_pem,
        "port": VAULT_PORT,
    }


class VaultRuntime(pulumi.ComponentResource):
    """Owns Vault's init, unseal and admin bootstrap (dynamic providers), the pulumi-vault provider and the
    declarative Vault configuration.

    Needs: the Vault Helm release (pods exist), the Secret whose `ca.crt` verifies Vault's TLS
    certificate, the Kubernetes provider of the cluster Vault runs in (to read that Secret), and the
    Kubernetes-auth settings for where Vault runs (trust.kubernetes_auth).
    `kubectl` must be on PATH where `pulumi up` runs (port-forwards; no secret in their arguments).
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
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("platform:vault:Runtime", name, None, opts)
        vault_settings = settings.vault
        ca = read_secret_after("vault-ca", ca_secret_namespace, ca_secret_name, release, kubernetes_provider, self)
        ca_pem = ca.data.apply(decoded("ca.crt"))
        connection = connection_props(settings, ca_pem)
        self.init = VaultInit(
            "vault-init",
            connection=connection,
            secret_shares=vault_settings.key_shares,
            secret_threshold=vault_settings.key_threshold,
            pgp_keys=list(vault_settings.pgp_keys) or None,
            root_token_pgp_key=vault_settings.root_token_pgp_key or None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[release], protect=True),
        )
        self.unseal = VaultUnseal(
            "vault-unseal",
            connection=connection,
            # With PGP the init output is encrypted for its holders: they supply decrypted shares.
            keys=vault_settings.unseal_keys if vault_settings.unseal_keys is not None else self.init.keys_b64,
            threshold=vault_settings.key_threshold,
            timeout_seconds=UNSEAL_TIMEOUT_SECONDS,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.init]),
        )
        self.steps: list[pulumi.Resource] = [self.init, self.unseal]
        self.bootstrap: VaultBootstrap | None = None
        self.provider: vault.Provider | None = None
        self.configuration: VaultConfiguration | None = None
        root_token = vault_settings.root_token
        if root_token is None and vault_settings.root_token_pgp_key:
            pulumi.log.warn(
                "vault.rootTokenPgpKey is set: the initial root token is encrypted, so the admin bootstrap and "
                "the Vault configuration wait until you decrypt it and run "
                "`pulumi config set --secret vaultRootToken <token>`, then `pulumi up` again.",
                resource=self,
            )
            self.register_outputs({})
            return
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

        # No role id yet (first preview) or a mock run: nothing to connect to, so no tunnel.
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
