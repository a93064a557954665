"""Flux sync objects: the GitRepository reference and credentials, the Kustomization fields, bad input."""

from __future__ import annotations

import pulumi
import pulumi.runtime.settings as runtime_settings
import pytest

from components.layers import flux_sync
from components.layers.flux_sync import FluxSyncComponent
from components.layers.infra import InfraArgs, InfraComponent
from components.layers.options import LayerArgs
from components.rendering import layers
from components.rendering.layers import Layer
from components.settings.load import load_settings
from components.settings.reader import ConfigError
from tests.fixtures.config import REMOTE_OK, FakeConfig
from tests.harness.program import PROJECT, PlatformMocks, ProgramRun, RecordingMonitor, run_stack
from tests.harness.schemas import validate_object

SSH = {"gitUrl": "ssh://git@github.com/org/repo", "knownHosts": "github.com ssh-ed25519 AAAAC3Nza"}
CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def settings(flux: dict | None = None, secrets: dict | None = None):
    return load_settings(FakeConfig({**REMOTE_OK, "flux": {**REMOTE_OK["flux"], **(flux or {})}}, secrets), "remote")


def run_flux_sync(flux: dict, secrets: dict) -> ProgramRun:
    """Only InfraComponent + FluxSyncComponent under the harness's recording mocks (a whole stack run
    per credentials case would cost seconds each)."""
    runtime_settings.ROOT.set(None)
    mocks = PlatformMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack="remote", preview=False, monitor=monitor)

    @pulumi.runtime.test
    def program() -> None:
        current = settings(flux, secrets)  # secrets become Outputs inside the mock engine
        FluxSyncComponent("flux-sync", LayerArgs(current, InfraComponent("infra", InfraArgs(current))))

    program()
    return ProgramRun(stack="remote", registrations=list(monitor.registrations), outputs={})


@pytest.mark.parametrize(
    ("flux", "ref"),
    [
        ({}, {"branch": "main"}),
        ({"branch": "release"}, {"branch": "release"}),
        ({"branch": "", "tag": "v1.2.0"}, {"tag": "v1.2.0"}),
        ({"branch": "", "semver": ">=1.0.0 <2.0.0"}, {"semver": ">=1.0.0 <2.0.0"}),
    ],
)
def test_git_repository_reference(flux, ref):
    repository = flux_sync.git_repository(settings(flux))
    assert repository["spec"]["ref"] == ref
    assert "secretRef" not in repository["spec"]  # public HTTPS: no credentials
    validate_object(repository)


def test_public_repository_has_no_secret(stack_runs):
    run = stack_runs["remote"]
    assert not run.of_type("kubernetes:core/v1:Secret")
    repository = run.named("flux-sync-platform")
    assert repository.inputs["spec"] == {
        "url": "https://github.com/example/platform",
        "ref": {"branch": "main"},
        "interval": "5m",
    }
    assert repository.inputs["metadata"]["namespace"] == "flux-system"


@pytest.mark.parametrize(
    ("flux", "secrets", "keys"),
    [
        ({"private": True}, {"fluxGitToken": "tok-123"}, {"username": "git", "password": "tok-123"}),
        ({"gitUsername": "bot"}, {"fluxGitToken": "tok-123"}, {"username": "bot", "password": "tok-123"}),
        (SSH, {"fluxGitSshKey": "PRIVATE KEY"}, {"identity": "PRIVATE KEY", "known_hosts": SSH["knownHosts"]}),
        ({"caCert": CA}, {}, {"ca.crt": CA}),
        ({"private": True, "caCert": CA}, {"fluxGitToken": "t"}, {"username": "git", "password": "t", "ca.crt": CA}),
    ],
    ids=["https-token", "https-user", "ssh", "ca-only", "https-token-ca"],
)
def test_credentials_secret_holds_only_pulumi_secrets(flux, secrets, keys):
    run = run_flux_sync(flux, secrets)
    secret = run.named(flux_sync.CREDENTIALS_SECRET, "kubernetes:core/v1:Secret")
    assert secret.inputs["stringData"] == keys
    assert secret.inputs["metadata"] == {
        "name": flux_sync.CREDENTIALS_SECRET,
        "namespace": "flux-system",
        "labels": {"app.kubernetes.io/part-of": "platform", "app.kubernetes.io/managed-by": "pulumi"},
    }
    for name in keys:
        assert secret.is_secret(f"stringData.{name}"), secret.secret_paths
    repository = run.named("flux-sync-platform")
    assert repository.inputs["spec"]["secretRef"] == {"name": flux_sync.CREDENTIALS_SECRET}
    assert secret.urn in repository.dependencies
    # The values never reach a plain output or the GitRepository.
    assert "tok-123" not in repr(run.outputs) and "tok-123" not in repr(repository.inputs)


def test_flux_objects_wait_for_controllers_and_bootstrap_layers(stack_runs):
    run = stack_runs["remote"]
    repository = run.named("flux-sync-platform")
    flux2 = run.named("flux2", "kubernetes:helm.sh/v3:Release")
    pki = run.named("pki", "kubernetes:yaml/v2:ConfigGroup")  # depending on a component = on its children
    assert {flux2.urn, pki.urn} <= set(repository.dependencies)
    vault = [r for r in run.registrations if r.custom and "platform:vault:Vault$" in r.urn]
    assert vault and {r.urn for r in vault if "yaml/v2:ConfigGroup" in r.type} <= set(repository.dependencies)
    assert "providers:kubernetes::kubernetes" in repository.provider


