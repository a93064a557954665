"""The kind dynamic provider against fake `kind`/`docker` executables: argv, files, modes, no secret in argv."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from components.kube.kind_provider import (
    CONFIG_FILE,
    ENCRYPTION_FILE,
    KUBECONFIG_FILE,
    KindClusterProvider,
    KindError,
    create_command,
)
from tests.fixtures.fake_kind import KEY, KUBECONFIG_TEXT, calls, configure_fake_kind, install_fake_kind, props


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    log = tmp_path / "argv.log"
    install_fake_kind(bin_dir, log)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return log


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_create_runs_kind_with_files_only_and_returns_the_kubeconfig(fakes: Path, tmp_path: Path):
    state = tmp_path / "state" / "dev"
    result = KindClusterProvider().create(props(state))

    argv = calls(fakes)
    assert argv[0] == ["get", "clusters"]
    assert argv[1] == create_command("dev", state / CONFIG_FILE, state / KUBECONFIG_FILE)[1:]
    assert argv[2] == ["exec", "dev-control-plane", "cat", "/etc/kubernetes/manifests/kube-apiserver.yaml"]
    assert not any(KEY in arg for call in argv for arg in call), "the encryption key reached argv"

    assert result.id == "dev"
    assert result.outs["kubeconfig"] == KUBECONFIG_TEXT
    encryption = state / ENCRYPTION_FILE
    written = yaml.safe_load(encryption.read_text())
    assert written["kind"] == "EncryptionConfiguration"
    assert written["resources"][0]["providers"][0]["secretbox"]["keys"][0]["secret"] == KEY
    assert mode(encryption) == 0o600 and mode(encryption.parent) == 0o700
    assert mode(state / CONFIG_FILE) == 0o600 and mode(state / KUBECONFIG_FILE) == 0o600
    assert mode(state) == 0o700
    assert (state / "certs.d/registry.local/hosts.toml").read_text().startswith("server =")
    assert KEY not in (state / CONFIG_FILE).read_text()


def test_create_fails_when_the_api_server_runs_without_encryption(fakes: Path, tmp_path: Path):
    configure_fake_kind(tmp_path / "bin", flag=False)
    with pytest.raises(KindError, match="encryption-provider-config"):
        KindClusterProvider().create(props(tmp_path / "s"))


def test_without_a_key_no_encryption_file_and_no_check(fakes: Path, tmp_path: Path):
    state = tmp_path / "s"
    KindClusterProvider().create(props(state, encryption_key=None))
    assert not (state / ENCRYPTION_FILE).exists()
    assert [c[0] for c in calls(fakes)] == ["get", "create"]


def test_an_existing_cluster_of_that_name_is_not_taken_over(fakes: Path, tmp_path: Path):
    configure_fake_kind(tmp_path / "bin", existing="other\ndev")
    with pytest.raises(KindError, match="kind delete cluster --name dev"):
        KindClusterProvider().create(props(tmp_path / "s"))
    assert [c[0] for c in calls(fakes)] == ["get"]


def test_delete_removes_the_cluster_and_the_key_file(fakes: Path, tmp_path: Path):
    state = tmp_path / "s"
    provider = KindClusterProvider()
    created = provider.create(props(state))
    provider.delete("dev", created.outs)
    assert calls(fakes)[-1] == ["delete", "cluster", "--name", "dev", "--kubeconfig", str(state / KUBECONFIG_FILE)]
    assert not (state / ENCRYPTION_FILE).exists() and not (state / KUBECONFIG_FILE).exists()


def test_missing_kind_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(KindError, match=r"kind.*not on PATH"):
        KindClusterProvider().create(props(tmp_path / "s"))


@pytest.mark.parametrize(
    ("change", "replaces"),
    [
        ({}, []),
        ({"config": "kind: Cluster\nname: other\n"}, ["config"]),
        ({"encryption_key": "b3RoZXI="}, ["encryption_key"]),
        ({"node_files": {}}, ["node_files"]),
        ({"kubeconfig": "changed output"}, []),  # an output never triggers a replacement
    ],
)
def test_diff_replaces_only_when_the_cluster_would_differ(tmp_path: Path, change: dict, replaces: list[str]):
    old = props(tmp_path)
    result = KindClusterProvider().diff("dev", old, {**old, **change})
    assert result.replaces == replaces
    assert result.changes is bool(replaces)


# ---- the caller's environment is not a replace trigger ---------------------------------------------------------


def _cluster_inputs(monkeypatch: pytest.MonkeyPatch, home: Path, xdg: str | None) -> dict:
    """The kind cluster's inputs as one mock run of the local stack registers them, from a shell with this env."""
    from tests.harness.program import run_stack

    monkeypatch.setenv("HOME", str(home))
    if xdg is None:
        monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_STATE_HOME", xdg)
    run = run_stack("local", {"kubernetes": {"cluster": {"create": True}}})
    inputs = dict(run.named("kind-cluster").inputs)
    inputs.pop("__provider", None)  # the pickled provider class, not a property of the cluster
    return inputs


def test_two_shells_render_the_same_replace_relevant_inputs_and_the_diff_replaces_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    from components.kube.kind_provider import REPLACE_ON

    first = _cluster_inputs(monkeypatch, tmp_path / "alice", None)
    second = _cluster_inputs(monkeypatch, tmp_path / "bob", str(tmp_path / "xdg"))
    assert first["state_dir"] != second["state_dir"]  # the environments really differ
    assert {k: first[k] for k in REPLACE_ON} == {k: second[k] for k in REPLACE_ON}
    assert "alice" not in first["config"] and "xdg" not in second["config"]
    result = KindClusterProvider().diff("platform", first, second)
    assert result.changes is False and not result.replaces
    # A real change still replaces (the diff is not blind).
    changed = {**second, "config": second["config"].replace("8443", "9443")}
    assert KindClusterProvider().diff("platform", first, changed).replaces == ["config"]


def test_a_cluster_recorded_with_real_paths_is_not_replaced(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    # Stacks created before the placeholder recorded the config with the real directory in it.
    from components.kube.kind_config import kind_cluster_config
    from tests.fixtures.config import settings_of

    news = _cluster_inputs(monkeypatch, tmp_path / "carol", None)
    state = "/home/old-user/.local/state/platform-kind/platform"
    legacy = kind_cluster_config(settings_of("local", {"kubernetes": {"cluster": {"create": True}}}), Path(state))
    olds = {**news, "state_dir": state, "config": yaml.safe_dump(legacy, sort_keys=False)}
    assert state in olds["config"]
    assert KindClusterProvider().diff("platform", olds, news).changes is False


def test_kind_reads_the_real_host_paths(fakes: Path, tmp_path: Path):
    from components.kube.kind_config import STATE_DIR_PLACEHOLDER, kind_cluster_config
    from tests.fixtures.config import settings_of

    rendered = kind_cluster_config(settings_of("local", {"kubernetes": {"cluster": {"create": True}}}))
    state = tmp_path / "state" / "dev"
    KindClusterProvider().create(props(state, config=yaml.safe_dump(rendered)))
    written = yaml.safe_load((state / CONFIG_FILE).read_text())
    mounts = [m["hostPath"] for m in written["nodes"][0]["extraMounts"]]
    assert mounts == [str(state / "encryption"), str(state / "certs.d")]
    assert str(STATE_DIR_PLACEHOLDER) not in (state / CONFIG_FILE).read_text()
