"""With the root token: the admin AppRole pulumi-vault logs in with, and nothing else. Revocation is separate.

Steps (each reads before it writes, each runs on the active node through :class:`Leader`, so a rerun after a
failure resumes and a leader change is survived): root token check, AppRole mount, admin policy, role,
role-id, the secret_id (kept if the state's one is still valid, else a new one), a login proving it, then
every *other* secret_id of the role is destroyed: a run that died after minting one (its secret_id never
reached the state) leaves nothing valid behind once a later run holds the root token.

The root token is NOT revoked here: :mod:`revoke` does it in a separate step that runs after the engine has
persisted these credentials, so no crash or lost response can leave a revoked root token and credentials
that exist nowhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from components.vault_runtime import flavour as flavours
from components.vault_runtime.api import (
    Deadline,
    RootTokenUnusable,
    VaultOperationError,
    call,
    data,
    expect,
)
from components.vault_runtime.health import health
from components.vault_runtime.leader import Leader

BOOTSTRAP_TIMEOUT = 180.0


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

    @property
    def role_path(self) -> str:
        return f"auth/{self.approle_path}/role/{self.role_name}"

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


@dataclass(frozen=True)
class AdminCredentials:
    """The AppRole credential later runs use instead of a root token."""

    role_id: str
    secret_id: str = field(repr=False)
    secret_id_accessor: str = ""
    changed: tuple[str, ...] = ()  # what bootstrap wrote, for reporting
    destroyed_secret_ids: int = 0


def _role_matches(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    for key, value in wanted.items():
        have = current.get(key)
        if isinstance(value, list):
            if sorted(have or []) != sorted(value):
                return False
        elif have != value:
            return False
    return True


class _Bootstrap:
    """One bootstrap run: the steps share the leader, the token and the list of what changed."""

    def __init__(self, leader: Leader, root_token: str, spec: AdminSpec, existing_secret_id: str | None) -> None:
        self.leader, self.token, self.spec = leader, root_token, spec
        self.existing = existing_secret_id
        self.secrets = [root_token, existing_secret_id or ""]
        self.changed: list[str] = []

    def api(self, client: Any, pod: str, method: str, path: str, what: str, body: Any = None) -> dict[str, Any]:
        resp = call(client, method, path, token=self.token, body=body, deadline=self.leader.deadline)
        return expect(resp, what, pod, self.secrets)

    def check_root(self, client: Any, pod: str) -> None:
        resp = call(client, "GET", "auth/token/lookup-self", token=self.token, deadline=self.leader.deadline)
        if resp.status_code in (400, 401, 403):
            raise RootTokenUnusable(
                f"pod {pod}: the root token is not valid (already revoked by an earlier bootstrap, or still "
                "PGP-encrypted when root_token_pgp_key is set). If bootstrap completed before, its AppRole "
                "credentials are in the vault-bootstrap resource's state. Otherwise "
                f"{flavours.generate_root_hint(health(client).flavour)}, pass it decrypted as the bootstrap root "
                "token, and run `pulumi up` again (the revoke step revokes it when done)"
            )
        expect(resp, "root token lookup", pod, self.secrets)

    def ensure_mount(self, client: Any, pod: str) -> None:
        spec = self.spec
        auths = data(self.api(client, pod, "GET", "sys/auth", "list auth methods"))
        current = auths.get(f"{spec.approle_path}/")
        if current is None:
            body = {"type": "approle", "description": "Pulumi platform admin (bootstrap)"}
            self.api(client, pod, "POST", f"sys/auth/{spec.approle_path}", "enable AppRole", body)
            self.changed.append(f"sys/auth/{spec.approle_path}")
        elif current.get("type") != "approle":
            raise VaultOperationError(
                f"pod {pod}: auth path {spec.approle_path}/ is a {current.get('type')} backend, not approle; "
                "choose another approle_path"
            )

    def ensure_policy(self, client: Any, pod: str) -> None:
        path = f"sys/policies/acl/{self.spec.policy_name}"
        resp = call(client, "GET", path, token=self.token, deadline=self.leader.deadline)
        current = data(expect(resp, "read admin policy", pod, self.secrets)).get("policy") if resp.ok else None
        if (current or "").strip() != self.spec.policy_hcl.strip():
            self.api(client, pod, "PUT", path, "write admin policy", {"policy": self.spec.policy_hcl})
            self.changed.append(path)

    def ensure_role(self, client: Any, pod: str) -> str:
        path = self.spec.role_path
        resp = call(client, "GET", path, token=self.token, deadline=self.leader.deadline)
        current = data(expect(resp, "read admin role", pod, self.secrets)) if resp.ok else {}
        if not current or not _role_matches(current, self.spec.role_body()):
            self.api(client, pod, "POST", path, "write admin role", self.spec.role_body())
            self.changed.append(path)
        return str(data(self.api(client, pod, "GET", f"{path}/role-id", "read role-id"))["role_id"])

    def existing_accessor(self, client: Any, pod: str) -> str:
        """The accessor of the state's secret_id if Vault still knows it, else ""."""
        if not self.existing:
            return ""
        resp = call(
            client,
            "POST",
            f"{self.spec.role_path}/secret-id/lookup",
            token=self.token,
            body={"secret_id": self.existing},
            deadline=self.leader.deadline,
        )
        if resp.status_code == 200 and resp.content:
            return str(data(resp.json()).get("secret_id_accessor") or "")
        if resp.status_code >= 500:
            expect(resp, "look up the recorded secret-id", pod, self.secrets)  # retryable: leader change
        return ""  # unknown or expired: a new one is created

    def create_secret_id(self, client: Any, pod: str) -> tuple[str, str]:
        out = data(self.api(client, pod, "POST", f"{self.spec.role_path}/secret-id", "create secret-id", {}))
        self.changed.append(f"{self.spec.role_path}/secret-id")
        self.secrets.append(str(out["secret_id"]))
        return str(out["secret_id"]), str(out.get("secret_id_accessor") or "")

    def prove_login(self, client: Any, pod: str, role_id: str, secret_id: str) -> None:
        """Log in with the credential (before anything relies on it), then revoke that login's token."""
        body = {"role_id": role_id, "secret_id": secret_id}
        resp = call(client, "POST", f"auth/{self.spec.approle_path}/login", body=body, deadline=self.leader.deadline)
        auth = expect(resp, "AppRole login check", pod, self.secrets).get("auth") or {}
        if self.spec.policy_name not in (auth.get("token_policies") or auth.get("policies") or []):
            raise VaultOperationError(f"pod {pod}: AppRole login check: token lacks policy {self.spec.policy_name}")
        call(client, "POST", "auth/token/revoke-self", token=auth["client_token"], deadline=self.leader.deadline)

    def destroy_others(self, client: Any, pod: str, keep_accessor: str) -> int:
        """Destroy every secret_id of the role except ``keep_accessor`` (orphans of crashed runs)."""
        path = f"{self.spec.role_path}/secret-id"
        resp = call(client, "LIST", path, token=self.token, deadline=self.leader.deadline)
        accessors = [] if resp.status_code == 404 else data(expect(resp, "list secret-ids", pod, self.secrets))
        others = [a for a in (accessors or {}).get("keys") or [] if a != keep_accessor]  # type: ignore[union-attr]
        for accessor in others:
            path = f"{self.spec.role_path}/secret-id-accessor/destroy"
            self.api(client, pod, "POST", path, "destroy secret-id", {"secret_id_accessor": accessor})
        return len(others)


