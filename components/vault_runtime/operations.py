"""Vault init, unseal and admin bootstrap as plain functions over hvac clients (one client per pod).

No Kubernetes and no Pulumi here: ``transport.py`` supplies the clients, ``providers.py`` calls these functions
and the tests drive them against a real OpenBao cluster. Each function reads before it writes, so running it
again after success sends no writes, and running it again after a failure resumes.

Secrets (unseal shares, root token, AppRole secret_id) only ever travel in request bodies. Error messages
name the pod and the fix, and pass through :func:`redact` so no share or token can leak into logs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

from components.vault_runtime import flavour as flavours

# Health with every state mapped to 200: one GET tells initialised/sealed/standby apart.
_HEALTH_PARAMS = {
    "standbyok": "true",
    "perfstandbyok": "true",
    "sealedcode": "200",
    "uninitcode": "200",
    "drsecondarycode": "200",
    "performancestandbycode": "200",
}


class VaultOperationError(RuntimeError):
    """A Vault step failed; the message names the pod and what to do, and never contains a secret."""


class AlreadyInitialized(VaultOperationError):
    """Vault is initialised but the caller holds no keys for it: never re-initialise."""


class RootTokenUnusable(VaultOperationError):
    """The root token is invalid (already revoked, or PGP-encrypted)."""


class UnsealTimeout(VaultOperationError):
    """A pod did not reach the expected state before the deadline."""


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of any secret in ``text`` (defence in depth for error messages)."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "<redacted>")
    return text


@dataclass(frozen=True)
class Health:
    """One pod's state from ``sys/health``; ``reachable=False`` when the API did not answer."""

    reachable: bool
    initialized: bool = False
    sealed: bool = True
    standby: bool = True
    version: str = ""
    flavour: flavours.Flavour = flavours.Flavour.VAULT
    error: str = ""

    @property
    def active(self) -> bool:
        return self.reachable and self.initialized and not self.sealed and not self.standby

    def describe(self) -> str:
        if not self.reachable:
            return f"unreachable ({self.error})"
        if not self.initialized:
            return "uninitialised (not joined)"
        if self.sealed:
            return "sealed"
        return "active" if not self.standby else "unsealed standby"


@dataclass(frozen=True)
class InitResult:
    """``sys/init`` output. Fields are excluded from repr so a stray print/log cannot show them."""

    keys: list[str] = field(repr=False)
    keys_b64: list[str] = field(repr=False)
    root_token: str = field(repr=False)


@dataclass(frozen=True)
class AdminCredentials:
    """The AppRole credential later runs use instead of a root token."""

    role_id: str
    secret_id: str = field(repr=False)
    changed: tuple[str, ...] = ()  # what bootstrap wrote, for reporting


# --- raw API helpers ----------------------------------------------------------------------------------------


def _call(
    client: Any,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: Mapping[str, Any] | None = None,
    params: Mapping[str, str] | None = None,
    timeout: float = 30,
) -> requests.Response:
    """One API call returning the raw response (status codes matter here; hvac's JSON adapter hides them).

    ``token`` is sent as a header on this call only; the shared client stays token-less.
    """
    headers = {"X-Vault-Request": "true"}
    if token:
        headers["X-Vault-Token"] = token
    url = f"{client.url.rstrip('/')}/v1/{path}"
    return client.session.request(
        method,
        url,
        headers=headers,
        json=dict(body) if body is not None else None,
        params=dict(params) if params is not None else None,
        timeout=timeout,
        allow_redirects=False,
    )


def _errors(resp: requests.Response) -> str:
    try:
        errs = resp.json().get("errors") or []
    except ValueError:
        errs = [resp.text[:200]]
    return "; ".join(str(e) for e in errs) or f"HTTP {resp.status_code}"


