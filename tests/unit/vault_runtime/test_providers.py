"""Provider plumbing, unit level: registration (secrets), pickling, check/diff rules, parsing, messages.

The engine path (a real ``python -m pulumi.dynamic`` over gRPC) is in test_engine_path.py and the
real-server behaviour in the other files of this directory; this covers what the engine relies on before any
Vault call: the resources register with secret inputs and additional_secret_outputs, the providers survive
the engine's dill round trip, and the rules themselves (called directly: unit-level logic only).
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import dill
import pulumi
import pulumi.runtime.settings as runtime_settings
import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks

from components.vault_runtime import flavour
from components.vault_runtime.admin_policy import admin_policy_hcl, admin_policy_rules, assert_least_privilege
from components.vault_runtime.operations import Health, InitResult, redact
from components.vault_runtime.providers import (
    UNKNOWN,
    VaultBootstrap,
    VaultBootstrapProvider,
    VaultInit,
    VaultInitProvider,
    VaultRootTokenRevokeProvider,
    VaultUnseal,
    VaultUnsealProvider,
    bootstrap_inputs,
    init_inputs,
    unseal_inputs,
)
from components.vault_runtime.steps.shares import distinct
from components.vault_runtime.transport import VaultConnection
from components.vault_runtime.values import as_int, is_unknown, key_list

CONN = VaultConnection(kube_context="", namespace="vault", pods=("vault-0", "vault-1", "vault-2"), ca_pem="PEM")


def no_transport(_conn):
    raise AssertionError("this decision must not contact Vault")


# --- registration under mocks ------------------------------------------------------------------------------------


class _Mocks(Mocks):
    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


class _Monitor(MockMonitor):
    """Keeps what MockResourceArgs drops: secret inputs and additionalSecretOutputs (REFERENCE §4)."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.seen: dict[str, dict[str, Any]] = {}

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        props = rpc.deserialize_properties(request.object, keep_unknowns=True)
        self.seen[request.name] = {
            "type": request.type,
            "secret_inputs": sorted(k for k, v in props.items() if rpc.is_rpc_secret(v)),
            "additional_secret_outputs": sorted(request.additionalSecretOutputs),
            "dependencies": list(request.dependencies),
            "live_check": rpc.unwrap_rpc_secret(props.get("live_check")),
        }
        return response


def test_resources_register_with_secrets_and_dependencies() -> None:
    runtime_settings.ROOT.set(None)  # a fresh engine (REFERENCE §4)
    mocks = _Mocks()
    monitor = _Monitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="platform", stack="vault-providers", preview=False, monitor=monitor)

    @pulumi.runtime.test
    def program():
        init = VaultInit("vault-init", connection=CONN, secret_shares=5, secret_threshold=3)
        unseal = VaultUnseal(
            "vault-unseal",
            connection=CONN,
            keys=init.keys_b64,
            threshold=3,
            opts=pulumi.ResourceOptions(depends_on=[init]),
        )
        VaultBootstrap(
            "vault-bootstrap",
            connection=CONN.to_props(),
            root_token=init.root_token,
            opts=pulumi.ResourceOptions(depends_on=[unseal]),
        )
        return init.id

    program()
    seen = monitor.seen
    assert seen["vault-init"]["type"] == "pulumi-python:dynamic/vault:Init"
    assert seen["vault-init"]["additional_secret_outputs"] == [
        "keys", "keys_b64", "recovery_keys", "recovery_keys_b64", "root_token"
    ]  # fmt: skip
    assert "__provider" in seen["vault-init"]["secret_inputs"]  # the pickled provider is a secret too
    assert "keys" in seen["vault-unseal"]["secret_inputs"]
    assert "root_token" in seen["vault-bootstrap"]["secret_inputs"]
    assert seen["vault-bootstrap"]["additional_secret_outputs"] == ["root_token", "secret_id"]
    deps = seen["vault-bootstrap"]["dependencies"]
    assert any(d.endswith("::vault-unseal") for d in deps) and any(d.endswith("::vault-init") for d in deps)
    # The root token is revoked by a separate step that waits for the bootstrap's persisted outputs.
    revoke = seen["vault-bootstrap-revoke-root"]
    assert revoke["type"] == "pulumi-python:dynamic/vault:RootTokenRevoke"
    assert "root_token" in revoke["secret_inputs"] and revoke["additional_secret_outputs"] == ["root_token"]
    assert any(d.endswith("::vault-bootstrap") for d in revoke["dependencies"])
    runtime_settings.ROOT.set(None)


