"""The Vault providers' Check and Diff as the engine calls them, before any Vault exists.

Through tests/harness/engine.py (a real ``python -m pulumi.dynamic``, inputs serialized by the SDK): numbers
arrive as floats, and a preview's unknown inputs as ``Unknown`` objects, also nested. Check must accept the
program's real inputs, and a preview must neither crash nor contact Vault: the production transport runs a
fake kubectl that logs every call, and that log must stay empty.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pulumi.output import Unknown

from components.vault_runtime.dynamic.revoke_provider import token_digest
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
from components.vault_runtime.transport import VaultConnection
from tests.fixtures.openbao import FakeKubectl, install_fake_kubectl
from tests.harness.engine import DynamicProviderServer, EngineResource, ProviderError

pytest_plugins = ["tests.fixtures.openbao"]

CONN = VaultConnection(kube_context="kind-dev", namespace="vault", pods=("vault-0", "vault-1", "vault-2"), ca_pem="PEM")


@pytest.fixture(scope="module")
def kubectl_and_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeKubectl, DynamicProviderServer]]:
    """A provider process whose PATH starts with a fake kubectl that knows no pod (and logs every call)."""
    with pytest.MonkeyPatch.context() as mp:
        kubectl = install_fake_kubectl(tmp_path_factory.mktemp("kubectl"), {}, mp)
        with DynamicProviderServer() as server:
            yield kubectl, server


@pytest.fixture
def server(kubectl_and_server) -> Iterator[DynamicProviderServer]:
    kubectl, server = kubectl_and_server
    yield server
    assert kubectl.calls() == [], "a check or preview contacted Vault"


def resource(server: DynamicProviderServer, cls: type, name: str, outputs: dict | None = None) -> EngineResource:
    res = EngineResource(server, cls(), name)
    if outputs is not None:  # an existing resource: its recorded state
        res.id, res.outputs = f"{name}-id", {**outputs, "__provider": res.blob}
    return res


def test_dynamic_provider_does_not_accept_secrets(server: DynamicProviderServer) -> None:
    assert server.configure_response is not None and server.configure_response.acceptSecrets is False


def test_init_check_accepts_the_programs_integers(server: DynamicProviderServer) -> None:
    """The integers cross a Struct as 5.0 and 3.0: the program's real inputs must pass Check."""
    init = resource(server, VaultInitProvider, "vault-init")
    for shares, threshold in ((1, 1), (5, 3)):
        assert init.check(init_inputs(connection=CONN, secret_shares=shares, secret_threshold=threshold))[1] == []


@pytest.mark.parametrize(
    ("shares", "threshold", "pgp", "field"),
    [
        (0, 1, None, "secret_shares"),
        (2.5, 1, None, "secret_shares"),
        (3, 4, None, "secret_threshold"),
        (3, 1, None, "secret_threshold"),
        (3, 2, ["k1", "k2"], "pgp_keys"),  # the PGP count check runs with float shares too
    ],
)
def test_init_check_rejects_bad_settings(server: DynamicProviderServer, shares, threshold, pgp, field) -> None:
    init = resource(server, VaultInitProvider, "vault-init")
    props = init_inputs(connection=CONN, secret_shares=shares, secret_threshold=threshold, pgp_keys=pgp)
    assert [f for f, _ in init.check(props)[1]] == [field]


def test_init_preview_with_unknown_settings(server: DynamicProviderServer) -> None:
    init = resource(server, VaultInitProvider, "vault-init")
    unknown = init_inputs(connection=CONN, secret_shares=Unknown(), secret_threshold=2, pgp_keys=[Unknown()])
    assert init.preview(unknown).failures == []
    state = init_inputs(connection=CONN, secret_shares=5, secret_threshold=3)
    existing = resource(server, VaultInitProvider, "vault-init", state)
    assert existing.preview({**state, "connection": {**CONN.to_props(), "ca_pem": Unknown()}}).diff.changes is False
    assert existing.preview(state).diff.changes is False  # 5.0 == 5: no perpetual diff
    assert existing.preview({**state, "secret_threshold": Unknown()}).diff.changes is True


@pytest.mark.parametrize(
    "news",
    [
        unseal_inputs(connection=CONN, keys=Unknown(), threshold=3),
        unseal_inputs(connection=CONN, keys=["k1", Unknown()], threshold=3),
        unseal_inputs(connection={**CONN.to_props(), "ca_pem": Unknown()}, keys=["k1"], threshold=3),
        unseal_inputs(connection={**CONN.to_props(), "pods": [Unknown()]}, keys=["k1"], threshold=3),
    ],
)
def test_unseal_preview_with_unknowns_reports_a_change_without_contacting_vault(
    server: DynamicProviderServer, news: dict
) -> None:
    state = unseal_inputs(connection=CONN, keys=["k1"], threshold=3)
    unseal = resource(server, VaultUnsealProvider, "vault-unseal", state)
    preview = unseal.preview(news)
    assert preview.failures == [] and preview.diff is not None and preview.diff.changes is True