def bootstrap_admin(
    clients_by_pod: Mapping[str, Any],
    root_token: str,
    spec: AdminSpec,
    *,
    existing_secret_id: str | None = None,
    deadline: Deadline | None = None,
) -> AdminCredentials:
    """AppRole auth + admin policy + role + one proven secret_id, with the root token (see the module docstring)."""
    from components.vault_runtime.admin_policy import assert_least_privilege

    assert_least_privilege(spec.policy_hcl)
    leader = Leader(clients_by_pod, deadline or Deadline.after(BOOTSTRAP_TIMEOUT), secrets=(root_token,))
    run = _Bootstrap(leader, root_token, spec, existing_secret_id)
    leader.run("root token lookup", run.check_root)
    leader.run("enable AppRole", run.ensure_mount)
    leader.run("write admin policy", run.ensure_policy)
    role_id = leader.run("write admin role", run.ensure_role)
    accessor = leader.run("look up the recorded secret-id", run.existing_accessor)
    secret_id = (existing_secret_id or "") if accessor else ""
    if not secret_id:
        secret_id, accessor = leader.run("create secret-id", run.create_secret_id)
    leader.run("AppRole login check", lambda c, p: run.prove_login(c, p, role_id, secret_id))
    destroyed = leader.run("destroy other secret-ids", lambda c, p: run.destroy_others(c, p, accessor))
    return AdminCredentials(role_id, secret_id, accessor, tuple(run.changed), destroyed)


def admin_login(client: Any, role_id: str, secret_id: str, *, approle_path: str = "approle") -> str:
    """Log in with the admin AppRole and return a client token (for checks and break-glass-free tooling)."""
    resp = call(
        client,
        "POST",
        f"auth/{approle_path}/login",
        body={"role_id": role_id, "secret_id": secret_id},
        deadline=Deadline.after(30),
    )
    return str(expect(resp, "AppRole login", "-", [secret_id])["auth"]["client_token"])
