"""With the root token: the admin AppRole pulumi-vault logs in with, and nothing else. Revocation is separate.

Steps (each reads before it writes, each runs on the active node through :class:`Leader`, so a rerun after a
failure resumes and a leader change is survived): root token check, the file audit device (before anything
else is written, so the rest is audited), AppRole mount, admin policy, role (secret_id TTL, CIDR binding),
role-id, the secret_id (kept if the state's one is still valid and not due for rotation, else a new one), a login
proving it, then every secret_id of the role but that one and the state's is destroyed: a run that died after
minting one (its secret_id never reached the state) leaves nothing valid behind once a later run holds the root
token. The state's previous secret_id goes only after the new one is persisted (``secret_id.prune_secret_ids``).

The root token is NOT revoked here: :mod:`revoke` does it in a separate step that runs after the engine has
persisted these credentials, so no crash or lost response can leave a revoked root token and credentials
that exist nowhere.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
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
    # 0 = never expires. Otherwise the program rotates it after half of it (VaultBootstrap's diff).
    secret_id_ttl: int = 0
    # Where secret_ids and the tokens they give may be used from (empty: anywhere): the port-forward's loopback.
    bound_cidrs: tuple[str, ...] = ()
    # The file audit device's file on every Vault pod ("" = none).
    audit_file_path: str = ""

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
            "secret_id_bound_cidrs": list(self.bound_cidrs),
            "token_bound_cidrs": list(self.bound_cidrs),
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


def _host(cidr: str) -> str:
    """Vault reports a single-address CIDR without its prefix length (127.0.0.1/32 reads back as 127.0.0.1)."""
    return cidr.removesuffix("/32").removesuffix("/128")


def _role_matches(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    for key, value in wanted.items():
        have = current.get(key)
        if isinstance(value, list):
            if sorted(map(_host, have or [])) != sorted(map(_host, value)):
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

    def ensure_audit(self, client: Any, pod: str) -> None:
        """The file audit device at ``file/``, with the root token (the admin policy grants no ``sys/audit*``, so the
        admin can neither read nor disable it). HashiCorp Vault enables it through the API; OpenBao refuses
        API-created devices unless configured to, and takes a declarative ``audit`` stanza instead: one already
        there (any path) writing to the same file is accepted as it is."""
        wanted = self.spec.audit_file_path
        devices = data(self.api(client, pod, "GET", "sys/audit", "list audit devices"))
        if any((d.get("options") or {}).get("file_path") == wanted for d in devices.values() if isinstance(d, dict)):
            return
        body = {"type": "file", "description": "platform: every request (bootstrap)", "options": {"file_path": wanted}}
        resp = call(client, "POST", "sys/audit/file", token=self.token, body=body, deadline=self.leader.deadline)
        if resp.status_code in (400, 405) and "declarative" in resp.text:
            raise VaultOperationError(
                f"pod {pod}: this server refuses audit devices created through the API (OpenBao). Declare it in "
                f'the server configuration instead: audit "file" "file" {{ options {{ file_path = "{wanted}" }} }}, '
                "restart the pods, and run `pulumi up` again"
            )
        expect(resp, "enable the file audit device", pod, self.secrets)
        self.changed.append("sys/audit/file")

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

    def destroy_others(self, client: Any, pod: str, keep: Collection[str]) -> int:
        """Destroy every secret_id of the role whose accessor is not in ``keep`` (orphans of crashed runs)."""
        path = f"{self.spec.role_path}/secret-id"
        resp = call(client, "LIST", path, token=self.token, deadline=self.leader.deadline)
        accessors = [] if resp.status_code == 404 else data(expect(resp, "list secret-ids", pod, self.secrets))
        others = [a for a in (accessors or {}).get("keys") or [] if a not in keep]  # type: ignore[union-attr]
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
    rotate: bool = False,
    deadline: Deadline | None = None,
) -> AdminCredentials:
    """Audit device + AppRole auth + admin policy + role + one proven secret_id, with the root token (see the module
    docstring). ``rotate``: mint a new secret_id even if the state's one is still valid (it is due for rotation)."""
    from components.vault_runtime.admin_policy import assert_least_privilege

    assert_least_privilege(spec.policy_hcl)
    leader = Leader(clients_by_pod, deadline or Deadline.after(BOOTSTRAP_TIMEOUT), secrets=(root_token,))
    run = _Bootstrap(leader, root_token, spec, existing_secret_id)
    leader.run("root token lookup", run.check_root)
    if spec.audit_file_path:
        leader.run("enable the file audit device", run.ensure_audit)
    leader.run("enable AppRole", run.ensure_mount)
    leader.run("write admin policy", run.ensure_policy)
    role_id = leader.run("write admin role", run.ensure_role)
    existing_accessor = leader.run("look up the recorded secret-id", run.existing_accessor)
    secret_id, accessor = (
        (existing_secret_id or "", existing_accessor) if existing_accessor and not rotate else ("", "")
    )
    if not secret_id:
        secret_id, accessor = leader.run("create secret-id", run.create_secret_id)
    leader.run("AppRole login check", lambda c, p: run.prove_login(c, p, role_id, secret_id))
    # The state's secret_id stays until the new one is persisted; the prune step destroys it then.
    keep = {accessor, existing_accessor} - {""}
    destroyed = leader.run("destroy other secret-ids", lambda c, p: run.destroy_others(c, p, keep))
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