@pytest.mark.parametrize("live_check", [True, False])
def test_unseal_registers_live_check_as_given(live_check: bool) -> None:
    """The program passes `not settings.preview` (tests/unit/stacks/test_preview_mode.py); the diff reads it."""
    runtime_settings.ROOT.set(None)
    mocks = _Mocks()
    monitor = _Monitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="platform", stack="vault-providers", preview=False, monitor=monitor)

    @pulumi.runtime.test
    def program():
        return VaultUnseal("vault-unseal", connection=CONN, keys=["k"], threshold=2, live_check=live_check).id

    program()
    assert monitor.seen["vault-unseal"]["live_check"] is live_check
    runtime_settings.ROOT.set(None)


@pytest.mark.parametrize(
    "cls", [VaultInitProvider, VaultUnsealProvider, VaultBootstrapProvider, VaultRootTokenRevokeProvider]
)
def test_providers_survive_the_engines_pickle_round_trip(cls) -> None:
    restored = dill.loads(base64.b64decode(serialize_provider(cls())))  # noqa: S301 (our own bytes, as the engine does)
    assert type(restored).__name__ == cls.__name__
    assert restored._connect is None  # production transport, chosen at call time


def test_providers_load_in_a_fresh_interpreter_in_the_project_dir() -> None:
    """What the engine's dynamic-provider process does: unpickle (classes by reference: the project directory
    must be importable, i.e. the process runs there) and call a method, without registering any resource."""
    payload = serialize_provider(VaultBootstrapProvider())
    code = (
        "import base64, dill, sys\n"
        f"p = dill.loads(base64.b64decode({payload!r}))\n"
        "olds = {'connection': {'pods': ['vault-0']}, 'root_token': 't'}\n"
        "print(p.diff('id', olds, dict(olds)).changes)\n"
    )
    repo = Path(__file__).resolve().parents[3]
    out = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False"


# --- check / diff rules ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shares", "threshold", "pgp", "field"),
    [
        (0, 1, None, "secret_shares"),
        (3, 4, None, "secret_threshold"),
        (3, 1, None, "secret_threshold"),
        (3, 2, ["k1", "k2"], "pgp_keys"),
    ],
)
def test_init_check_rejects_bad_settings(shares: int, threshold: int, pgp: list[str] | None, field: str) -> None:
    props = init_inputs(connection=CONN, secret_shares=shares, secret_threshold=threshold, pgp_keys=pgp)
    failures = VaultInitProvider(no_transport).check({}, props).failures
    assert [f.property for f in failures] == [field]


def test_init_check_accepts_good_and_unknown_settings() -> None:
    for shares, threshold in ((1, 1), (5, 3), (UNKNOWN, 2)):
        props = init_inputs(connection=CONN, secret_shares=shares, secret_threshold=threshold)
        assert VaultInitProvider(no_transport).check({}, props).failures == []


def test_init_diff_ignores_connection_changes_and_flags_setting_changes() -> None:
    olds = init_inputs(connection=CONN, secret_shares=5, secret_threshold=3)
    moved = {**olds, "connection": {**olds["connection"], "kube_context": "prod", "ca_pem": "NEW"}}
    provider = VaultInitProvider(no_transport)
    assert provider.diff("id", olds, moved).changes is False
    assert provider.diff("id", olds, {**olds, "pgp_keys": []}).changes is False  # None and [] are the same
    assert provider.diff("id", olds, {**olds, "secret_threshold": 4}).changes is True


def test_unseal_diff_with_unknown_keys_reports_change_without_contacting_vault() -> None:
    news = unseal_inputs(connection=CONN, keys=UNKNOWN, threshold=3)
    assert VaultUnsealProvider(no_transport).diff("id", {}, news).changes is True


def test_bootstrap_diff_treats_omitted_policy_as_the_default() -> None:
    olds = {**bootstrap_inputs(connection=CONN, root_token="t"), "admin_policy": admin_policy_hcl()}
    news = bootstrap_inputs(connection=CONN, root_token="t")
    provider = VaultBootstrapProvider(no_transport)
    assert provider.diff("id", olds, news).changes is False
    assert provider.diff("id", olds, {**news, "token_ttl": 600}).changes is True
    # The root token is what an update would use, never a reason for one: a break-glass token set or removed
    # (`pulumi config rm vaultRootToken`) changes nothing by itself.
    assert provider.diff("id", olds, {**news, "root_token": "break-glass"}).changes is False
    assert provider.diff("id", {**olds, "root_token": "break-glass"}, news).changes is False


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["a", "b"], ["a", "b"]),
        (json.dumps(["a", "b"]), ["a", "b"]),
        ("single", ["single"]),
        (None, []),
        (["a", "", None], ["a"]),
    ],
)
def test_keys_accept_a_list_or_the_config_json_string(value: Any, expected: list[str]) -> None:
    assert key_list(value) == expected


