"""HostFile: a file on the deploying machine as a resource (the kind nodes' registry CA)."""

from __future__ import annotations

from pathlib import Path

from components.kube.host_file import HostFileProvider
from tests.harness.program import run_stack

KIND = {"kubernetes": {"cluster": {"create": True, "workers": 3}}}


def test_create_update_delete_the_file(tmp_path: Path):
    provider = HostFileProvider()
    path = str(tmp_path / "certs.d" / "registry.local" / "ca.crt")
    props = {"path": path, "content": "CA-1", "mode": 0o644}
    created = provider.create(props)
    assert Path(path).read_text() == "CA-1" and created.id == path
    assert not provider.diff(path, props, props).changes
    newer = {**props, "content": "CA-2"}
    assert provider.diff(path, props, newer).changes
    provider.update(path, props, newer)
    assert Path(path).read_text() == "CA-2"
    moved = {**newer, "path": str(tmp_path / "other.crt")}
    assert provider.diff(path, newer, moved).replaces == ["path"]
    provider.delete(path, newer)
    assert not Path(path).exists()


def test_a_vanished_file_is_written_again(tmp_path: Path):
    provider = HostFileProvider()
    props = {"path": str(tmp_path / "ca.crt"), "content": "CA", "mode": 0o644}
    assert provider.diff(props["path"], props, props).changes


def test_kind_nodes_get_the_root_ca_after_the_pki():
    run = run_stack("local", KIND)
    [ca_file] = run.of_type("pulumi-python:dynamic/platform:HostFile")
    assert ca_file.inputs["path"].endswith("/certs.d/registry.local/ca.crt")
    pki = run.named("pki", "kubernetes:yaml/v2:ConfigGroup")
    assert pki.urn in ca_file.dependencies


def test_no_ca_file_without_the_kind_cluster_or_with_an_external_registry():
    existing_cluster = {"kubernetes": {"context": "kind-dev"}}
    assert not run_stack("local", existing_cluster).of_type("pulumi-python:dynamic/platform:HostFile")
    external = run_stack(
        "local",
        {
            **KIND,
            "registry": {"mode": "external", "host": "r.example.com"},
            "app": {"image": "r.example.com/app:1", "migrationsImage": "r.example.com/migrations:1"},
        },
        secrets={"registryPassword": "pw"},
    )
    assert not external.of_type("pulumi-python:dynamic/platform:HostFile")


def test_pulumi_waits_for_the_cas_before_anything_reads_them():
    run = run_stack("local")
    cas = [o for o in run.k8s_objects() if o["kind"] == "Certificate" and o["spec"].get("isCA")]
    assert cas and all(o["metadata"]["annotations"]["pulumi.com/waitFor"] == "condition=Ready" for o in cas)
