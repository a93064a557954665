"""Bad configuration fails once, naming the key and the fix, before any resource is registered."""

from __future__ import annotations

import pulumi
import pytest

from components.settings.load import load_settings
from components.settings.reader import ConfigError, Section
from tests.fixtures.config import REMOTE_OK, TRANSIT_SEAL, FakeConfig
from tests.fixtures.pulumi_cli import StackConfig, apply_fix

# (stack, config, secrets, the key the message must name, a word of the fix)
BAD_CONFIG = [
    ("local", {"mode": "staging"}, {}, "platform:mode", "pulumi config set mode"),
    ("dev", {}, {}, "platform:mode", "pulumi config set mode"),
    ("local", {"vault": {"replicas": "three"}}, {}, "platform:vault.replicas", "--path 'vault.replicas'"),
    ("local", {"vault": {"replicas": 2}}, {}, "platform:vault.replicas", "odd"),
    ("local", {"vault": {"replicas": 9}}, {}, "platform:vault.replicas", "out of range"),
    ("local", {"vault": {"replicas": True}}, {}, "platform:vault.replicas", "whole number"),
    ("local", {"vault": {"keyShares": 3, "keyThreshold": 4}}, {}, "platform:vault.keyThreshold", "greater"),
    (
        "local",
        {"vault": {"keyShares": 3, "keyThreshold": 1}},
        {},
        "platform:vault.keyThreshold",
        "single share",
    ),
    ("local", {"vault": {"antiAffinity": "soft"}}, {}, "platform:vault.antiAffinity", "required, preferred"),
    (
        "local",
        {"vault": {"keyShares": 2, "keyThreshold": 2, "pgpKeys": ["a"]}},
        {},
        "platform:vault.pgpKeys",
        "one per share",
    ),
    (
        "local",
        {"vault": {"seal": TRANSIT_SEAL}},
        {"vaultSealToken": "transit-token-value", "vaultUnsealKeys": '["share-one"]'},
        "platform:vaultUnsealKeys",
        "config rm vaultUnsealKeys",
    ),
    ("local", {"vault": {"replica": 3}}, {}, "platform:vault.replica", "config rm"),
    ("local", {"vault": "big"}, {}, "platform:vault", "expected an object"),
    ("local", {"namespaces": {"app": "SMS_Proxy"}}, {}, "platform:namespaces.app", "DNS-1123"),
    ("local", {"namespaces": {"vault": "v" * 64}}, {}, "platform:namespaces.vault", "63"),
    ("local", {"pki": {"keyAlgorithm": "DSA"}}, {}, "platform:pki.keyAlgorithm", "RSA"),
    ("local", {"pki": {"keyAlgorithm": "ECDSA", "keySize": 4096}}, {}, "platform:pki.keySize", "ECDSA"),
    ("local", {"pki": {"leafDuration": "90 days"}}, {}, "platform:pki.leafDuration", "duration"),
    (
        "local",
        {"pki": {"leafDuration": "24h", "leafRenewBefore": "48h"}},
        {},
        "platform:pki.leafRenewBefore",
        "shorter",
    ),
    (
        "local",
        {"pki": {"intermediateCaDuration": "90000h"}},
        {},
        "platform:pki.intermediateCaDuration",
        "root CA",
    ),
    ("remote", {"mode": "remote", "s3": {"backend": "minio"}}, {}, "platform:flux.gitUrl", "Git URL"),
    (
        "remote",
        {**REMOTE_OK, "flux": {"gitUrl": "git@github.com:org/repo.git"}},
        {},
        "platform:flux.gitUrl",
        "ssh://",
    ),
    (
        "remote",
        {**REMOTE_OK, "flux": {"gitUrl": "ftp://example.com/repo"}},
        {},
        "platform:flux.gitUrl",
        "https://",
    ),
    (
        "remote",
        {**REMOTE_OK, "flux": {"gitUrl": "https://github.com/org/repo", "branch": "main", "tag": "v1"}},
        {},
        "platform:flux.tag",
        "only one",
    ),
    (
        "remote",
        {**REMOTE_OK, "flux": {"gitUrl": "ssh://git@github.com/org/repo"}},
        {},
        "platform:fluxGitSshKey",
        "--secret",
    ),
    (
        "remote",
        {**REMOTE_OK, "flux": {"gitUrl": "ssh://git@github.com/org/repo"}},
        {"fluxGitSshKey": "k"},
        "platform:flux.knownHosts",
        "ssh-keyscan",
    ),
    (
        "remote",
        {**REMOTE_OK, "flux": {"gitUrl": "https://github.com/org/repo", "private": True}},
        {},
        "platform:fluxGitToken",
        "--secret",
    ),
    ("remote", {**REMOTE_OK, "s3": {"backend": "external"}}, {}, "platform:s3.endpoint", "https://"),
    (
        "remote",
        {**REMOTE_OK, "s3": {"backend": "external", "endpoint": "https://s3.example"}},
        {},
        "platform:s3AccessKeyId",
        "--secret",
    ),
    ("local", {"s3": {"backend": "gcs"}}, {}, "platform:s3.backend", "minio"),
    ("local", {"registry": {"mode": "external"}}, {}, "platform:registry.host", "host"),
    (
        "local",
        {"registry": {"mode": "external", "host": "r.example.com"}},
        {},
        "platform:registryPassword",
        "--secret",
    ),
    ("local", {"app": {"image": "sms-proxy:latest"}}, {}, "platform:app.image", "latest"),
    ("local", {"app": {"image": "sms-proxy"}}, {}, "platform:app.image", "tag or digest"),
    ("local", {"app": {"httpPort": 4000}}, {}, "platform:app.metricsPort", "differ"),
    ("local", {"app": {"replicas": 0}}, {}, "platform:app.replicas", "out of range"),
    ("local", {"app": {"secretsDelivery": "env"}}, {}, "platform:app.secretsDelivery", "vso, csi"),
    ("local", {"postgres": {"storageSize": "ten gigs"}}, {}, "platform:postgres.storageSize", "quantity"),
    ("local", {"ingress": {"host": "Bad_Host"}}, {}, "platform:ingress.host", "DNS name"),
    ("local", {"ingress": {"clientApps": ["Billing_App"]}}, {}, "platform:ingress.clientApps", "DNS-1123"),
    ("local", {"ingress": {"clientApps": ["billing", "billing"]}}, {}, "platform:ingress.clientApps", "unique"),
    (
        "local",
        {"kubernetes": {"cluster": {"create": "yes"}}},
        {},
        "platform:kubernetes.cluster.create",
        "true or false",
    ),
    # The local kind cluster (issue 9): local stack only, its own kubeconfig, distinct host ports.
    (
        "remote",
        {**REMOTE_OK, "kubernetes": {"cluster": {"create": True}}},
        {},
        "platform:kubernetes.cluster.create",
        "only the local stack",
    ),
    (
        "local",
        {"kubernetes": {"context": "kind-x", "cluster": {"create": True}}},
        {},
        "platform:kubernetes.cluster.create",
        "choose one",
    ),
    (
        "local",
        {"kubernetes": {"cluster": {"create": True, "httpPort": 8443}}},
        {},
        "platform:kubernetes.cluster.httpsPort",
        "differ",
    ),
    ("local", {"kubernetes": {"cluster": {"workers": 9}}}, {}, "platform:kubernetes.cluster.workers", "out of range"),
    # Vault elsewhere (issue 9): a second cluster or an existing Vault, never both; TLS only; CA required.
    (
        "local",
        {
            "vault": {
                "kubeContext": "vault-cluster",
                "advertiseAddress": "https://vault.example.com",
                "externalAddress": "https://vault.example.com",
                "externalCaCert": "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----",
            }
        },
        {},
        "platform:vault.externalAddress",
        "not both",
    ),
    (
        "local",
        {"vault": {"externalAddress": "http://vault.example.com:8200"}},
        {},
        "platform:vault.externalAddress",
        "https://",
    ),
    ("local", {"vault": {"externalAddress": "https://vault.example.com"}}, {}, "platform:vault.externalCaCert", "PEM"),
    (
        "local",
        {"vault": {"externalCaCert": "-----BEGIN CERTIFICATE-----"}},
        {},
        "platform:vault.externalCaCert",
        "only used with externalAddress",
    ),
    ("local", {"vault": {"kubeContext": "vault-cluster"}}, {}, "platform:vault.advertiseAddress", "another cluster"),
    (
        "local",
        {"vault": {"advertiseAddress": "https://v.example.com"}},
        {},
        "platform:vault.advertiseAddress",
        "kubeContext",
    ),
    # Vault in a second cluster reviews this cluster's tokens at its API server: the address is required.
    (
        "local",
        {"vault": {"kubeContext": "vault-cluster", "advertiseAddress": "https://v.example.com"}},
        {},
        "platform:vault.appApiAddress",
        "reachable from the Vault cluster",
    ),
    (
        "local",
        {"vault": {"appApiAddress": "https://api.example.com:6443"}},
        {},
        "platform:vault.appApiAddress",
        "outside",
    ),
    (
        "local",
        {"vault": {"externalAddress": "https://v.example.com", "appApiAddress": "http://api.example.com"}},
        {},
        "platform:vault.appApiAddress",
        "https://",
    ),
    # An existing Vault's AppRole for the program: both credentials, only with externalAddress, and Kubernetes
    # auth then needs this cluster's API address.
    ("local", {}, {"vaultExternalRoleId": "r", "vaultExternalSecretId": "s"}, "platform:vaultExternalRoleId", "rm"),
    ("local", {}, {"vaultExternalSecretId": "s"}, "platform:vaultExternalSecretId", "externalAddress"),
    (
        "local",
        {"vault": {"externalAddress": "https://v.example.com", "externalCaCert": "-----BEGIN CERTIFICATE-----"}},
        {"vaultExternalRoleId": "r"},
        "platform:vaultExternalSecretId",
        "--secret vaultExternalSecretId",
    ),
    (
        "local",
        {"vault": {"externalAddress": "https://v.example.com", "externalCaCert": "-----BEGIN CERTIFICATE-----"}},
        {"vaultExternalSecretId": "s"},
        "platform:vaultExternalRoleId",
        "--secret vaultExternalRoleId",
    ),
    (
        "local",
        {"vault": {"externalAddress": "https://v.example.com", "externalCaCert": "-----BEGIN CERTIFICATE-----"}},
        {"vaultExternalRoleId": "r", "vaultExternalSecretId": "s"},
        "platform:vault.appApiAddress",
        "reviews",
    ),
]