def test_numbers_and_unknowns_as_the_engine_sends_them() -> None:
    assert as_int(3.0) == 3 and as_int(3) == 3
    assert as_int(3.5) is None and as_int(True) is None and as_int("3") is None
    assert is_unknown(pulumi.output.Unknown()) and is_unknown(UNKNOWN)
    assert is_unknown({"connection": {"ca_pem": pulumi.output.Unknown()}})
    assert is_unknown(["k1", pulumi.output.Unknown()])
    assert not is_unknown({"pods": ["vault-0"], "port": 8200.0})


def test_shares_are_distinct_by_their_bytes() -> None:
    raw = bytes(range(33))
    hex_form, b64_form = raw.hex(), base64.b64encode(raw).decode()
    other = base64.b64encode(bytes(33)).decode()
    assert distinct([b64_form, hex_form, b64_form, other, "", "junk!"]) == [b64_form, other, "junk!"]


# --- messages never show secrets ---------------------------------------------------------------------------------


def test_results_do_not_show_secrets_in_repr() -> None:
    result = InitResult(keys=["hexshare"], keys_b64=["b64share"], root_token="s.roottoken")
    assert "share" not in repr(result) and "roottoken" not in repr(result)
    assert (
        redact("bad key b64share for s.roottoken", ["b64share", "s.roottoken"]) == "bad key <redacted> for <redacted>"
    )


def test_health_descriptions_name_the_state() -> None:
    assert Health(reachable=False, error="ConnectionError").describe() == "unreachable (ConnectionError)"
    assert Health(reachable=True, initialized=False).describe() == "uninitialised (not joined)"
    assert Health(reachable=True, initialized=True, sealed=False, standby=False).active


# --- flavour -----------------------------------------------------------------------------------------------------


def test_flavour_detection() -> None:
    assert flavour.detect({"version": "2.7.2", "commit_date": "2026-10-26"}) is flavour.Flavour.OPENBAO
    assert flavour.detect({"version": "1.18.1", "build_date": "2024-10-29"}) is flavour.Flavour.VAULT
    assert flavour.detect({}) is flavour.Flavour.VAULT
    assert "disable_unauthed_generate_root_endpoints" in flavour.generate_root_hint("openbao")
    assert "disable_unauthed" not in flavour.generate_root_hint("vault")


def test_otp_decoding() -> None:
    otp = "GwczEYXFstGlUIhIXktB3lzD98"
    token = "s.abcdefghijklmnopqrstuvwx"
    encoded = base64.b64encode(bytes(a ^ b for a, b in zip(token.encode(), otp.encode(), strict=True))).decode()
    assert flavour.decode_otp_token(encoded.rstrip("="), otp) == token


# --- admin policy ------------------------------------------------------------------------------------------------


def test_admin_policy_is_exact_paths_only() -> None:
    rules = admin_policy_rules(kv_entries=["kv/app/s3-registry"])
    assert all("*" not in path and "+" not in path for path in rules)
    assert rules["sys/policies/acl/platform-admin"].capabilities == ("read",)  # cannot rewrite itself
    assert "sys/policies/acl/default" not in rules and not any(p.startswith("sys/policy/") for p in rules)
    assert "auth/token/create" not in rules
    assert not any(p.startswith(("sys/raw", "sys/generate-root", "sys/rekey", "sys/audit")) for p in rules)
    assert [p for p in rules if p.startswith("auth/approle")] == [
        "auth/approle/role/platform-admin/secret-id",
        "auth/approle/role/platform-admin/secret-id-accessor/destroy",
    ]
    assert_least_privilege(admin_policy_hcl())
    for path in ("*", "sys/policies/acl/+"):
        with pytest.raises(ValueError, match="exact paths"):
            assert_least_privilege(f'path "{path}" {{\n  capabilities = ["sudo"]\n}}\n')


@pytest.mark.parametrize(
    ("cls", "old_module"),
    [
        (VaultInitProvider, "components.vault_runtime.providers"),
        (VaultUnsealProvider, "components.vault_runtime.providers"),
        (VaultBootstrapProvider, "components.vault.providers"),  # before the restructure
    ],
)
def test_state_pickled_under_an_old_module_path_still_loads(cls: type, old_module: str) -> None:
    """Stacks hold providers pickled by class reference: the module path of that time must still resolve."""
    new_module = cls.__module__
    cls.__module__ = old_module  # what dill recorded before the provider classes moved
    try:
        payload = serialize_provider(cls())
    finally:
        cls.__module__ = new_module
    assert old_module.encode() in base64.b64decode(payload)
    code = (
        "import base64, dill\n"
        f"p = dill.loads(base64.b64decode({payload!r}))\n"
        "print(type(p).__module__, type(p).__name__)\n"
    )
    repo = Path(__file__).resolve().parents[3]
    out = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == [new_module, cls.__name__]