def _expect(resp: requests.Response, what: str, pod: str, secrets: Sequence[str] = ()) -> dict[str, Any]:
    """Return the JSON body of a 2xx response or raise naming the pod and the failed step."""
    if resp.status_code >= 300:
        detail = redact(_errors(resp), secrets)
        raise VaultOperationError(f"pod {pod}: {what} failed: HTTP {resp.status_code}: {detail}")
    if resp.status_code == 204 or not resp.content:
        return {}
    return resp.json()


def _data(body: Mapping[str, Any]) -> dict[str, Any]:
    """Vault answers some sys/ endpoints both at top level and under "data"; prefer "data"."""
    data = body.get("data")
    return dict(data) if isinstance(data, Mapping) else dict(body)


# --- health -------------------------------------------------------------------------------------------------


def health(client: Any) -> Health:
    """Read ``sys/health`` (unauthenticated, never a write). Connection failures give ``reachable=False``."""
    try:
        resp = _call(client, "GET", "sys/health", params=_HEALTH_PARAMS)
        body = resp.json()
    except (requests.RequestException, ValueError) as exc:
        return Health(reachable=False, error=type(exc).__name__)
    if resp.status_code != 200 or "initialized" not in body:
        return Health(reachable=False, error=f"HTTP {resp.status_code}")
    return Health(
        reachable=True,
        initialized=bool(body["initialized"]),
        sealed=bool(body.get("sealed", True)),
        standby=bool(body.get("standby", True)),
        version=str(body.get("version", "")),
        flavour=flavours.detect(body),
    )


def healths(clients_by_pod: Mapping[str, Any]) -> dict[str, Health]:
    return {pod: health(client) for pod, client in clients_by_pod.items()}


def pick_active(clients_by_pod: Mapping[str, Any]) -> tuple[str, Any]:
    """The active pod and its client; read-then-write sequences go there (OpenBao standbys serve stale reads)."""
    states = healths(clients_by_pod)
    for pod, h in states.items():
        if h.active:
            return pod, clients_by_pod[pod]
    summary = ", ".join(f"{p}: {h.describe()}" for p, h in states.items())
    raise VaultOperationError(
        f"no active Vault node ({summary}); unseal first (VaultUnseal) or check that Raft has quorum"
    )


# --- init ---------------------------------------------------------------------------------------------------


def initialize(
    client: Any,
    shares: int,
    threshold: int,
    pgp_keys: Sequence[str] = (),
    root_token_pgp_key: str = "",
    *,
    pod: str = "vault-0",
) -> InitResult:
    """``sys/init`` on an uninitialised Vault; never on an initialised one.

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
    body: dict[str, Any] = {"secret_shares": shares, "secret_threshold": threshold}
    if pgp_keys:
        if len(pgp_keys) != shares:
            raise VaultOperationError(f"pod {pod}: {len(pgp_keys)} PGP keys for {shares} shares; give one per share")
        body["pgp_keys"] = list(pgp_keys)
    if root_token_pgp_key:
        body["root_token_pgp_key"] = root_token_pgp_key
    # Generous timeout: a lost response here would mean keys nobody holds (PGP-encrypting many shares is slow).
    resp = _call(client, "PUT", "sys/init", body=body, timeout=300)
    if resp.status_code == 400 and "already initialized" in _errors(resp).lower():
        # Lost a race with another init (or a retried request): same situation as above.
        raise AlreadyInitialized(already_initialized_message(pod, h.flavour))
    out = _expect(resp, "sys/init", pod)
    return InitResult(keys=list(out["keys"]), keys_b64=list(out["keys_base64"]), root_token=str(out["root_token"]))


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


# --- unseal -------------------------------------------------------------------------------------------------


def _wait_for(
    client: Any,
    pod: str,
    ready: Callable[[Health], bool],
    deadline: float,
    what: str,
    poll_interval: float,
) -> Health:
    """Poll one pod's health until ``ready`` or the deadline (no fixed sleeps: returns as soon as true)."""
    while True:
        h = health(client)
        if ready(h):
            return h
        if time.monotonic() >= deadline:
            raise UnsealTimeout(
                f"pod {pod}: timed out waiting {what} (last state: {h.describe()}); check "
                f"`kubectl logs {pod}` and that the pod is Running, then run `pulumi up` again"
            )
        time.sleep(poll_interval)


