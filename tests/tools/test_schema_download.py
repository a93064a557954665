"""`make schemas` end to end: the downloader against a mirror on 127.0.0.1 (HTTP) and as file://, built in
tmp_path from real files of the schema data in use (the same bytes the lock pins), plus the CRD conversion."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import json
import os
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness.program import REPO
from tools.schemas import derive
from tools.schemas.__main__ import main
from tools.schemas.download import load_lock, mirror_url

ROOTS = {"crd": "CRD_SCHEMA_DIR", "helm": "HELM_SCHEMA_DIR", "github-actions": "GITHUB_ACTIONS_SCHEMA_DIR"}
PLAIN = [
    "crd/cert-manager.io/certificate_v1.json",
    "crd/traefik.io/middleware_v1alpha1.json",
    "helm/flux2/Chart.yaml",
    "helm/flux2/values.yaml",
]
MEMBERS = ["helm/vault-config-operator/Chart.yaml", "helm/vault-config-operator/values.yaml"]
CONVERTED = "crd/redhatcop.redhat.io/randomsecret_v1alpha1.json"
ACTION = "github-actions/pulumi-actions-v6.6.1-inputs.json"
SUBSET = [*PLAIN, *MEMBERS, CONVERTED, ACTION]


def in_use(path: str) -> Path:
    """A lock path in the schema data the suite reads (../shared in CI, the `make schemas` cache otherwise)."""
    top, rest = path.split("/", 1)
    directory = os.environ.get(ROOTS[top])
    assert directory, f"{ROOTS[top]} is not set (`make test` sets it)"
    return Path(directory) / rest


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _tgz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _crd_yaml(schema: dict[str, Any]) -> bytes:
    """A CRD whose v1alpha1 schema is `schema` (an already converted one converts to itself)."""
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "randomsecrets.redhatcop.redhat.io"},
        "spec": {
            "group": "redhatcop.redhat.io",
            "names": {"kind": "RandomSecret", "plural": "randomsecrets"},
            "scope": "Namespaced",
            "versions": [{"name": "v1alpha1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}}],
        },
    }
    return yaml.safe_dump(crd, sort_keys=False).encode()


def _action_yml(inputs: list[str]) -> bytes:
    """An action.yml declaring `inputs` (in reverse order: the list must come out sorted)."""
    action = {
        "name": "Pulumi",
        "inputs": {name: {"description": f"the {name} input", "required": False} for name in reversed(inputs)},
        "runs": {"using": "node24", "main": "dist/index.js"},
    }
    return yaml.safe_dump(action, sort_keys=False).encode()


@pytest.fixture(scope="module")
def real() -> dict[str, bytes]:
    return {path: in_use(path).read_bytes() for path in SUBSET}


@pytest.fixture(scope="module")
def artifacts(real: dict[str, bytes]) -> dict[str, bytes]:
    """Upstream URL -> body the mirror serves: real files as they are; the artifacts that derived files come
    from rebuilt around the real files (chart package, CRD YAML, action.yml)."""
    files = load_lock()["files"]
    served = {files[path]["url"]: real[path] for path in PLAIN}
    served[files[MEMBERS[0]]["url"]] = _tgz({files[path]["member"]: real[path] for path in MEMBERS})
    served[files[CONVERTED]["url"]] = _crd_yaml(json.loads(real[CONVERTED]))
    served[files[ACTION]["url"]] = _action_yml(json.loads(real[ACTION])["inputs"])
    return served


@pytest.fixture(scope="module")
def subset_lock(artifacts: dict[str, bytes]) -> dict[str, Any]:
    """The real lock's entries for SUBSET (real URLs, real sha256 of every cached file); only the checksums
    of the rebuilt artifacts differ."""
    lock = load_lock()
    files = {path: dict(lock["files"][path]) for path in SUBSET}
    for entry in files.values():
        if "url_sha256" in entry:
            entry["url_sha256"] = sha256(artifacts[entry["url"]])
    charts = {name: lock["charts"][name] for name in ("flux2", "vault-config-operator")}
    return {"charts": charts, "files": files}


@pytest.fixture
def lock_file(tmp_path: Path, subset_lock: dict[str, Any]) -> Path:
    path = tmp_path / "lock.json"
    path.write_text(json.dumps(subset_lock))
    return path


@pytest.fixture
def mirror_dir(tmp_path: Path, artifacts: dict[str, bytes]) -> Path:
    """`<mirror>/<host>/<path>` for every upstream URL, the layout `wget -x` builds."""
    root = tmp_path / "mirror"
    for url, data in artifacts.items():
        target = root / url.split("://", 1)[1]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        self.server.requests.append(self.path)  # type: ignore[attr-defined]


@pytest.fixture
def http_mirror(mirror_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, list[str]]]:
    """(base URL, request log) of an HTTP server on 127.0.0.1 serving `mirror_dir`."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(mirror_dir)))
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", server.requests  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def _no_configured_mirror(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCHEMA_MIRROR", raising=False)
    monkeypatch.delenv("SCHEMA_CACHE", raising=False)