def test_kustomization_fields(monkeypatch):
    monkeypatch.setattr(
        layers,
        "LAYERS",
        (
            Layer("pki", bootstrap=True),
            Layer("pki-extra", depends_on=("pki",)),
            Layer("late"),
            Layer("last", depends_on=("pki-extra",)),
        ),
    )
    current = settings({"interval": "10m", "path": "deploy/manifests"})
    first, second, third = flux_sync.kustomizations(current)
    assert first["spec"] == {
        "interval": "10m",
        "retryInterval": flux_sync.KUSTOMIZATION_RETRY_INTERVAL,
        "timeout": flux_sync.KUSTOMIZATION_TIMEOUT,
        "sourceRef": {"kind": "GitRepository", "name": "platform"},
        "path": "./deploy/manifests/gitops/pki-extra",
        "prune": True,
        "wait": True,
        "postBuild": {"substitute": layers.variables(current)},
        "serviceAccountName": "flux-pki-extra",
    }  # no dependsOn: its only dependency (pki) is a bootstrap layer Pulumi applied first
    # Only what a layer declares: "late" needs nothing, so it does not wait for the layer before it.
    assert "dependsOn" not in second["spec"]
    assert third["spec"]["dependsOn"] == [{"name": "pki-extra"}]
    for obj in (first, second, third):
        validate_object(obj)


def test_unknown_layer_dependency_is_refused(monkeypatch):
    monkeypatch.setattr(layers, "LAYERS", (*layers.LAYERS, Layer("app", depends_on=("postgres-typo",))))
    with pytest.raises(ValueError, match="postgres-typo"):
        flux_sync.kustomizations(settings())


# Bad input on top of tests/unit/settings/test_config.py BAD_CONFIG (which covers a missing URL, scp-like and
# non-Git URLs, branch + tag, SSH without a key or known_hosts, and a private repository without a token).
BAD_FLUX = [
    ({"gitUrl": "https://"}, {}, "platform:flux.gitUrl", "git remote get-url origin"),
    ({"gitUrl": "http://github.com/org/repo"}, {}, "platform:flux.gitUrl", "https://"),
    ({"gitUrl": "https://user:pw@github.com/org/repo"}, {}, "platform:flux.gitUrl", "https://"),
    ({"gitUrl": "ssh://github.com/org/repo"}, {}, "platform:flux.gitUrl", "ssh://"),
    ({"gitUrl": "github.com/org/repo"}, {}, "platform:flux.gitUrl", "https://"),
    ({"branch": "main", "semver": "1.x"}, {}, "platform:flux.semver", "only one"),
    ({"branch": "", "tag": "v1", "semver": "1.x"}, {}, "platform:flux.semver", "only one"),
    ({"interval": "five minutes"}, {}, "platform:flux.interval", "duration"),
    ({"path": "../elsewhere manifests"}, {}, "platform:flux.path", "repository path"),
    ({**SSH, "knownHosts": ""}, {"fluxGitSshKey": "k"}, "platform:flux.knownHosts", "ssh-keyscan"),
    ({"private": True}, {"fluxGitSshKey": "k"}, "platform:fluxGitToken", "--secret"),
]


@pytest.mark.parametrize(("flux", "secrets", "key", "fix"), BAD_FLUX, ids=[f"{c[2]}:{c[3]}" for c in BAD_FLUX])
def test_bad_flux_input_names_the_key_and_the_fix(flux, secrets, key, fix):
    with pytest.raises(ConfigError) as caught:
        settings(flux, secrets)
    message = str(caught.value)
    assert f"{key}:" in message and fix in message and "Fix:" in message, message


def test_remote_stack_without_git_url_registers_nothing(caplog):
    # __main__.py logs the ConfigError and exits with 32 (tests/unit/settings/test_config_mistakes.py).
    with pytest.raises(SystemExit):
        run_stack("remote", {"mode": "remote", "s3": {"backend": "minio"}}, replace=True)
    assert "platform:flux.gitUrl:" in caplog.text


def test_signed_commits_only_with_flux_verify():
    assert "verify" not in flux_sync.git_repository(settings())["spec"]
    repository = flux_sync.git_repository(settings({"verify": {"secretRef": "git-keys"}}))
    assert repository["spec"]["verify"] == {"mode": "HEAD", "secretRef": {"name": "git-keys"}}
    validate_object(repository)
    tagged = flux_sync.git_repository(
        settings({"branch": "", "tag": "v1.0.0", "verify": {"secretRef": "git-keys", "mode": "TagAndHEAD"}})
    )
    assert tagged["spec"]["verify"]["mode"] == "TagAndHEAD"


@pytest.mark.parametrize(
    ("verify", "message"),
    [
        ({"mode": "HEAD"}, r"flux\.verify\.secretRef: verification needs the Secret"),
        ({"secretRef": "git-keys", "mode": "Tag"}, r"flux\.verify\.mode: Tag verifies a tag"),
        ({"secretRef": "Git Keys"}, r"flux\.verify\.secretRef: 'Git Keys' is not a DNS-1123 label"),
        ({"secretRef": "k", "keys": "x"}, r"flux\.verify\.keys: unknown setting"),
    ],
)
def test_bad_flux_verify_is_refused(verify, message):
    with pytest.raises(ConfigError, match=message):
        settings({"verify": verify})
