"""The unknown-key check's inputs: the key list the running program sees (what Pulumi's language host
passes in PULUMI_CONFIG / PULUMI_CONFIG_SECRET_KEYS, or the mock engine's set_all_config), and the declared
top-level keys, which must be exactly the keys the loader reads."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from components.settings import keys
from components.settings.keys import PLAIN_KEYS, SECRET_KEYS, PulumiConfigSource
from components.settings.load import load_settings
from components.settings.reader import closest
from tests.fixtures.config import REMOTE_OK, FakeConfig


@pytest.fixture
def no_runtime_config(monkeypatch):
    token = pulumi.runtime.config.CONFIG.set({})
    secret_token = pulumi.runtime.config._SECRET_KEYS.set(set())
    monkeypatch.delenv("PULUMI_CONFIG", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_SECRET_KEYS", raising=False)
    yield monkeypatch
    pulumi.runtime.config.CONFIG.reset(token)
    pulumi.runtime.config._SECRET_KEYS.reset(secret_token)


def test_keys_from_the_language_hosts_environment(no_runtime_config):
    """`pulumi up` runs the program with the stack's config as JSON in PULUMI_CONFIG (all namespaces)."""
    no_runtime_config.setenv(
        "PULUMI_CONFIG",
        json.dumps(
            {
                "platform:vault": '{"replicas":3}',
                "platform:vault.replicas": "5",
                "platform:fluxGitToken": "ghp_x",
                "kubernetes:context": "kind-x",
            }
        ),
    )
    no_runtime_config.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(["platform:fluxGitToken"]))
    assert PulumiConfigSource().keys() == {"vault": False, "vault.replicas": False, "fluxGitToken": True}


def test_keys_from_set_all_config(no_runtime_config):
    """The exec shim (and the mock engine) load the same map with set_all_config."""
    pulumi.runtime.set_all_config({"platform:valut": "{}", "aws:region": "x"}, ["platform:valut"])
    assert PulumiConfigSource().keys() == {"valut": True}


class Recording(FakeConfig):
    """FakeConfig that notes which top-level keys the loader asks for."""

    def __init__(self, values: dict[str, Any], secrets: dict[str, str] | None = None):
        super().__init__(values, secrets)
        self.read: set[str] = set()

    def get(self, key: str) -> Any:
        self.read.add(key)
        return super().get(key)

    def get_object(self, key: str) -> Any:
        self.read.add(key)
        return super().get_object(key)

    def get_secret(self, key: str) -> Any:
        self.read.add(key)
        return super().get_secret(key)


@pytest.mark.parametrize(("stack", "values"), [("local", {}), ("remote", REMOTE_OK)])
def test_the_declared_keys_are_the_keys_the_loader_reads(stack, values):
    """A key added to the loader but not to components/settings/keys.py would be refused as unknown."""
    source = Recording(values)
    load_settings(source, stack)
    assert source.read == {*PLAIN_KEYS, *SECRET_KEYS}


def test_every_secret_key_has_a_file_for_its_fix():
    assert all(keys.secret_fix(key).endswith(f"< {name}") for key, name in SECRET_KEYS.items())


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("ecdsa", "ECDSA"), ("Preferred", "preferred"), ("valut", "vault"), ("warning", "warn"), ("xyz", None)],
)
def test_closest(typed, meant):
    assert closest(typed, ["RSA", "ECDSA", "Ed25519", "preferred", "required", "vault", "warn"]) == meant