def _submit_keys(client: Any, pod: str, keys: Sequence[str], threshold: int | None) -> None:
    """Feed shares to ``sys/unseal`` until the pod is unsealed (or a Raft join takes over)."""
    status = _expect(_call(client, "GET", "sys/seal-status"), "sys/seal-status", pod)
    if status.get("progress"):
        # A half-done attempt (an earlier run died mid-way) would mix with ours: start clean.
        _expect(_call(client, "PUT", "sys/unseal", body={"reset": True}), "unseal reset", pod)
    needed = int(status.get("t") or 0) or threshold or len(keys)
    if len(keys) < needed:
        raise VaultOperationError(
            f"pod {pod}: {len(keys)} unseal share(s) available but the threshold is {needed}; supply at least "
            f"{needed} decrypted shares (config vaultUnsealKeys when the shares are PGP-encrypted)"
        )
    for key in keys[:needed]:
        resp = _call(client, "PUT", "sys/unseal", body={"key": key})
        out = _expect(resp, "unseal", pod, secrets=keys)
        if not out.get("sealed", True) or not out.get("progress"):
            # Unsealed, or threshold reached and a Raft follower is completing its join (progress back to 0).
            return
    raise VaultOperationError(
        f"pod {pod}: still sealed after {needed} shares; the shares do not reach the threshold for this Vault"
    )


def unseal_all(
    clients_by_pod: Mapping[str, Any],
    keys: Sequence[str],
    timeout: float = 120.0,
    *,
    threshold: int | None = None,
    poll_interval: float = 0.05,
) -> list[str]:
    """Unseal every sealed pod; return the pods it unsealed ([] = nothing was sealed = no change).

    Order: pods that hold Raft data first (the leader, or pod 0 after a full restart), then the others once
    they have joined Raft (a fresh follower reports ``initialized`` only after its retry_join reached the
    leader, and refuses shares before that). Health is polled until each state is reached or ``timeout``
    seconds pass; the call returns once some pod is active (Raft has quorum).
    """
    keys = [k for k in keys if k]
    pods = list(clients_by_pod)
    deadline = time.monotonic() + timeout
    states = healths(clients_by_pod)
    todo = [p for p in pods if not states[p].reachable or states[p].sealed]
    if not todo:
        return []
    if not keys:
        raise VaultOperationError(
            f"pods {', '.join(todo)} need unsealing but no unseal keys were supplied: with PGP-encrypted or "
            "adopted shares, set the decrypted shares with `pulumi config set --secret vaultUnsealKeys '[...]'`"
        )
    todo.sort(key=lambda p: (not states[p].reachable, not states[p].initialized, pods.index(p)))

    def join_and_submit(pod: str) -> bool:
        """Wait until the pod answers and has joined Raft, then feed it shares; False if already unsealed."""
        client = clients_by_pod[pod]
        h = _wait_for(
            client,
            pod,
            lambda h: h.reachable and (h.initialized or not h.sealed),
            deadline,
            "for the pod to answer and join the Raft cluster",
            poll_interval,
        )
        if not h.sealed:
            return False  # someone else unsealed it meanwhile
        try:
            _submit_keys(client, pod, keys, threshold)
        except requests.RequestException as exc:
            raise VaultOperationError(f"pod {pod}: connection failed while unsealing ({type(exc).__name__})") from None
        return True

    submitted: list[str] = []
    if not any(h.active for h in states.values()):
        # No leader: the first pod (holding Raft data) goes alone, and followers can only join it once it is
        # unsealed (fresh cluster). After a full restart it is unsealed at once, as a standby awaiting quorum.
        first, todo = todo[0], todo[1:]
        if join_and_submit(first):
            submitted.append(first)
            _wait_unsealed(clients_by_pod[first], first, deadline, poll_interval)
    if todo:
        # A follower's final unseal call blocks while it completes its Raft join (~2 s): do them in parallel,
        # one thread per pod (each pod has its own client and session).
        with ThreadPoolExecutor(max_workers=len(todo), thread_name_prefix="vault-unseal") as pool:
            results = list(pool.map(join_and_submit, todo))
        submitted += [pod for pod, done in zip(todo, results, strict=True) if done]
    for pod in submitted:
        _wait_unsealed(clients_by_pod[pod], pod, deadline, poll_interval)
    _wait_active(clients_by_pod, deadline, poll_interval)
    return submitted


