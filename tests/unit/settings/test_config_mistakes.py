"""Realistic config mistakes, each refused before any resource is registered, with a message that names the
key and a fix that is a real `pulumi config` command line and, when run, removes that error.

Every row is a stack's config as a user left it (keys without `platform:`; a top-level key with a dot is
what `pulumi config set vault.replicas 5` without `--path` stores). Each is checked three ways: the loader's
ConfigError (key first, then the fix), the fix against the CLI grammar and run on the config
(tests/fixtures/pulumi_cli.py), and the real program under the mock engine: one error log line, exit code
32, nothing registered.
"""

from __future__ import annotations

import logging

import pytest

from components.settings.load import load_settings
from components.settings.reader import ConfigError
from tests.fixtures.config import REMOTE_OK, TRANSIT_SEAL, FakeConfig
from tests.fixtures.pulumi_cli import NotPasteable, StackConfig, apply_fix, parse_fix
from tests.harness import program

SSH = {**REMOTE_OK, "flux": {"gitUrl": "ssh://git@github.com/org/platform.git"}}
EXTERNAL_VAULT = {"externalAddress": "https://vault.corp.example", "externalCaCert": "-----BEGIN CERTIFICATE-----"}

# (what the user did, stack, plain config, secret config, the key the message names, a word of the fix)
MISTAKES = [
    # Keys the program does not read.
    ("misspelt top-level key", "local", {"valut": {"replicas": 5}}, {}, "platform:valut", "'vault.replicas' 5"),
    ("nested key set without --path", "local", {"vault.replicas": "5"}, {}, "platform:vault.replicas", "--path"),
    (
        "kind switch set without --path",
        "local",
        {"kubernetes.cluster.create": "false", "kubernetes.context": "kind-dev"},
        {},
        "platform:kubernetes.cluster.create",
        "--path 'kubernetes.cluster.create' false",
    ),
    (
        "list element set without --path",
        "local",
        {"ingress.clientApps[0]": "billing"},
        {},
        "platform:ingress.clientApps[0]",
        "--path 'ingress.clientApps[0]' billing",
    ),
    (
        "nested key set with --secret and without --path",
        "local",
        {},
        {"vault.replicas": "5"},
        "platform:vault.replicas",
        "pulumi config get vault.replicas | pulumi config set --path 'vault.replicas'",
    ),
    ("misspelt section and --path missing", "local", {"valt.replicas": "3"}, {}, "platform:valt.replicas", "vault"),
    (
        "misspelt secret key",
        "remote",
        REMOTE_OK,
        {"fluxGitTokn": "ghp_flux_token_0123456789"},
        "platform:fluxGitTokn",
        "fluxGitToken",
    ),
    (
        "secret key written as a path",
        "remote",
        REMOTE_OK,
        {"flux.gitToken": "ghp_flux_token_0123456789"},
        "platform:flux.gitToken",
        "--secret",
    ),
    (
        "secret set without --secret",
        "local",
        {"registry": {"mode": "external", "host": "r.example.com"}, "registryPassword": "hunter2"},
        {},
        "platform:registryPassword",
        "--secret registryPassword <",
    ),
    ("capitalised key", "local", {"Mode": "local"}, {}, "platform:Mode", "pulumi config set mode local"),
    ("singular section name", "local", {"namespace": {"app": "shop"}}, {}, "platform:namespace", "namespaces.app"),
    ("misspelt field", "local", {"vault": {"replica": 3}}, {}, "platform:vault.replica", "'vault.replicas' 3"),
    # Values: the fix sets the closest valid one, not the default.
    ("lower-case enum", "local", {"pki": {"keyAlgorithm": "ecdsa"}}, {}, "platform:pki.keyAlgorithm", "ECDSA"),
    (
        "key size of another algorithm",
        "local",
        {"pki": {"keyAlgorithm": "ECDSA", "keySize": 4096}},
        {},
        "platform:pki.keySize",
        "'pki.keySize' 521",
    ),
    ("even Vault replicas", "local", {"vault": {"replicas": 2}}, {}, "platform:vault.replicas", "replicas' 3"),
    ("quoted number", "local", {"vault": {"replicas": "5"}}, {}, "platform:vault.replicas", "replicas' 5"),
    ("too many replicas", "local", {"vault": {"replicas": 9}}, {}, "platform:vault.replicas", "replicas' 7"),
    (
        "threshold above the shares",
        "local",
        {"vault": {"keyShares": 3, "keyThreshold": 4}},
        {},
        "platform:vault.keyThreshold",
        "keyThreshold' 3",
    ),
    (
        "threshold of one",
        "local",
        {"vault": {"keyShares": 5, "keyThreshold": 1}},
        {},
        "platform:vault.keyThreshold",
        "keyThreshold' 3",
    ),
    (
        "capitalised choice",
        "local",
        {"vault": {"antiAffinity": "Preferred"}},
        {},
        "platform:vault.antiAffinity",
        "preferred",
    ),
    (
        "yes for true",
        "local",
        {"kubernetes": {"cluster": {"create": "yes"}}},
        {},
        "platform:kubernetes.cluster.create",
        "true",
    ),
    (
        "existing context and the kind cluster",
        "local",
        {"kubernetes": {"context": "kind-dev", "cluster": {"create": True}}},
        {},
        "platform:kubernetes.cluster.create",
        "create' false",
    ),
    (
        "both host ports the same",
        "local",
        {"kubernetes": {"cluster": {"httpPort": 8443}}},
        {},
        "platform:kubernetes.cluster.httpsPort",
        "httpsPort' 8444",
    ),
    (
        "namespace with capitals",
        "local",
        {"namespaces": {"app": "SMS_Proxy"}},
        {},
        "platform:namespaces.app",
        "sms-proxy",
    ),
    (
        "upper-case delivery mode",
        "local",
        {"app": {"secretsDelivery": "CSI"}},
        {},
        "platform:app.secretsDelivery",
        "csi",
    ),
    ("log level spelt out", "local", {"app": {"logLevel": "warning"}}, {}, "platform:app.logLevel", "warn"),
    ("latest tag", "local", {"app": {"image": "registry.local/sms-proxy:latest"}}, {}, "platform:app.image", "0.1.0"),
    ("metrics on the app port", "local", {"app": {"httpPort": 4000}}, {}, "platform:app.metricsPort", "5000"),
    (
        "env as a list",
        "local",
        {"app": {"env": ["LOG_FORMAT=json"]}},
        {},
        "platform:app.env",
        "'app.env.LOG_FORMAT' json",
    ),
    (
        "client list as one string",
        "local",
        {"ingress": {"clientApps": "billing, reports"}},
        {},
        "platform:ingress.clientApps",
        "'ingress.clientApps[1]' reports",
    ),
    (
        "client name with capitals",
        "local",
        {"ingress": {"clientApps": ["Billing_App"]}},
        {},
        "platform:ingress.clientApps",
        "billing-app",
    ),
    (
        "host name with an underscore",
        "local",
        {"ingress": {"host": "sms_proxy.local"}},
        {},
        "platform:ingress.host",
        "sms-proxy.local",
    ),
    ("days as a duration", "local", {"pki": {"leafDuration": "90d"}}, {}, "platform:pki.leafDuration", "2160h"),
    (
        "renewal longer than the lifetime",
        "local",
        {"pki": {"leafDuration": "24h", "leafRenewBefore": "48h"}},
        {},
        "platform:pki.leafRenewBefore",
        "8h",
    ),
    ("a whole section as a string", "local", {"vault": "big"}, {}, "platform:vault", "pulumi config rm vault"),
    ("unknown mode", "local", {"mode": "Remote"}, {}, "platform:mode", "pulumi config set mode remote"),
    # The remote stack and the services it uses.
    (
        "remote without a Git URL",
        "remote",
        {"mode": "remote", "s3": {"backend": "minio"}},
        {},
        "platform:flux.gitUrl",
        "git remote get-url origin",
    ),
    (
        "scp-like Git URL",
        "remote",
        {**REMOTE_OK, "flux": {"gitUrl": "git@github.com:org/platform.git"}},
        {},
        "platform:flux.gitUrl",
        "ssh://git@github.com/org/platform.git",
    ),
    (
        "plain http Git URL",
        "remote",
        {**REMOTE_OK, "flux": {"gitUrl": "http://git.example.com/org/platform"}},
        {},
        "platform:flux.gitUrl",
        "https://git.example.com/org/platform",
    ),
    (
        "branch and tag",
        "remote",
        {**REMOTE_OK, "flux": {"gitUrl": "https://github.com/org/repo", "branch": "main", "tag": "v1.0.0"}},
        {},
        "platform:flux.tag",
        "pulumi config rm --path 'flux.tag'",
    ),
    ("SSH URL without a deploy key", "remote", SSH, {}, "platform:fluxGitSshKey", "< deploy_key"),
    (
        "SSH URL without host keys",
        "remote",
        SSH,
        {"fluxGitSshKey": "-----BEGIN OPENSSH PRIVATE KEY-----"},
        "platform:flux.knownHosts",
        "ssh-keyscan github.com |",
    ),
    (
        "private repository without a token",
        "remote",
        {**REMOTE_OK, "flux": {"gitUrl": "https://github.com/org/repo", "private": True}},
        {},
        "platform:fluxGitToken",
        "--secret fluxGitToken <",
    ),
    (
        "external S3 without endpoint",
        "remote",
        {**REMOTE_OK, "s3": {"backend": "external"}},
        {},
        "platform:s3.endpoint",
        "https://",
    ),
    (
        "external S3 without credentials",
        "remote",
        {**REMOTE_OK, "s3": {"backend": "external", "endpoint": "https://s3.example"}},
        {},
        "platform:s3AccessKeyId",
        "--secret s3AccessKeyId <",
    ),
    (
        "external registry without password",
        "local",
        {"registry": {"mode": "external", "host": "r.example.com"}},
        {},
        "platform:registryPassword",
        "--secret registryPassword <",
    ),
    (
        "unseal shares with an auto-unseal seal",
        "local",
        {"vault": {"seal": TRANSIT_SEAL}},
        {"vaultSealToken": "transit-token-value", "vaultUnsealKeys": '["share-one"]'},
        "platform:vaultUnsealKeys",
        "pulumi config rm vaultUnsealKeys",
    ),
    (
        "PGP keys for fewer shares",
        "local",
        {"vault": {"keyShares": 3, "keyThreshold": 2, "pgpKeys": ["a"]}},
        {},
        "platform:vault.pgpKeys",
        "'vault.keyShares' 1",
    ),
    (
        "existing Vault without its CA",
        "local",
        {"vault": {"externalAddress": "https://vault.corp.example"}},
        {},
        "platform:vault.externalCaCert",
        "< vault-ca.pem",
    ),
    (
        "only half of the AppRole",
        "local",
        {"vault": {**EXTERNAL_VAULT, "appApiAddress": "https://api.example.com:6443"}},
        {"vaultExternalRoleId": "role-id-1234-5678"},
        "platform:vaultExternalSecretId",
        "< secret-id.txt",
    ),
    (
        "advertise address without a second cluster",
        "local",
        {"vault": {"advertiseAddress": "https://vault.example.com"}},
        {},
        "platform:vault.advertiseAddress",
        "pulumi config rm --path 'vault.advertiseAddress'",
    ),
]
IDS = [row[0] for row in MISTAKES]


