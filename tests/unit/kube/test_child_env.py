"""Every child process the program or its providers start sees an allow-listed environment: with the Pulumi
secrets in the parent's environment, no child (kubectl, kind, docker, ps, the tunnel supervisor) sees any
`PULUMI_*` variable or a secret value anywhere in its environment or argv."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from components.kube import process_tree
from components.kube.child_env import allowed, child_environment
from components.kube.kind_provider import KindClusterProvider
from components.vault_runtime import tunnel
from components.vault_runtime.transport import PortForward, VaultConnection
from components.vault_runtime.tunnel_supervisor import TunnelFiles
from tests.fixtures.fake_kind import environments, install_fake_kind, props
from tests.fixtures.fake_kubectl import install_fake_kubectl
from tests.fixtures.openbao import free_port

SECRET = "s.TOPSECRET-root-token-4711"
PARENT = {
    "PULUMI_CONFIG": json.dumps({"platform:vaultRootToken": SECRET, "platform:vault": "{}"}),
    "PULUMI_CONFIG_PASSPHRASE": "passphrase-" + SECRET,
    "PULUMI_CONFIG_PASSPHRASE_FILE": "/somewhere/.pulumi-passphrase",
    "PULUMI_ACCESS_TOKEN": "pul-" + SECRET,
    "pulumi_lowercase": SECRET,
    "APP_DATABASE_PASSWORD": SECRET,  # not on the list: a stray secret of the caller's shell
    "AWS_PROFILE": "platform",
    "LC_ALL": "C.UTF-8",
    "XDG_CONFIG_HOME": "/home/u/.config",
}
FAKE_PS = f"""#!{sys.executable}
import json, os, sys
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "ps-env.log"), "a") as fh:
    fh.write(json.dumps({{"argv": sys.argv, "env": dict(os.environ)}}) + "\\n")
print("    1 S Thu Dec  3 07:00:00 2026 /usr/bin/pulumi")
"""


@pytest.fixture
def parent(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PARENT.items():
        monkeypatch.setenv(name, value)


def assert_clean(env: dict[str, str], argv: list[str]) -> None:
    assert not [name for name in env if name.upper().startswith("PULUMI_")]
    assert not [name for name, value in env.items() if SECRET in value]
    assert not [arg for arg in argv if SECRET in arg]
    assert "APP_DATABASE_PASSWORD" not in env
    # What kubectl's exec credential plugins and the tools need is still there.
    assert env["AWS_PROFILE"] == "platform" and env["LC_ALL"] == "C.UTF-8" and env["PATH"]


def test_the_allow_list() -> None:
    env = child_environment({**PARENT, "PATH": "/bin", "HOME": "/h", "KUBECONFIG": "/k", "HTTPS_PROXY": "p"})
    assert set(env) == {"PATH", "HOME", "KUBECONFIG", "HTTPS_PROXY", "AWS_PROFILE", "LC_ALL", "XDG_CONFIG_HOME"}
    assert not allowed("PULUMI_CONFIG") and not allowed("pulumi_config") and allowed("CLOUDSDK_CONFIG")
    assert child_environment({}, PATH="/x") == {"PATH": "/x"}
    with pytest.raises(ValueError, match="PULUMI_BACKEND_URL"):
        child_environment({}, PULUMI_BACKEND_URL="file:///state")


def test_kubectl_of_a_port_forward(parent: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kubectl = install_fake_kubectl(tmp_path, {"vault-0": free_port()}, monkeypatch)
    conn = VaultConnection(kube_context="ctx", pods=("vault-0",), ca_pem=SECRET)
    with PortForward(conn, "vault-0"):
        pass
    (run,) = kubectl.runs()
    assert_clean(run["env"], run["argv"])


def test_the_tunnel_supervisor_and_its_kubectl(parent: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    kubectl = install_fake_kubectl(tmp_path, {"vault-active": free_port()}, monkeypatch)
    conn = VaultConnection(kube_context="ctx", pods=("vault-0",), ca_pem=SECRET)
    try:
        tunnel.open_tunnel(conn, "svc/vault-active", port, directory=tmp_path)
        supervisor = json.loads(TunnelFiles(tmp_path, port).state.read_text())["pid"]
        proc = Path(f"/proc/{supervisor}")
        environ = dict(item.split("=", 1) for item in (proc / "environ").read_text().split("\0") if item)
        assert_clean(environ, (proc / "cmdline").read_text().split("\0"))
        assert SECRET not in TunnelFiles(tmp_path, port).state.read_text()  # not even the CA
    finally:
        tunnel.close_all()
    (run,) = kubectl.runs()
    assert_clean(run["env"], run["argv"])


def test_kind_and_docker(parent: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_fake_kind(tmp_path / "bin", tmp_path / "argv.log")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:/usr/bin:/bin")
    KindClusterProvider().create(props(tmp_path / "state", encryption_key=SECRET))
    runs = environments(tmp_path / "argv.log")
    assert [Path(run["argv"][0]).name for run in runs] == ["kind", "kind", "docker"]
    for run in runs:
        assert_clean(run["env"], run["argv"])


def test_ps_where_there_is_no_proc(parent: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ps").write_text(FAKE_PS)
    (tmp_path / "ps").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.setattr(process_tree, "PROC", tmp_path / "no-proc")
    assert process_tree.ref(4242) == process_tree.ProcessRef(4242, "Thu Dec 3 07:00:00 2026")
    runs = [json.loads(line) for line in (tmp_path / "ps-env.log").read_text().splitlines()]
    assert runs
    for run in runs:
        assert_clean(run["env"], run["argv"])