def _wait_unsealed(client: Any, pod: str, deadline: float, poll_interval: float) -> Health:
    return _wait_for(
        client, pod, lambda h: h.reachable and not h.sealed, deadline, "to finish unsealing", poll_interval
    )


def _wait_active(clients_by_pod: Mapping[str, Any], deadline: float, poll_interval: float) -> None:
    while True:
        states = healths(clients_by_pod)
        if any(h.active for h in states.values()):
            return
        if time.monotonic() >= deadline:
            summary = ", ".join(f"{p}: {h.describe()}" for p, h in states.items())
            raise UnsealTimeout(
                f"no pod became active ({summary}): Raft needs a majority of voters unsealed; unseal the "
                "remaining pods or check their logs, then run `pulumi up` again"
            )
        time.sleep(poll_interval)


def sealed_pods(clients_by_pod: Mapping[str, Any]) -> list[str]:
    """Pods that are sealed or not answering (read-only; what VaultUnseal's diff reports)."""
    return [p for p, h in healths(clients_by_pod).items() if not h.reachable or h.sealed]


# --- admin bootstrap ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdminSpec:
    """What bootstrap sets up: the AppRole mount, role and its policy (TTLs in seconds; 0 = no expiry)."""

    policy_hcl: str
    approle_path: str = "approle"
    role_name: str = "platform-admin"
    policy_name: str = "platform-admin"
    token_ttl: int = 3600
    token_max_ttl: int = 4 * 3600
    secret_id_ttl: int = 0  # the secret_id lives in Pulumi state and is needed at every run

    def role_body(self) -> dict[str, Any]:
        return {
            "token_policies": [self.policy_name],
            "token_ttl": self.token_ttl,
            "token_max_ttl": self.token_max_ttl,
            "secret_id_ttl": self.secret_id_ttl,
            "secret_id_num_uses": 0,
            "bind_secret_id": True,
            "token_no_default_policy": False,
        }


