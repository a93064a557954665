"""Pulumi dynamic providers for Vault init, unseal, admin bootstrap and root-token revocation: the public face.

Each provider lives in its own module (``init_provider``, ``unseal_provider``, ``bootstrap_provider``,
``revoke_provider``; the logic in ``initialise``, ``unseal``, ``bootstrap``, ``revoke``); this module
re-exports them. It must keep doing so: stacks created before the split hold these providers pickled as
``components.vault_runtime.providers.<Class>`` (dill stores classes by reference).

Usage (all arguments keyword-only; ``connection`` is a :class:`~components.vault_runtime.transport.VaultConnection`
or the equivalent dict ``{"kube_context", "namespace", "pods", "ca_pem", "port"}``; ``kube_context=""`` is the
current context; ``pods`` must be plain strings, the other values may be Outputs, e.g. the CA PEM)::

    conn = VaultConnection(kube_context=ctx, namespace="vault", pods=settings.vault.pods, ca_pem=ca_pem)

    init = VaultInit("vault-init", connection=conn,
                     secret_shares=5, secret_threshold=3,
                     pgp_keys=None,              # or [one base64 binary public key per share]
                     root_token_pgp_key=None,    # or a base64 binary public key
                     adopt_existing=False,
                     opts=ResourceOptions(parent=..., depends_on=[vault_release], protect=True))
    # init.keys, init.keys_b64, init.root_token: secret Outputs, persisted by the engine before anything
    # later runs (additional_secret_outputs), so a failure in unseal/bootstrap never loses them.

    unseal = VaultUnseal("vault-unseal", connection=conn,
                         keys=settings.vault.unseal_keys or init.keys_b64,  # decrypted shares with PGP
                         threshold=3, timeout_seconds=300,
                         opts=ResourceOptions(parent=..., depends_on=[init]))

    boot = VaultBootstrap("vault-bootstrap", connection=conn,
                          root_token=init.root_token,  # or a decrypted/break-glass token from config
                          admin_policy=None,      # default: admin_policy.admin_policy_hcl()
                          approle_path="approle", role_name="platform-admin", policy_name="platform-admin",
                          token_ttl=3600, token_max_ttl=14400, secret_id_ttl=0,
                          opts=ResourceOptions(parent=..., depends_on=[unseal]))
    # boot.role_id, boot.secret_id (secret); boot.revoke (child VaultRootTokenRevoke "<name>-revoke-root")
    # revokes the root token once they are in the state
    # pulumi-vault: vault.Provider(address=..., skip_child_token=True,
    #     auth_login=vault.ProviderAuthLoginArgs(path="auth/approle/login",
    #                                            parameters={"role_id": boot.role_id, "secret_id": boot.secret_id}))

Behaviour:
- **VaultInit** runs ``sys/init`` on ``pods[0]`` at create, and nothing else: no Vault call may fail after it
  in the same step, so the engine always records the keys. Diff never re-initialises: changing shares,
  threshold or PGP keys later is reported and the update fails with the rekey instructions. An initialised
  Vault with no state raises the recovery path; with ``adopt_existing=True`` it is adopted instead (empty
  keys: supply ``vaultUnsealKeys`` and a break-glass root token). Delete is a no-op (never de-initialise),
  so protect the resource.
- **PGP** (``pgp_keys``): the shares in ``keys``/``keys_b64`` are encrypted for their holders and cannot
  unseal. The program then passes the decrypted shares (config secret ``platform:vaultUnsealKeys``, a list
  or a JSON list string) as VaultUnseal ``keys``, or none with ``shares_on_demand=True``: they are asked for
  (``VAULT_UNSEAL_KEYS``, else a prompt on the terminal) only when a pod is sealed, and never stored.
  Likewise ``root_token_pgp_key`` encrypts ``root_token``: pass the decrypted token to VaultBootstrap.
- **Auto-unseal** (``auto_unseal=True`` on VaultInit and VaultUnseal): init sends recovery shares and
  returns ``recovery_keys``/``recovery_keys_b64``; unseal sends no share and waits for the seal.
- **VaultUnseal**'s diff (in a real run; in a preview, ``live_check=False``, it decides from the state and
  contacts nothing) reads every pod's ``sys/health`` (in parallel, a short timeout each) and reports a
  change only when a pod is sealed or not answering; create/update unseal just those pods (leader first,
  followers once joined). A run succeeds once a leader is active and a quorum unsealed: pods that stay
  unreachable become a warning naming them (``unavailable_pods``) and are retried by the next run. Shares
  are de-duplicated; a failed combination is reset and the remaining shares tried.
- **VaultBootstrap** runs once with the root token: AppRole auth, the ``platform-admin`` policy, the role
  and one secret_id (every other secret_id of the role is destroyed), a login check. Its child
  **VaultRootTokenRevoke** then revokes the root token, after the engine persisted the credentials; a lost
  revoke answer is settled with ``lookup-self``. Steps run on the active node and are retried once against
  a new leader on a 5xx. Later runs need no root token. Changing the settings later needs a fresh root
  token (break-glass, ``flavour.generate_root_hint``): pass it as ``root_token``; the update applies the
  change and the revoke step revokes it again.

Runtime needs: ``kubectl`` on PATH where ``pulumi up`` runs (one ``kubectl port-forward pod/<pod> :8200`` per pod
for the duration of each step; nothing secret in its argv). The engine unpickles these provider classes by
reference in its dynamic-provider process, which it starts in the project directory, so ``components`` must be
importable from there (it is: the program lives there).

Inputs arrive as the engine sends them (numbers as floats, ``Unknown`` objects in preview; ``values``): a
preview never crashes and never contacts Vault with unknown connection data. Errors and logs never contain a
share or token (messages pass through ``api.redact``). Tests drive the providers through the engine path
(``tests/harness/engine.py``: a real ``python -m pulumi.dynamic`` over gRPC); the ``*_inputs()`` builders
give exactly the properties the Resource classes register.
"""

from __future__ import annotations

from components.vault_runtime.dynamic.bootstrap_provider import (
    BOOTSTRAP_SETTINGS,
    VaultBootstrap,
    VaultBootstrapProvider,
    admin_spec,
    bootstrap_inputs,
)
from components.vault_runtime.dynamic.init_provider import INIT_SETTINGS, VaultInit, VaultInitProvider, init_inputs
from components.vault_runtime.dynamic.provider_base import VaultProviderBase
from components.vault_runtime.dynamic.revoke_provider import (
    VaultRootTokenRevoke,
    VaultRootTokenRevokeProvider,
    revoke_inputs,
)
from components.vault_runtime.dynamic.secret_id_provider import (
    VaultSecretIdPrune,
    VaultSecretIdPruneProvider,
    prune_inputs,
)
from components.vault_runtime.dynamic.unseal_provider import VaultUnseal, VaultUnsealProvider, unseal_inputs
from components.vault_runtime.values import UNKNOWN, is_unknown, key_list

__all__ = [
    "BOOTSTRAP_SETTINGS",
    "INIT_SETTINGS",
    "UNKNOWN",
    "VaultBootstrap",
    "VaultBootstrapProvider",
    "VaultInit",
    "VaultInitProvider",
    "VaultProviderBase",
    "VaultRootTokenRevoke",
    "VaultRootTokenRevokeProvider",
    "VaultSecretIdPrune",
    "VaultSecretIdPruneProvider",
    "VaultUnseal",
    "VaultUnsealProvider",
    "admin_spec",
    "bootstrap_inputs",
    "init_inputs",
    "is_unknown",
    "key_list",
    "prune_inputs",
    "revoke_inputs",
    "unseal_inputs",
]
