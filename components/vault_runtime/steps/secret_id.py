"""The admin AppRole's own secret_id, without a root token: rotation before it expires, and pruning of the old ones.

The admin policy grants exactly this on its own role (``admin_policy.py``): ``update`` on
``auth/<approle>/role/<role>/secret-id`` (a new secret_id, which the role's ``secret_id_ttl`` and CIDR binding cap:
a caller cannot ask for a longer life or a wider network), ``list`` there (the accessors) and ``update`` on
``secret-id-accessor/destroy``. Nothing else of AppRole: no role writes, no custom secret_ids, no role_id.

Two steps, like bootstrap and revoke, so no crash can leave the state holding a destroyed secret_id:
:func:`rotate_secret_id` logs in with the state's secret_id, mints and proves a new one and returns it (the
engine persists it); :func:`prune_secret_ids` runs after that, logs in with the *new* one and destroys every other
secret_id of the role (the previous one, and any a crashed rotation minted).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.vault_runtime.api import Deadline, VaultOperationError, call, data, expect
from components.vault_runtime.leader import Leader
from components.vault_runtime.steps.bootstrap import AdminCredentials, AdminSpec

SECRET_ID_TIMEOUT = 120.0


class SecretIdUnusable(VaultOperationError):
    """The state's secret_id no longer logs in (expired, destroyed, or used from outside the bound CIDRs)."""


def _login(client: Any, pod: str, spec: AdminSpec, role_id: str, secret_id: str, deadline: Deadline) -> str:
    body = {"role_id": role_id, "secret_id": secret_id}
    resp = call(client, "POST", f"auth/{spec.approle_path}/login", body=body, deadline=deadline)
    if resp.status_code in (400, 403):
        raise SecretIdUnusable(
            f"pod {pod}: the admin AppRole's secret_id in the state no longer logs in (expired after "
            f"vault.adminSecretIdTtl without a `pulumi up` in its second half, or destroyed)"
        )
    return str(expect(resp, "AppRole login", pod, [secret_id])["auth"]["client_token"])


def _revoke(client: Any, token: str, deadline: Deadline) -> None:
    call(client, "POST", "auth/token/revoke-self", token=token, deadline=deadline)


def rotate_secret_id(
    clients_by_pod: Mapping[str, Any],
    spec: AdminSpec,
    role_id: str,
    secret_id: str,
    *,
    deadline: Deadline | None = None,
) -> AdminCredentials:
    """A new secret_id minted with the admin's own login (the old one keeps working until it is pruned)."""
    deadline = deadline or Deadline.after(SECRET_ID_TIMEOUT)
    secrets = [secret_id]
    leader = Leader(clients_by_pod, deadline, secrets=tuple(secrets))

    def mint(client: Any, pod: str) -> tuple[str, str]:
        token = _login(client, pod, spec, role_id, secret_id, deadline)
        secrets.append(token)
        try:
            resp = call(client, "POST", f"{spec.role_path}/secret-id", token=token, body={}, deadline=deadline)
            out = data(expect(resp, "create secret-id", pod, secrets))
        finally:
            _revoke(client, token, deadline)
        secrets.append(str(out["secret_id"]))
        return str(out["secret_id"]), str(out.get("secret_id_accessor") or "")

    new_secret_id, accessor = leader.run("rotate the admin secret-id", mint)

    def prove(client: Any, pod: str) -> None:
        _revoke(client, _login(client, pod, spec, role_id, new_secret_id, deadline), deadline)

    leader.run("AppRole login check", prove)
    return AdminCredentials(role_id, new_secret_id, accessor, (f"{spec.role_path}/secret-id",))


def prune_secret_ids(
    clients_by_pod: Mapping[str, Any],
    spec: AdminSpec,
    role_id: str,
    secret_id: str,
    keep_accessor: str,
    *,
    deadline: Deadline | None = None,
) -> int:
    """Destroy every secret_id of the admin role but ``keep_accessor`` (the one ``secret_id`` is), logged in with it."""
    deadline = deadline or Deadline.after(SECRET_ID_TIMEOUT)
    leader = Leader(clients_by_pod, deadline, secrets=(secret_id,))

    def prune(client: Any, pod: str) -> int:
        token = _login(client, pod, spec, role_id, secret_id, deadline)
        secrets = [secret_id, token]
        try:
            resp = call(client, "LIST", f"{spec.role_path}/secret-id", token=token, deadline=deadline)
            listed = {} if resp.status_code == 404 else data(expect(resp, "list secret-ids", pod, secrets))
            others = [a for a in listed.get("keys") or [] if a != keep_accessor]
            for accessor in others:
                body = {"secret_id_accessor": accessor}
                path = f"{spec.role_path}/secret-id-accessor/destroy"
                expect(call(client, "POST", path, token=token, body=body, deadline=deadline), "destroy", pod, secrets)
            return len(others)
        finally:
            _revoke(client, token, deadline)

    return leader.run("destroy the admin's older secret-ids", prune)
