"""The Vault resources of a stack, run the way `pulumi up` runs them: through the engine-path harness.

:class:`VaultStack` holds one :class:`~tests.harness.engine.EngineResource` per Vault step (init, unseal,
bootstrap, root-token revoke), feeds each the inputs the program registers (``*_inputs()``) with the previous
steps' outputs, and runs them in the engine's order; a failed step stops the run and leaves the state of
that resource as it was, exactly as a failed `pulumi up` does. ``connect`` is a picklable
:class:`~tests.fixtures.vault_faults.DirectConnect` (faults can be injected per step), or None for the
production kubectl transport (a fake kubectl on the server's PATH).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from components.vault_runtime.providers import (
    VaultBootstrapProvider,
    VaultInitProvider,
    VaultRootTokenRevokeProvider,
    VaultUnsealProvider,
    bootstrap_inputs,
    init_inputs,
    revoke_inputs,
    unseal_inputs,
)
from tests.fixtures.openbao import BaoCluster
from tests.fixtures.vault_faults import DirectConnect, Fault
from tests.harness.engine import DynamicProviderServer, EngineResource, provider_blob

STEPS = ("init", "unseal", "bootstrap", "revoke")
PROVIDERS = {
    "init": (VaultInitProvider, "pulumi-python:dynamic/vault:Init", "vault-init"),
    "unseal": (VaultUnsealProvider, "pulumi-python:dynamic/vault:Unseal", "vault-unseal"),
    "bootstrap": (VaultBootstrapProvider, "pulumi-python:dynamic/vault:Bootstrap", "vault-bootstrap"),
    "revoke": (
        VaultRootTokenRevokeProvider,
        "pulumi-python:dynamic/vault:RootTokenRevoke",
        "vault-bootstrap-revoke-root",
    ),
}


@dataclass
class VaultStack:
    server: DynamicProviderServer
    cluster: BaoCluster
    connect: DirectConnect | None
    shares: int = 3
    threshold: int = 2
    unseal_timeout: float = 60.0
    unseal_keys: list[str] | None = None  # what the config's vaultUnsealKeys would give (None: init's shares)
    root_token: str | None = None  # the config's vaultRootToken (None: init's root token)
    admin_policy: str | None = None
    resources: dict[str, EngineResource] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for step in STEPS:
            self.set_faults(step)

    def set_faults(self, step: str, *faults: Fault) -> None:
        """A new provider pickle for ``step`` (the engine takes it from the program's inputs on each run)."""
        cls, type_, name = PROVIDERS[step]
        connect = self.connect.with_faults(*faults) if self.connect is not None else None
        if step in self.resources:
            resource = self.resources[step]
            resource.provider = cls(connect)
            resource.blob = provider_blob(resource.provider)
        else:
            self.resources[step] = EngineResource(self.server, cls(connect), name, type_)

    def __getitem__(self, step: str) -> EngineResource:
        return self.resources[step]

    def props(self, step: str) -> dict[str, Any]:
        conn = self.cluster.connection()
        init = self["init"].outs
        if step == "init":
            return init_inputs(connection=conn, secret_shares=self.shares, secret_threshold=self.threshold)
        if step == "unseal":
            keys = self.unseal_keys if self.unseal_keys is not None else init["keys_b64"]
            return unseal_inputs(
                connection=conn, keys=keys, threshold=self.threshold, timeout_seconds=self.unseal_timeout
            )
        token = self.root_token if self.root_token is not None else init["root_token"]
        if step == "bootstrap":
            return bootstrap_inputs(connection=conn, root_token=token, admin_policy=self.admin_policy)
        return revoke_inputs(connection=conn, root_token=token, role_id=self["bootstrap"].outs["role_id"])

    def up(self, steps: tuple[str, ...] = STEPS) -> dict[str, str]:
        """One `pulumi up` over ``steps`` in order; raises at the first failing step (later ones do not run)."""
        return {step: self[step].up(self.props(step)) for step in steps}

    @property
    def secrets(self) -> list[str]:
        init, boot = self["init"].outs, self["bootstrap"].outs
        return [
            s
            for s in [*init.get("keys", []), *init.get("keys_b64", []), init.get("root_token"), boot.get("secret_id")]
            if s
        ]


def wait_for_voters(cluster: BaoCluster, token: str, count: int, timeout: float = 40) -> list[str]:
    """Poll autopilot until ``count`` voters (nodes 1-2 join as non-voters and are promoted later)."""
    import time

    import requests

    deadline = time.monotonic() + timeout
    session = cluster.session()
    while True:
        for node in cluster.nodes:
            try:
                resp = session.get(
                    f"{node.addr}/v1/sys/storage/raft/autopilot/state", headers={"X-Vault-Token": token}, timeout=5
                )
            except requests.RequestException:
                continue
            if resp.ok:
                voters = resp.json()["data"].get("voters") or []
                if len(voters) >= count:
                    return sorted(voters)
                break
        assert time.monotonic() < deadline, "autopilot did not promote all nodes to voters"
        time.sleep(0.2)


def token_works(cluster: BaoCluster, token: str) -> bool:
    """lookup-self on the active node (a revoked token answers 403)."""
    active = cluster.active_pod()
    assert active, "no active node"
    resp = cluster.session().get(
        f"{cluster.node(active).addr}/v1/auth/token/lookup-self", headers={"X-Vault-Token": token}, timeout=5
    )
    assert resp.status_code in (200, 403), resp.text
    return resp.status_code == 200


def approle_login(cluster: BaoCluster, role_id: str, secret_id: str) -> int:
    """The HTTP status of an AppRole login with these credentials (200 = they work)."""
    active = cluster.active_pod()
    assert active, "no active node"
    resp = cluster.session().post(
        f"{cluster.node(active).addr}/v1/auth/approle/login",
        json={"role_id": role_id, "secret_id": secret_id},
        timeout=5,
    )
    return resp.status_code