def test_bootstrap_and_revoke_previews_with_unknown_tokens(server: DynamicProviderServer) -> None:
    state = {**bootstrap_inputs(connection=CONN, root_token="t"), "role_id": "r", "secret_id": "s"}
    boot = resource(server, VaultBootstrapProvider, "vault-bootstrap", state)
    inputs = bootstrap_inputs(connection=CONN, root_token="t")
    assert boot.preview(inputs).diff.changes is False  # 3600.0 == 3600, the default policy normalised
    assert boot.preview({**inputs, "token_ttl": 600}).diff.changes is True
    # root_token is never a reason for an update: unknown (before init), or a break-glass token set or removed.
    assert boot.preview({**inputs, "root_token": Unknown()}).diff.changes is False
    assert boot.preview({**inputs, "root_token": "break-glass"}).diff.changes is False
    assert boot.preview({**inputs, "admin_policy": Unknown()}).diff.changes is True
    revoke_state = {**revoke_inputs(connection=CONN, root_token="t", role_id="r"), "revoked": True}
    revoke = resource(server, VaultRootTokenRevokeProvider, "vault-bootstrap-revoke-root", revoke_state)
    same = revoke_inputs(connection={**CONN.to_props(), "ca_pem": Unknown()}, root_token="t", role_id="r")
    assert revoke.preview(same).diff.changes is False
    assert revoke.preview({**same, "root_token": Unknown()}).diff.changes is True
    assert revoke.preview({**same, "root_token": "break-glass"}).diff.changes is True
    # After the break-glass token was revoked, `pulumi config rm vaultRootToken` brings back init's token:
    # revoked long ago (recorded in the state), so no change.
    after = {**revoke_state, "root_token": "bg", "revoked_sha256": [token_digest("t"), token_digest("bg")]}
    revoked_twice = resource(server, VaultRootTokenRevokeProvider, "vault-bootstrap-revoke-root", after)
    assert revoked_twice.preview(same).diff.changes is False
    assert revoked_twice.preview({**same, "root_token": "another"}).diff.changes is True


def test_unseal_preview_decides_from_the_state_without_kubectl(server: DynamicProviderServer) -> None:
    """What the program registers in a preview (live_check False): no kubectl, whatever the pods' state;
    a change only for pods the last run left unavailable (the fixture asserts no kubectl call)."""
    state = {**unseal_inputs(connection=CONN, keys=["k1"], threshold=3), "unavailable_pods": []}
    unseal = resource(server, VaultUnsealProvider, "vault-unseal", state)
    preview = unseal_inputs(connection=CONN, keys=["k1"], threshold=3, live_check=False)
    assert unseal.preview(preview).diff.changes is False
    for mode in ({"auto_unseal": True, "keys": []}, {"shares_on_demand": True, "keys": []}):
        assert unseal.preview({**preview, **mode}).diff.changes is False
    left_over = resource(server, VaultUnsealProvider, "vault-unseal", {**state, "unavailable_pods": ["vault-2"]})
    assert left_over.preview(preview).diff.changes is True


def test_unseal_diff_in_an_up_does_probe_the_pods(fake_kubectl) -> None:
    """The counter-check: the same diff with live_check True (a real `pulumi up`) starts kubectl."""
    kubectl = fake_kubectl({})
    with DynamicProviderServer() as server:
        state = unseal_inputs(connection=CONN, keys=["k1"], threshold=3)
        unseal = resource(server, VaultUnsealProvider, "vault-unseal", state)
        assert unseal.preview(unseal_inputs(connection=CONN, keys=["k1"], threshold=3)).diff.changes is True
    assert any("port-forward" in argv for argv in kubectl.calls())


def test_errors_reach_the_engine_without_secrets(fake_kubectl) -> None:
    """A create against pods kubectl cannot reach fails with a message naming them, and no secret in it."""
    kubectl = fake_kubectl({})  # no pod exists
    with DynamicProviderServer() as server:
        unseal = resource(server, VaultUnsealProvider, "vault-unseal")
        keys = ["secret-share-one", "secret-share-two"]
        with pytest.raises(ProviderError) as err:
            unseal.up(unseal_inputs(connection=CONN, keys=keys, threshold=2, timeout_seconds=2))
    assert "vault-0: unreachable" in err.value.details and "vault-2: unreachable" in err.value.details
    assert "secret-share" not in err.value.details
    assert kubectl.calls(), "the create went through the production kubectl transport"
    assert not any("secret-share" in arg for argv in kubectl.calls() for arg in argv)