def _role_matches(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    for key, value in wanted.items():
        have = current.get(key)
        if isinstance(value, list):
            if sorted(have or []) != sorted(value):
                return False
        elif have != value:
            return False
    return True


def bootstrap_admin(
    client: Any,
    root_token: str,
    spec: AdminSpec,
    *,
    pod: str = "vault-0",
    existing_secret_id: str | None = None,
    revoke_root: bool = True,
) -> AdminCredentials:
    """With the root token, once: AppRole auth + admin policy + role + secret_id, then revoke the root token.

    ``client`` must be the active node (see :func:`pick_active`). Every step reads first and writes only what
    differs, so a run interrupted before the revoke resumes with the same root token. The new credential is
    proven (login, then revoke that login token) before the root token is revoked: a broken role never
    strands the cluster without a working credential.
    """
    from components.vault_runtime.admin_policy import assert_least_privilege

    assert_least_privilege(spec.policy_hcl)
    secrets = [root_token, existing_secret_id or ""]
    changed: list[str] = []
    h = health(client)

    lookup = _call(client, "GET", "auth/token/lookup-self", token=root_token)
    if lookup.status_code in (400, 401, 403):
        raise RootTokenUnusable(
            f"pod {pod}: the root token is not valid (already revoked by an earlier bootstrap, or still "
            "PGP-encrypted when root_token_pgp_key is set). If bootstrap completed before, its AppRole "
            "credentials are in the vault-bootstrap resource's state. Otherwise "
            f"{flavours.generate_root_hint(h.flavour)}, pass it decrypted as the bootstrap root token, and run "
            "`pulumi up` again (bootstrap revokes it when done)"
        )
    _expect(lookup, "root token lookup", pod, secrets)

    mount = f"{spec.approle_path}/"
    auths = _data(_expect(_call(client, "GET", "sys/auth", token=root_token), "list auth methods", pod, secrets))
    if mount not in auths:
        _expect(
            _call(
                client,
                "POST",
                f"sys/auth/{spec.approle_path}",
                token=root_token,
                body={"type": "approle", "description": "Pulumi platform admin (bootstrap)"},
            ),
            "enable AppRole",
            pod,
            secrets,
        )
        changed.append(f"sys/auth/{spec.approle_path}")
    elif auths[mount].get("type") != "approle":
        raise VaultOperationError(
            f"pod {pod}: auth path {spec.approle_path}/ is a {auths[mount].get('type')} backend, not approle; "
            "choose another approle_path"
        )

    policy_path = f"sys/policies/acl/{spec.policy_name}"
    resp = _call(client, "GET", policy_path, token=root_token)
    current_policy = _data(_expect(resp, "read admin policy", pod, secrets)).get("policy") if resp.ok else None
    if (current_policy or "").strip() != spec.policy_hcl.strip():
        _expect(
            _call(client, "PUT", policy_path, token=root_token, body={"policy": spec.policy_hcl}),
            "write admin policy",
            pod,
            secrets,
        )
        changed.append(policy_path)

    role_path = f"auth/{spec.approle_path}/role/{spec.role_name}"
    resp = _call(client, "GET", role_path, token=root_token)
    current_role = _data(_expect(resp, "read admin role", pod, secrets)) if resp.ok else {}
    if not current_role or not _role_matches(current_role, spec.role_body()):
        _expect(
            _call(client, "POST", role_path, token=root_token, body=spec.role_body()), "write admin role", pod, secrets
        )
        changed.append(role_path)

    role_id = _data(_expect(_call(client, "GET", f"{role_path}/role-id", token=root_token), "read role-id", pod))[
        "role_id"
    ]

    secret_id = ""
    if existing_secret_id:
        resp = _call(
            client, "POST", f"{role_path}/secret-id/lookup", token=root_token, body={"secret_id": existing_secret_id}
        )
        if resp.status_code == 200 and _data(resp.json()):
            secret_id = existing_secret_id
    if not secret_id:
        out = _expect(
            _call(client, "POST", f"{role_path}/secret-id", token=root_token, body={}), "create secret-id", pod, secrets
        )
        secret_id = _data(out)["secret_id"]
        changed.append(f"{role_path}/secret-id")
    secrets.append(secret_id)

    # Prove the credential before giving up the root token.
    login = _expect(
        _call(client, "POST", f"auth/{spec.approle_path}/login", body={"role_id": role_id, "secret_id": secret_id}),
        "AppRole login check",
        pod,
        secrets,
    )
    auth = login.get("auth") or {}
    if spec.policy_name not in (auth.get("token_policies") or auth.get("policies") or []):
        raise VaultOperationError(f"pod {pod}: AppRole login check: token lacks policy {spec.policy_name}")
    _call(client, "POST", "auth/token/revoke-self", token=auth["client_token"])

    if revoke_root:
        _expect(_call(client, "POST", "auth/token/revoke-self", token=root_token), "revoke root token", pod, secrets)
        changed.append("revoke root token")
    return AdminCredentials(role_id=role_id, secret_id=secret_id, changed=tuple(changed))


def admin_login(client: Any, role_id: str, secret_id: str, *, approle_path: str = "approle") -> str:
    """Log in with the admin AppRole and return a client token (for checks and break-glass-free tooling)."""
    out = _expect(
        _call(client, "POST", f"auth/{approle_path}/login", body={"role_id": role_id, "secret_id": secret_id}),
        "AppRole login",
        "-",
        [secret_id],
    )
    return str(out["auth"]["client_token"])
