"""The pulumi-vault provider the program configures Vault with, and that configuration, for every placement.

One construction for both ways in:
  - a Vault this program deployed (runtime.py): the `platform-admin` AppRole its bootstrap created, reached
    through the port-forward on vault.localPort (tunnel.py);
  - an existing Vault (`vault.externalAddress` + `vaultExternalRoleId`/`vaultExternalSecretId`, component.py):
    the AppRole its operator created with the policy `python -m components.vault_runtime.admin_policy` prints,
    reached directly at the external address.
Either way the provider logs in with `auth/approle/login`, never asks for a child token (the admin policy
grants no `auth/token/create`), verifies TLS with a CA file (pulumi-vault takes CA paths only), and drives
the same VaultConfiguration.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_vault as vault

from components.kube.read import computed
from components.settings.model import Settings
from components.vault.configuration import VaultConfiguration, policies
from components.vault.external_credentials import kv_entries
from components.vault.trust import KubernetesAuthConfig
from components.vault_runtime import tunnel
from components.vault_runtime.admin_policy import ADMIN_APPROLE_PATH


def admin_provider(
    settings: Settings,
    *,
    ca_pem: pulumi.Input[str],
    ready: pulumi.Input[Any],
    address: str,
    connect: Callable[[str], str] | None,
    role_id: pulumi.Input[str],
    secret_id: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> tuple[vault.Provider, pulumi.Output[str]]:
    """The AppRole-authenticated pulumi-vault provider, and the address it uses.

    `address` is what the provider dials. Once `ready` and `ca_pem` are known and non-empty, the CA is written
    to `.vault/<stack>-ca.pem` (the provider's `ca_cert_file`) and `connect(ca_pem)` runs (e.g. opens the
    tunnel) and returns the address; before that (a mock run with unknown outputs) nothing is written or opened.
    The address Output resolves only after the file exists, and the provider's configuration waits for it.

    In a preview with a `connect` (a tunnel) the address stays computed and nothing is written or opened: the
    engine then leaves the provider unconfigured, and its resources preview as changes it cannot compute
    instead of failing without the port-forward right (README "CI"). An address that needs no tunnel
    (`connect` None: an existing Vault) is used in previews too.
    """
    ca_file = tunnel.ca_file_path(settings.stack)

    def prepare(args: list[Any]) -> str:
        is_ready, pem = args
        if not is_ready or not pem:
            return address
        tunnel.write_ca_file(ca_file, pem)
        return connect(pem) if connect is not None else address

    inputs = pulumi.Output.all(ready, ca_pem)
    # `prepare` is not even applied in a tunnelled preview: an apply runs whenever its inputs are known.
    provider_address = computed(inputs) if settings.preview and connect is not None else inputs.apply(prepare)
    provider = vault.Provider(
        "vault",
        address=provider_address,
        ca_cert_file=str(ca_file),
        # A child token would need auth/token/create, which the admin policy does not grant.
        skip_child_token=True,
        auth_login=vault.ProviderAuthLoginArgs(
            path=f"auth/{ADMIN_APPROLE_PATH}/login",
            parameters={"role_id": role_id, "secret_id": secret_id},
        ),
        opts=opts,
    )
    return provider, provider_address


def configuration(
    settings: Settings,
    provider: vault.Provider,
    kubernetes_auth: KubernetesAuthConfig,
    parent: pulumi.Resource,
) -> VaultConfiguration:
    """Mounts, Kubernetes auth and its roles, ACL policies and config-provided KV entries (configuration.py)."""
    return VaultConfiguration(
        "vault-configuration",
        settings,
        provider=provider,
        policies=policies(settings),
        kv_entries=kv_entries(settings),
        kubernetes_auth=kubernetes_auth,
        opts=pulumi.ResourceOptions(parent=parent),
    )
