"""Issue 15's config-injection attacks: free-form values that reach YAML, HCL, VSO templates or the registry's
config are validated by pattern before anything is registered, and a benign value changes only its own spot."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.settings.reader import ConfigError
from tests.fixtures.config import settings_of
from tests.harness.program import run_stack

EXTERNAL_S3 = {"s3": {"backend": "external", "endpoint": "https://s3.example.com"}}
EXTERNAL_S3_SECRETS = {"s3AccessKeyId": "AKIAEXAMPLE", "s3SecretAccessKey": "s3-secret"}
REMOTE = {"flux": {"gitUrl": "https://github.com/org/repo"}, "s3": {"backend": "minio"}}
PRIVATE_FLUX = {**REMOTE, "flux": {"gitUrl": "https://github.com/org/repo", "private": True}}

# (stack, base config, secrets, section, field): each one is substituted as text somewhere.
FIELDS = {
    "pki.organization": ("local", {}, {}, "pki", "organization"),
    "app.otlpEndpoint": ("local", {}, {}, "app", "otlpEndpoint"),
    "s3.region": ("local", {}, {}, "s3", "region"),
    "s3.endpoint": ("local", EXTERNAL_S3, EXTERNAL_S3_SECRETS, "s3", "endpoint"),
    "registry.username": ("local", {}, {}, "registry", "username"),
    # Without app.imageSource (the images it copies must be named on registry.host) and on an existing cluster
    # (the kind cluster's containerd config is keyed by the registry host, a key by design).
    "registry.host": (
        "local",
        {"app": {"imageSource": None}, "kubernetes": {"context": "prod"}},
        {},
        "registry",
        "host",
    ),
    "ingress.host": ("local", {}, {}, "ingress", "host"),
    "flux.branch": ("remote", REMOTE, {}, "flux", "branch"),
    "flux.tag": ("remote", REMOTE, {}, "flux", "tag"),
    "flux.semver": ("remote", REMOTE, {}, "flux", "semver"),
    "flux.gitUsername": ("remote", PRIVATE_FLUX, {"fluxGitToken": "t"}, "flux", "gitUsername"),
    "flux.gitUrl": ("remote", REMOTE, {}, "flux", "gitUrl"),
    "flux.path": ("remote", REMOTE, {}, "flux", "path"),
    "kubernetes.context": ("local", {}, {}, "kubernetes", "context"),
    "vault.kubeContext": ("local", {}, {}, "vault", "kubeContext"),
    "vault.externalAddress": ("local", {}, {}, "vault", "externalAddress"),
    "vault.advertiseAddress": ("local", {}, {}, "vault", "advertiseAddress"),
}
PAYLOADS = {
    "newline": "ok\nisCA: false",
    "colon-space": "ok: true",
    "brace": "ok{{ .Secrets }}",
    "quote": 'ok"',
    "dollar": "ok${ns_app}",
}


def _with(base: dict[str, Any], section: str, field: str, value: Any) -> dict[str, Any]:
    config = json.loads(json.dumps(base))
    config.setdefault(section, {})[field] = value
    return config


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
@pytest.mark.parametrize("key", FIELDS)
def test_an_injecting_value_is_refused_naming_the_key(key: str, payload: str):
    stack, base, secrets, section, field = FIELDS[key]
    with pytest.raises(ConfigError) as error:
        settings_of(stack, _with(base, section, field, payload), secrets)
    assert f"platform:{key}:" in str(error.value)
    assert "Fix: pulumi config set --path" in str(error.value)


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_an_injecting_env_name_or_value_is_refused(payload: str):
    with pytest.raises(ConfigError, match=r"platform:app\.env(\.\w+)?:"):
        settings_of("local", {"app": {"env": {payload: "on"}}})
    if "\n" in payload:
        with pytest.raises(ConfigError, match=r"platform:app\.env\.FEATURE_X: the value of FEATURE_X"):
            settings_of("local", {"app": {"env": {"FEATURE_X": payload}}})


def test_the_organisation_can_no_longer_turn_the_root_ca_off():
    """The issue's example: `pki.organization` breaking out of the root CA Certificate's YAML."""
    with pytest.raises(ConfigError, match=r"platform:pki\.organization: 'x\\n  isCA: false"):
        settings_of("local", {"pki": {"organization": "x\n  isCA: false\n  commonName: evil"}})


def test_env_may_not_override_what_the_platform_sets_for_the_app():
    run = run_stack("local")
    (config,) = [
        o for o in run.k8s_objects() if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "sms-proxy-config"
    ]
    assert {"PGSSLMODE", "DB_PASSWORD_FILE", "HASHING_SECRET_FILE"} <= set(config["data"])
    for name in config["data"]:
        with pytest.raises(ConfigError, match=rf"platform:app\.env\.{name}: {name} is set by the platform"):
            settings_of("local", {"app": {"env": {name: "x"}}})
    assert settings_of("local", {"app": {"env": {"FEATURE_X": 'on: "quoted" ${x} {y}'}}}).app.env


# --- the rendering-level property: a benign value lands where it belongs and nowhere else ---

BENIGN = {
    "pki.organization": "Acme Corp.",
    "app.otlpEndpoint": "http://collector.example:4318/v1",
    "s3.region": "eu-west-3",
    "s3.endpoint": "https://objects.example.net:9000",
    "registry.username": "pusher_1",
    "registry.host": "images.example.org",
    "ingress.host": "api.example.org",
    "flux.branch": "release/1.2",
    "flux.gitUsername": "bot@example",
}


def _flatten(value: Any, path: str, into: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{path}.{key}", into)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _flatten(item, f"{path}[{index}]", into)
    else:
        into[path] = value


def flattened(stack: str, config: dict[str, Any], secrets: dict[str, str]) -> dict[str, Any]:
    """Every input of every registered resource, as path -> leaf value."""
    run = run_stack(stack, config, secrets)
    into: dict[str, Any] = {}
    for registration in run.registrations:
        inputs = {k: v for k, v in registration.inputs.items() if k != "__provider"}
        _flatten(inputs, f"{registration.type}::{registration.name}", into)
    return into


@pytest.mark.parametrize("key", BENIGN)
def test_a_benign_value_changes_only_its_own_values(key: str):
    stack, base, secrets, section, field = FIELDS[key]
    before = flattened(stack, base, secrets)
    after = flattened(stack, _with(base, section, field, BENIGN[key]), secrets)
    assert set(after) == set(before), "a config value added or removed keys"
    changed = {path: after[path] for path in after if after[path] != before[path]}
    assert changed, f"{key} reached nothing"
    for path, value in changed.items():
        assert BENIGN[key] in str(value), (path, value)


def test_a_benign_env_entry_adds_exactly_one_key():
    before = flattened("local", {}, {})
    after = flattened("local", {"app": {"env": {"FEATURE_X": "on"}}}, {})
    added = set(after) - set(before)
    assert len(added) == 1 and next(iter(added)).endswith(".data.FEATURE_X")
    assert not set(before) - set(after)