def download(lock_file: Path, cache: Path, mirror: str) -> int:
    return main(["--lock", str(lock_file), "download", "--cache", str(cache), "--mirror", mirror])


def cache_files(cache: Path) -> set[str]:
    return {str(p.relative_to(cache)) for p in cache.rglob("*") if p.is_file()}


def assert_cache_holds(cache: Path, real: dict[str, bytes], paths: list[str]) -> None:
    for path in paths:
        assert (cache / path).read_bytes() == real[path], path


def test_downloads_every_file_from_an_http_mirror(tmp_path, lock_file, http_mirror, real, capsys):
    base, requests = http_mirror
    cache = tmp_path / "cache"
    assert download(lock_file, cache, base) == 0
    assert_cache_holds(cache, real, SUBSET)
    assert cache_files(cache) == {*SUBSET, "helm/SOURCES.md"}
    assert f"{len(SUBSET)} files verified" in capsys.readouterr().out
    # Every upstream URL fetched once, through the mirror's <host>/<path> layout.
    assert sorted(requests) == sorted(
        "/" + url.split("://", 1)[1] for url in {e["url"] for e in json.loads(lock_file.read_text())["files"].values()}
    )
    # The Helm values check reads cert-manager's release version from SOURCES.md: same line format as shared's.
    sources = (cache / "helm/SOURCES.md").read_text()
    assert "- flux2 | fluxcd-community/helm-charts | charts/flux2 | " in sources
    assert "| v0.8.52\n" in sources

    # A second run verifies the cache and fetches nothing.
    requests.clear()
    assert download(lock_file, cache, base) == 0
    assert requests == []
    assert "(0 downloaded" in capsys.readouterr().out


