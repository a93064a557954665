"""`pulumi preview` runs with the read-only role of README "CI": it reads no Secret, opens no port-forward and
starts no child process, for both stacks and every config variant; what depends on those stays computed.

The mocks answer like a deployed stack (Secrets hold a CA, the bootstrap has credentials, Vault answers a KV
read), so an `up` of the same program does read Secrets and open the tunnel (the control tests): a preview
that still did would be caught, not hidden behind empty mock values.
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs

from components.kube.provider_values import is_unknown
from components.vault_runtime import tunnel
from tests.fixtures.fake_kubectl import install_fake_kubectl
from tests.fixtures.variants import LAYER_SWITCHES
from tests.harness.program import REPO, PlatformMocks, ProgramRun, run_stack

CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
VARIANTS = {"default": ({}, {}), **LAYER_SWITCHES}
CASES = [(stack, variant) for stack in ("local", "remote") for variant in VARIANTS]


class DeployedMocks(PlatformMocks):
    """What a deployed stack answers: every Secret read holds `ca.crt`, the admin bootstrap has its AppRole
    credentials, and Vault's KV holds the registry's push password."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict]:
        resource_id, outputs = super().new_resource(args)
        if args.resource_id and args.typ == "kubernetes:core/v1:Secret":  # a read (`Secret.get`)
            return args.resource_id, {**outputs, "data": {"ca.crt": base64.b64encode(CA_PEM.encode()).decode()}}
        if args.typ == "pulumi-python:dynamic/vault:Bootstrap":
            return resource_id, {**outputs, "role_id": "role-id", "secret_id": "secret-id"}
        return resource_id, outputs

    def call(self, args: MockCallArgs) -> dict:
        if args.token == "vault:kv/getSecret:getSecret":
            return {"data": {"password": "push-password"}}
        return super().call(args)


class Observed:
    """Everything a run could do outside the engine: processes started, kubectl calls, tunnels opened."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
        self.kubectl = install_fake_kubectl(tmp_path, {}, monkeypatch)
        self.processes: list[list[str]] = []
        self.tunnels: list[tuple[str, int]] = []
        observed = self
        real_popen = subprocess.Popen

        class RecordingPopen(real_popen):  # type: ignore[misc, valid-type]
            def __init__(self, args: Any, *rest: Any, **kwargs: Any):
                observed.processes.append([str(a) for a in args] if isinstance(args, list | tuple) else [str(args)])
                super().__init__(args, *rest, **kwargs)

        def record_tunnel(_conn: Any, service: str, local_port: int, **_kwargs: Any) -> str:
            # The call site's decision is what is tested; the forward itself is the transport's (own tests).
            self.tunnels.append((service, local_port))
            return tunnel.LOCAL_ADDRESS.format(port=local_port)

        monkeypatch.setattr(subprocess, "Popen", RecordingPopen)
        monkeypatch.setattr(tunnel, "open_tunnel", record_tunnel)
        # The provider's CA file (.vault/<stack>-ca.pem) is relative to the working directory.
        monkeypatch.chdir(tmp_path)


@pytest.fixture
def observed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Observed:
    return Observed(tmp_path, monkeypatch)


def run(stack: str, variant: str, *, preview: bool) -> ProgramRun:
    config, secrets = VARIANTS[variant]
    return run_stack(stack, config, secrets, preview=preview, mocks=DeployedMocks())


@pytest.mark.parametrize(("stack", "variant"), CASES, ids=[f"{s}-{v}" for s, v in CASES])
def test_a_preview_reads_no_secret_starts_nothing_and_leaves_the_rest_computed(
    stack: str, variant: str, observed: Observed
):
    result = run(stack, variant, preview=True)
    assert result.reads == [], "a preview reads nothing (`Secret.get` needs the `secrets` right)"
    assert observed.tunnels == []
    assert observed.processes == []
    assert observed.kubectl.calls() == []
    assert not Path(".vault").exists()  # no CA file written for a provider that is not configured
    assert_computed(result, variant)


def assert_computed(result: ProgramRun, variant: str) -> None:
    """What needs the cluster (a Secret's CA, Vault's answer, the tunnel's address) is computed."""
    for step in ("vault-init", "vault-unseal", "vault-bootstrap"):
        found = [r for r in result.registrations if r.name == step]
        # Their Diff dials Vault only when the connection is known (unseal_provider.py), so it must not be.
        assert all(is_unknown(r.inputs["connection"]["ca_pem"]) for r in found), step
    # And should it be known (a CA from the state), the unseal diff still decides from the state alone.
    assert all(r.inputs["live_check"] is False for r in result.registrations if r.name == "vault-unseal")
    for provider in result.of_type("pulumi:providers:vault"):
        external = VARIANTS[variant][0].get("vault", {}).get("externalAddress")
        # Unknown provider config: the engine skips Configure, and its resources preview as unknown diffs.
        assert provider.inputs["address"] == external if external else is_unknown(provider.inputs["address"])
    for image in result.of_type("pulumi-python:dynamic/registry:Image"):
        if not image.inputs.get("direct_url"):
            assert is_unknown(image.inputs["ca_pem"])
            # Never the KV value the mocks hold: computed, or "" when no admin provider could read it at all.
            assert is_unknown(image.inputs["password"]) or image.inputs["password"] == ""
    for host_file in result.of_type("pulumi-python:dynamic/platform:HostFile"):
        if host_file.name == "registry-ca":
            assert is_unknown(host_file.inputs["content"])


@pytest.mark.parametrize("stack", ["local", "remote"])
def test_an_up_reads_the_ca_and_opens_the_tunnel(stack: str, observed: Observed):
    """The control: the same program with the same mocks, not in a preview, does what the preview must not."""
    result = run(stack, "default", preview=False)
    assert "vault-ca" in {r.name for r in result.reads if r.type == "kubernetes:core/v1:Secret"}
    assert [service for service, _ in observed.tunnels] == ["svc/vault-active"]
    (provider,) = result.of_type("pulumi:providers:vault")
    assert provider.inputs["address"] == tunnel.LOCAL_ADDRESS.format(port=observed.tunnels[0][1])
    assert (Path(".vault") / f"{stack}-ca.pem").read_text() == CA_PEM
    unseal = result.named("vault-unseal")
    assert unseal.inputs["connection"]["ca_pem"] == CA_PEM
    assert unseal.inputs["live_check"] is True


def test_the_engine_is_asked_once_whether_this_is_a_preview():
    """One place decides (components/settings/load/stack.py); everything else follows `settings.preview`."""
    sources = [*REPO.glob("components/**/*.py"), *REPO.glob("stacks/**/*.py"), REPO / "__main__.py"]
    asking = sorted(str(path.relative_to(REPO)) for path in sources if "is_dry_run" in path.read_text())
    assert asking == ["components/settings/load/stack.py"]
