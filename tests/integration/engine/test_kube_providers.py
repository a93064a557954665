"""The kind-cluster and host-file dynamic providers as the engine drives them (tests/harness/engine.py).

A real ``python -m pulumi.dynamic`` process receives the inputs the SDK serializes: ``0o600`` arrives as
``384.0``, and a preview's unknown inputs as ``Unknown`` objects. Create, Diff (preview and update),
Update, Read and Delete must all work on that, and a preview must never crash or touch the machine.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from pulumi.output import Unknown

from components.kube.host_file import HostFileProvider
from components.kube.kind_provider import ENCRYPTION_FILE, KUBECONFIG_FILE, KindClusterProvider
from tests.fixtures.fake_kind import KEY, KUBECONFIG_TEXT, calls, install_fake_kind, props
from tests.harness.engine import DynamicProviderServer, EngineResource

HOST_FILE = "pulumi-python:dynamic/platform:HostFile"
KIND = "pulumi-python:dynamic:Resource"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def server() -> Iterator[DynamicProviderServer]:
    with DynamicProviderServer() as server:
        yield server


def test_host_file_lifecycle(server: DynamicProviderServer, tmp_path: Path) -> None:
    ca = EngineResource(server, HostFileProvider(), "registry-ca", HOST_FILE)
    path = tmp_path / "certs.d" / "registry.local" / "ca.crt"
    inputs = {"path": str(path), "content": "CA-1", "mode": 0o600}
    assert ca.up(inputs) == "created"
    assert path.read_text() == "CA-1" and mode(path) == 0o600  # 384.0 from the Struct, written as 0o600
    assert ca.up(inputs) == "same"  # 384.0 == 384: no perpetual diff
    assert ca.read() == {**inputs, "mode": 384.0}

    assert ca.up({**inputs, "content": "CA-2"}) == "updated"
    assert path.read_text() == "CA-2"
    path.unlink()  # a wiped state directory: the next run writes it again
    assert ca.up({**inputs, "content": "CA-2"}) == "updated" and path.exists()

    moved = tmp_path / "other.crt"
    assert ca.up({**inputs, "path": str(moved), "content": "CA-2"}) == "replaced"
    assert moved.read_text() == "CA-2" and not path.exists()
    ca.delete()
    assert not moved.exists()


def test_host_file_preview_with_unknowns(server: DynamicProviderServer, tmp_path: Path) -> None:
    ca = EngineResource(server, HostFileProvider(), "registry-ca", HOST_FILE)
    path = tmp_path / "ca.crt"
    assert ca.up({"path": str(path), "content": "CA", "mode": 0o644}) == "created"
    preview = ca.preview({"path": str(path), "content": Unknown(), "mode": 0o644})
    assert preview.diff is not None and preview.diff.changes is True and preview.diff.replaces == []
    preview = ca.preview({"path": Unknown(), "content": "CA", "mode": 0o644})  # no is_file() on an unknown
    assert preview.diff is not None and preview.diff.replaces == ["path"]
    assert path.read_text() == "CA"  # a preview writes nothing


@pytest.fixture
def kind_server(tmp_path: Path) -> Iterator[tuple[DynamicProviderServer, Path]]:
    """A provider process with fake `kind`/`docker` first on its PATH (tests/fixtures/fake_kind.py)."""
    bin_dir = tmp_path / "bin"
    log = tmp_path / "argv.log"
    install_fake_kind(bin_dir, log)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    with DynamicProviderServer(env=env) as server:
        yield server, log


def test_kind_cluster_lifecycle(kind_server: tuple[DynamicProviderServer, Path], tmp_path: Path) -> None:
    server, log = kind_server
    state = tmp_path / "state" / "dev"
    cluster = EngineResource(server, KindClusterProvider(), "kind-cluster", KIND)
    inputs = {k: v for k, v in props(state).items() if k != "kubeconfig"}
    assert cluster.up(inputs) == "created"
    assert cluster.outs["kubeconfig"] == KUBECONFIG_TEXT
    assert mode(state / ENCRYPTION_FILE) == 0o600
    assert [c[:2] for c in calls(log)] == [["get", "clusters"], ["create", "cluster"], ["exec", "dev-control-plane"]]
    assert not any(KEY in arg for argv in calls(log) for arg in argv)
    assert cluster.up(inputs) == "same"
    assert cluster.read()["kubeconfig"] == KUBECONFIG_TEXT

    cluster.delete()
    assert calls(log)[-1][:2] == ["delete", "cluster"]
    assert not (state / ENCRYPTION_FILE).exists() and not (state / KUBECONFIG_FILE).exists()


def test_kind_cluster_preview_with_unknowns(kind_server: tuple[DynamicProviderServer, Path], tmp_path: Path) -> None:
    server, log = kind_server
    cluster = EngineResource(server, KindClusterProvider(), "kind-cluster", KIND)
    inputs = {k: v for k, v in props(tmp_path / "state").items() if k != "kubeconfig"}
    assert cluster.preview({**inputs, "encryption_key": Unknown()}).failures == []  # first preview: a create
    assert cluster.up(inputs) == "created"
    preview = cluster.preview({**inputs, "encryption_key": Unknown()})
    assert preview.diff is not None and preview.diff.replaces == ["encryption_key"]  # would replace if it changed
    nested = {**inputs, "node_files": {"certs.d/registry.local/hosts.toml": Unknown()}}
    assert cluster.preview(nested).diff.replaces == ["node_files"]
    assert cluster.preview(inputs).diff.changes is False
    assert [c[:2] for c in calls(log)].count(["create", "cluster"]) == 1  # previews ran no kind command