def test_a_file_mirror_works_too(tmp_path, lock_file, mirror_dir, real):
    cache = tmp_path / "cache"
    assert download(lock_file, cache, mirror_dir.as_uri()) == 0
    assert_cache_holds(cache, real, SUBSET)
    # ... and a plain directory, as `python -m tools.schemas` (what `make schemas` runs) in its own process.
    other = tmp_path / "other"
    result = subprocess.run(
        [sys.executable, "-m", "tools.schemas", "--lock", str(lock_file), "download", "--cache", str(other)],
        cwd=REPO,
        env={**os.environ, "SCHEMA_MIRROR": str(mirror_dir)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert_cache_holds(other, real, SUBSET)


def test_a_checksum_mismatch_is_refused_and_nothing_corrupt_is_kept(tmp_path, lock_file, http_mirror, real, capsys):
    base, _ = http_mirror
    files = json.loads(lock_file.read_text())["files"]
    tampered = "crd/cert-manager.io/certificate_v1.json"
    served = tmp_path / "mirror" / files[tampered]["url"].split("://", 1)[1]
    served.write_bytes(served.read_bytes().replace(b'"type": "object"', b'"type": "string"', 1))
    cache = tmp_path / "cache"
    (cache / "crd/cert-manager.io").mkdir(parents=True)
    (cache / tampered).write_bytes(b"{}")  # a corrupt leftover in the cache is not kept either
    assert download(lock_file, cache, base) == 1
    err = capsys.readouterr().err
    assert f"schemas: {tampered}: checksum mismatch" in err
    assert files[tampered]["sha256"] in err
    assert "1 of 8 files failed" in err
    assert not (cache / tampered).exists()
    assert not [p for p in cache.rglob("*") if p.name.endswith(".part")]
    others = [p for p in SUBSET if p != tampered]
    assert_cache_holds(cache, real, others)


def test_a_tampered_chart_package_is_refused_before_it_is_opened(tmp_path, lock_file, mirror_dir, capsys):
    files = json.loads(lock_file.read_text())["files"]
    package = mirror_dir / files[MEMBERS[0]]["url"].split("://", 1)[1]
    package.write_bytes(_tgz({files[path]["member"]: b"evil: true\n" for path in MEMBERS}))
    cache = tmp_path / "cache"
    assert download(lock_file, cache, mirror_dir.as_uri()) == 1
    err = capsys.readouterr().err
    for path in MEMBERS:
        assert f"schemas: {path}: checksum mismatch of {mirror_dir.as_uri()}/" in err
        assert not (cache / path).exists()


def test_a_file_missing_on_the_mirror_is_named(tmp_path, lock_file, http_mirror, real, capsys):
    base, _ = http_mirror
    files = json.loads(lock_file.read_text())["files"]
    missing = "helm/flux2/values.yaml"
    (tmp_path / "mirror" / files[missing]["url"].split("://", 1)[1]).unlink()
    cache = tmp_path / "cache"
    assert download(lock_file, cache, base) == 1
    err = capsys.readouterr().err
    assert f"schemas: {missing}: HTTP 404 from {mirror_url(files[missing]['url'], base)}" in err
    assert "the mirror must serve <mirror>/<host>/<path>" in err
    assert not (cache / missing).exists()
    assert_cache_holds(cache, real, [p for p in SUBSET if p != missing])

    # Same through file://: named as not found.
    other = tmp_path / "other"
    assert download(lock_file, other, (tmp_path / "mirror").as_uri()) == 1
    assert f"schemas: {missing}: not found: file://" in capsys.readouterr().err


def test_mirror_layout_replaces_the_upstream_base():
    url = "https://raw.githubusercontent.com/datreeio/CRDs-catalog/7b1e26ef9deea49293714d204c1a2270aab1178f/a/b.json"
    tail = "raw.githubusercontent.com/datreeio/CRDs-catalog/7b1e26ef9deea49293714d204c1a2270aab1178f/a/b.json"
    assert mirror_url(url, None) == url
    assert mirror_url(url, "https://mirror.example/schemas") == f"https://mirror.example/schemas/{tail}"
    assert mirror_url(url, "https://mirror.example/schemas/") == f"https://mirror.example/schemas/{tail}"
    assert mirror_url(url, "file:///srv/m/") == f"file:///srv/m/{tail}"
    assert mirror_url(url, "/srv/m") == f"file:///srv/m/{tail}"


def test_crd_conversion_follows_the_catalog_rules():
    crd = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
spec:
  group: example.com
  names: {kind: Widget}
  versions:
  - name: v1
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              port: {format: int-or-string, x-kubernetes-int-or-string: true}
              labels: {type: object, additionalProperties: {type: string}}
              items:
                type: array
                items: {type: object, properties: {name: {type: string}}}
              eq: {type: string, default: =}
  - name: v2alpha1
    served: false
"""
    converted = json.loads(derive.crd_jsonschema(crd.encode(), "crd/example.com/widget_v1.json"))
    assert converted == {
        "type": "object",  # the root keeps accepting unknown fields
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "port": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "items": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"name": {"type": "string"}},
                            "additionalProperties": False,
                        },
                    },
                    "eq": {"type": "string", "default": "="},
                },
                "additionalProperties": False,
            }
        },
    }
    with pytest.raises(derive.DeriveError, match=r"holds no example\.com/widget_v2alpha1\.json"):
        derive.crd_jsonschema(crd.encode(), "crd/example.com/widget_v2alpha1.json")