def error_of(stack: str, config: StackConfig) -> str | None:
    try:
        load_settings(FakeConfig(config.values, config.secrets), stack)
    except ConfigError as error:
        return str(error)
    return None


def test_the_table_holds_at_least_30_distinct_mistakes():
    assert len(MISTAKES) >= 30
    assert len(set(IDS)) == len(IDS)


@pytest.mark.parametrize(("what", "stack", "values", "secrets", "key", "fix"), MISTAKES, ids=IDS)
def test_refused_naming_the_key_with_a_fix_that_works(what, stack, values, secrets, key, fix):
    config = StackConfig(values, secrets)
    message = error_of(stack, config)
    assert message is not None, f"{what}: accepted"
    assert message.startswith(f"{key}: "), message
    assert "Fix: " in message and fix in message.split("Fix: ", 1)[1], message
    for secret in secrets.values():
        assert secret not in message, "a secret value in the message"
    fixed = apply_fix(message, config)
    assert error_of(stack, fixed) != message, f"the fix did not change anything: {message}"
    again = error_of(stack, fixed)
    assert again is None or not again.startswith(f"{key}: "), f"{message}\n-> still: {again}"


@pytest.mark.parametrize(("what", "stack", "values", "secrets", "key", "fix"), MISTAKES, ids=IDS)
def test_the_program_stops_with_one_clean_message_and_nothing_registered(
    what, stack, values, secrets, key, fix, caplog, monkeypatch
):
    monitors: list[program.RecordingMonitor] = []

    class Recording(program.RecordingMonitor):
        def __init__(self, mocks):
            super().__init__(mocks)
            monitors.append(self)

    monkeypatch.setattr(program, "RecordingMonitor", Recording)
    caplog.set_level(logging.INFO)
    with pytest.raises(SystemExit) as exited:
        program.run_stack(stack, values, secrets, replace=True)
    assert exited.value.code == 32
    assert [r.registrations for r in monitors] == [[]]
    errors = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{key}: ") and fix in errors[0].split("Fix: ", 1)[1], errors[0]
    parse_fix(errors[0])
    assert "Traceback" not in caplog.text


# The checker rejects what the old hints printed, so the table above cannot pass with them.
@pytest.mark.parametrize(
    "message",
    [
        "platform:ingress.clientApps: bad. Fix: pulumi config set --path 'ingress.clientApps' '[\"a\"]' --json",
        "platform:fluxGitToken: missing. Fix: pulumi config set --secret fluxGitToken ghp_secret",
        "platform:vault.replicas: bad. Fix: pulumi config set vault.replicas 3",
        "platform:s3AccessKeyId: missing. Fix: pulumi config set --secret s3AccessKeyId <value>",
        "platform:vault: bad. Fix: pulumi config rm vault; pulumi config set --path 'vault.<field>' <value>",
    ],
)
def test_the_grammar_check_rejects_the_old_hints(message: str):
    with pytest.raises(NotPasteable):
        parse_fix(message)