@pytest.mark.parametrize(
    ("stack", "config", "secrets", "key", "fix"), BAD_CONFIG, ids=[c[3] + ":" + c[4] for c in BAD_CONFIG]
)
def test_bad_config_names_the_key_and_the_fix(stack, config, secrets, key, fix):
    with pytest.raises(ConfigError) as caught:
        load_settings(FakeConfig(config, secrets), stack)
    message = str(caught.value)
    assert message.startswith(key + ":"), message
    assert fix in message, message
    # The fix is a real command line and, run on this config, takes this error away.
    fixed = apply_fix(message, StackConfig(config, secrets))
    try:
        load_settings(FakeConfig(fixed.values, fixed.secrets), stack)
    except ConfigError as again:
        assert not str(again).startswith(key + ":"), f"{message}\n-> still: {again}"


def test_defaults_per_mode():
    local = load_settings(FakeConfig({}), "local")
    remote = load_settings(FakeConfig(REMOTE_OK), "remote")
    assert (local.vault.key_shares, local.vault.key_threshold) == (3, 2)
    assert (remote.vault.key_shares, remote.vault.key_threshold) == (5, 3)
    assert local.s3.backend == "minio"
    external = FakeConfig(
        {"mode": "remote", "flux": REMOTE_OK["flux"], "s3": {"endpoint": "https://s3.example"}},
        {"s3AccessKeyId": "a", "s3SecretAccessKey": "b"},
    )
    assert load_settings(external, "remote").s3.backend == "external"
    assert local.flux.branch == "main" and remote.flux.path == "manifests"


def test_secrets_stay_outputs():
    settings = load_settings(
        FakeConfig({"registry": {"mode": "external", "host": "r.example.com"}}, {"registryPassword": "pw"}),
        "local",
    )
    assert isinstance(settings.registry.password, pulumi.Output)
    assert "pw" not in repr(settings)


def test_settings_are_immutable():
    settings = load_settings(FakeConfig({}), "local")
    with pytest.raises(AttributeError):
        settings.vault.replicas = 5  # type: ignore[misc]


def test_single_replica_is_standalone():
    settings = load_settings(FakeConfig({"vault": {"replicas": 1, "keyShares": 1, "keyThreshold": 1}}), "local")
    assert not settings.vault.ha and settings.vault.pods == ("vault-0",)


@pytest.mark.parametrize("example", ['""', "'[\"a\"]' --json", '"$(cat ca.pem)"'])
def test_a_pre_quoted_fix_fragment_is_a_programming_error(example):
    """Section.fail quotes the value itself: the old fragments would print fixes that fail when pasted."""
    with pytest.raises(TypeError, match="pass the value itself"):
        Section("platform:vault", {}).fail("replicas", "bad", example)
