"""The stack outputs a user reads after `pulumi up`: where the app, Vault and the registry are reached from
this machine, the kind kubeconfig, and commands that fetch the credentials. The commands are run here
against a stand-in `kubectl` (and `pulumi`), so their shell syntax, the Secret names and the files they
write are what a user gets."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from components.kube.kind_config import state_directory
from tests.harness.program import REPO, ProgramRun, run_stack

FAKE_KUBECTL = """#!/bin/sh
# Prints base64("<namespace>/<secret>/<key>") for `-n NS get secret NAME -o jsonpath={.data.KEY}`.
echo "$@" >> "$CALLS"
while [ $# -gt 0 ]; do
  case "$1" in
    -n) ns=$2; shift ;;
    secret) name=$2; shift ;;
    jsonpath=*) key=$(echo "$1" | sed -e 's/^jsonpath={.data.//' -e 's/}$//' -e 's/\\\\//g') ;;
    -o) ;;
  esac
  shift
done
printf '%s' "$ns/$name/$key" | base64
"""


@pytest.fixture(scope="module")
def local() -> ProgramRun:
    return run_stack("local")


def certificate_secrets(run: ProgramRun, namespace: str = "sms-proxy") -> set[str]:
    """secretName of every cert-manager Certificate the program applies in `namespace`."""
    return {
        obj["spec"]["secretName"]
        for obj in run.k8s_objects()
        if obj.get("kind") == "Certificate" and obj["metadata"].get("namespace") == namespace
    }


def run_shell(command: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    kubectl = bin_dir / "kubectl"
    kubectl.write_text(FAKE_KUBECTL)
    kubectl.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "CALLS": str(tmp_path / "calls")}
    return subprocess.run(
        ["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_local_stack_tells_the_url_as_reached_from_this_machine(local):
    outputs = local.outputs
    assert outputs["app"]["url"] == "https://sms-proxy.local:8443/"
    assert "--resolve sms-proxy.local:8443:127.0.0.1 " in outputs["app"]["curl"]
    assert outputs["kubeconfigPath"] == str(state_directory("platform") / "kubeconfig")
    assert outputs["kubectl"] == f"kubectl --kubeconfig {outputs['kubeconfigPath']}"
    assert outputs["registry"] == {"mode": "in-cluster", "host": "registry.local"}
    assert outputs["vault"]["address"] == "https://vault-active.vault.svc:8200"


def test_vault_local_address_is_the_one_the_port_forward_command_opens(local):
    """Not vault.localPort (18200): the program's own tunnel exists only while a `pulumi` command runs."""
    vault = local.outputs["vault"]
    assert vault["localAddress"] == "https://127.0.0.1:8200"
    assert vault["portForward"].endswith("-n vault port-forward svc/vault-active 8200:8200")
    assert "18200" not in json.dumps(local.outputs)


def test_an_existing_cluster_is_named_by_its_context():
    outputs = run_stack("remote", {"kubernetes": {"context": "prod-admin"}}).outputs
    assert outputs["kubeconfigPath"] == "" and outputs["kubectl"] == "kubectl --context prod-admin"
    assert outputs["app"]["url"] == "https://sms-proxy.local:4443/" and "--resolve" not in outputs["app"]["curl"]


def test_no_output_holds_a_secret(local):
    text = json.dumps(local.outputs)
    assert "BEGIN" not in text and "password" not in text.lower()
    assert not any(r.is_secret("kubeconfigPath") for r in local.registrations)


def test_client_certificate_commands_write_what_the_program_issues(local, tmp_path):
    issued = {name for name in certificate_secrets(local) if name.endswith("-client-tls")}
    commands = local.outputs["commands"]["clientCertificates"]
    assert (
        {f"{client}-client-tls" for client in commands}
        == issued
        == {"client-app-1-client-tls", "client-app-2-client-tls"}
    )
    result = run_shell(commands["client-app-1"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "client-app-1.crt").read_text() == "sms-proxy/client-app-1-client-tls/tls.crt"
    assert (tmp_path / "client-app-1.key").read_text() == "sms-proxy/client-app-1-client-tls/tls.key"
    assert stat.S_IMODE((tmp_path / "client-app-1.key").stat().st_mode) == 0o600
    assert f"--kubeconfig {local.outputs['kubeconfigPath']}" in (tmp_path / "calls").read_text()


def test_root_ca_command_reads_the_root_ca_secret(local, tmp_path):
    assert "root-ca" in certificate_secrets(local, "cert-manager")
    result = run_shell(local.outputs["commands"]["rootCa"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "platform-ca.crt").read_text() == "cert-manager/root-ca/ca.crt"


@pytest.mark.parametrize(
    "stored",
    [
        ["share-1", "share-2", "share-3"],
        # `pulumi stack export --show-secrets` writes a secret as its signature plus the JSON text.
        {
            "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
            "plaintext": '["share-1","share-2","share-3"]',
        },
    ],
)
def test_unseal_shares_command_prints_one_share_per_line(local, tmp_path, stored):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    export = {
        "deployment": {
            "resources": [
                {"urn": "urn:pulumi:local::platform::platform:kind::other", "outputs": {"keys": ["no"]}},
                {
                    "urn": "urn:pulumi:local::platform::platform:vault:Runtime$pulumi-python:dynamic/vault:Init"
                    "::vault-init",
                    "outputs": {"keys": stored},
                },
            ]
        }
    }
    (tmp_path / "export.json").write_text(json.dumps(export))
    pulumi = bin_dir / "pulumi"
    pulumi.write_text(f'#!/bin/sh\n[ "$*" = "stack export --show-secrets" ] && cat {tmp_path / "export.json"}\n')
    pulumi.chmod(0o755)
    result = run_shell(f'PATH="{bin_dir}:$PATH"; ' + local.outputs["commands"]["unsealShares"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["share-1", "share-2", "share-3"]


def readme_block(after: str) -> str:
    """The first ```bash block after the line `after` in README.md."""
    text = (REPO / "README.md").read_text()
    rest = text[text.index(after) :]
    return rest.split("```bash\n", 1)[1].split("```", 1)[0]


def test_the_readme_usage_lines_run_against_the_outputs(local, tmp_path):
    """README "Using the platform": fetch the CA and a client certificate from the outputs, then the request."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "outputs.json").write_text(json.dumps(local.outputs))
    for name, script in {
        "pulumi": f'[ "$*" = "stack output -s local --json" ] && cat {tmp_path / "outputs.json"}\n',
        "curl": f'echo "$@" > {tmp_path / "curl-args"}\n',
    }.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{script}")
        (bin_dir / name).chmod(0o755)
    result = run_shell(f'PATH="{bin_dir}:$PATH"\n' + readme_block("## Using the platform"), tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "platform-ca.crt").read_text() == "cert-manager/root-ca/ca.crt"
    assert (tmp_path / "client-app-1.key").read_text() == "sms-proxy/client-app-1-client-tls/tls.key"
    assert (tmp_path / "curl-args").read_text().split() == [
        "--resolve",
        "sms-proxy.local:8443:127.0.0.1",
        "--cacert",
        "platform-ca.crt",
        "--cert",
        "client-app-1.crt",
        "--key",
        "client-app-1.key",
        "https://sms-proxy.local:8443/",
    ]
