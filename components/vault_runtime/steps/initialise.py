"""``sys/init`` once, on an uninitialised Vault only; never on an initialised one.

The result holds every unseal share and the root token: it is returned as is (the provider makes it secret
outputs the engine persists) and never logged; a lost response would mean keys nobody holds, hence the
generous timeout on that single call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from components.vault_runtime import flavour as flavours
from components.vault_runtime.api import AlreadyInitialized, Deadline, VaultOperationError, call, errors, expect
from components.vault_runtime.health import health

INIT_TIMEOUT = 300.0  # PGP-encrypting many shares is slow


@dataclass(frozen=True)
class InitResult:
    """``sys/init`` output. Fields are excluded from repr so a stray print/log cannot show them. Under an
    auto-unseal seal ``keys`` are empty and the recovery keys (generate-root, never unseal) come instead."""

    keys: list[str] = field(repr=False)
    keys_b64: list[str] = field(repr=False)
    root_token: str = field(repr=False)
    recovery_keys: list[str] = field(default_factory=list, repr=False)
    recovery_keys_b64: list[str] = field(default_factory=list, repr=False)


def init_body(
    shares: int, threshold: int, pgp_keys: Sequence[str], root_token_pgp_key: str, *, recovery: bool
) -> dict[str, Any]:
    """The ``sys/init`` request: Shamir shares, or with an auto-unseal seal the recovery shares instead."""
    prefix = "recovery" if recovery else "secret"
    body: dict[str, Any] = {f"{prefix}_shares": shares, f"{prefix}_threshold": threshold}
    if pgp_keys:
        body["recovery_pgp_keys" if recovery else "pgp_keys"] = list(pgp_keys)
    if root_token_pgp_key:
        body["root_token_pgp_key"] = root_token_pgp_key
    return body


def initialize(
    client: Any,
    shares: int,
    threshold: int,
    pgp_keys: Sequence[str] = (),
    root_token_pgp_key: str = "",
    *,
    pod: str = "vault-0",
    recovery: bool = False,
) -> InitResult:
    """``sys/init`` on an uninitialised Vault (``recovery``: it has an auto-unseal seal).

    Raises :class:`AlreadyInitialized` (with the recovery path) when Vault is already initialised: this is
    only called when the caller holds no keys, so a second init would mean keys nobody has.
    """
    h = health(client)
    if not h.reachable:
        raise VaultOperationError(
            f"pod {pod}: the Vault API did not answer ({h.error}); check that the pod is Running and the "
            "port-forward works (kubectl port-forward pod/<pod> :8200)"
        )
    if h.initialized:
        raise AlreadyInitialized(already_initialized_message(pod, h.flavour))
    if pgp_keys and len(pgp_keys) != shares:
        raise VaultOperationError(f"pod {pod}: {len(pgp_keys)} PGP keys for {shares} shares; give one per share")
    body = init_body(shares, threshold, pgp_keys, root_token_pgp_key, recovery=recovery)
    resp = call(client, "PUT", "sys/init", body=body, deadline=Deadline.after(INIT_TIMEOUT), cap=INIT_TIMEOUT)
    if resp.status_code == 400 and "already initialized" in errors(resp).lower():
        # Lost a race with another init (or a retried request): same situation as above.
        raise AlreadyInitialized(already_initialized_message(pod, h.flavour))
    out = expect(resp, "sys/init", pod)
    return InitResult(
        keys=list(out.get("keys") or []),
        keys_b64=list(out.get("keys_base64") or []),
        root_token=str(out["root_token"]),
        recovery_keys=list(out.get("recovery_keys") or []),
        recovery_keys_b64=list(out.get("recovery_keys_base64") or []),
    )


def already_initialized_message(pod: str, flavour: flavours.Flavour | str) -> str:
    return (
        f"pod {pod}: Vault is already initialised, but this stack's state holds no unseal keys for it, so the "
        "program will not touch it (re-initialising is impossible without wiping its storage, and would "
        "orphan every secret). Recovery: (1) restore the stack state that holds the vault-init resource "
        "(`pulumi stack import --file <backup>`); or (2) if you hold the unseal shares, set them with "
        "`pulumi config set --secret vaultUnsealKeys '[...]'` and adopt the existing Vault "
        "(VaultInit adopt_existing=True); for the bootstrap root token, "
        f"{flavours.generate_root_hint(flavour)}; or (3) on a disposable cluster only, delete the Vault "
        "PersistentVolumeClaims (all Vault data is lost) and run `pulumi up` again"
    )
