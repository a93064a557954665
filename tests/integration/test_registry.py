"""The in-cluster registry's configuration, run for real: Debian's `docker-registry` (CNCF distribution)
started with the ConfigMap the local stack renders, S3 storage on a moto server, TLS from test certs.

Taken FROM the rendered manifests (not copied): the distribution config (ConfigMap registry-config), the
container's environment and mount paths (Deployment registry), the htpasswd line and the S3 credentials
file (the VaultStaticSecret templates, rendered as VSO would), and the dockerconfigjson of the pull Secret
(VaultStaticSecret registry-pull). Only host-specific bits are rewritten: listen addresses, mount paths
-> temp dirs, the S3 endpoint -> moto on 127.0.0.1.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
import yaml
from moto.server import ThreadedMotoServer

from components.kube.image_copy import ACCEPT, digest_of, split_reference
from components.kube.image_copy_provider import RegistryImageProvider
from components.settings import names
from components.settings import names as storage_names
from tests.fixtures import oci_images
from tests.fixtures.certificates import ThrowawayCa
from tests.fixtures.openbao import install_fake_kubectl
from tests.harness.program import ProgramRun, run_stack
from tests.harness.vso_template import render_destination

pytestmark = pytest.mark.slow

REGISTRY_BINARY = "/usr/bin/docker-registry"
REPOSITORY = "platform/artifact"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen | None = None, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"process exited with {process.returncode} before listening on {port}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def _s3_client(endpoint: str) -> Any:
    # moto does not check credentials; region matches the default s3.region.
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def _find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


@pytest.fixture(scope="module")
def rendered() -> ProgramRun:
    return run_stack("local")


@pytest.fixture(scope="module")
def moto_s3() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        _wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


class Registry:
    """A running docker-registry configured from the manifests."""

    def __init__(self, url: str, ca: Path, password: str, objects: list[dict[str, Any]], bucket: str, s3: str):
        self.url, self.ca, self.password, self.objects, self.bucket, self.s3 = url, ca, password, objects, bucket, s3
        self.pull_url, self.pull_password = "", ""  # the read-only instance (container registry-pull)

    def session(self, auth: tuple[str, str] | None = None) -> requests.Session:
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify= (REFERENCE §6)
        session.verify = str(self.ca)
        session.auth = auth
        return session


@pytest.fixture(scope="module")
def registry(rendered: ProgramRun, moto_s3: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    objects = rendered.k8s_objects()
    config = yaml.safe_load(_find(objects, "ConfigMap", "registry-config")["data"]["config.yml"])
    deployment = _find(objects, "Deployment", "registry")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    root = tmp_path_factory.mktemp("registry")
    # Every mount of the container becomes a temp dir; paths in config and env are rewritten by prefix.
    mounts = {m["mountPath"]: root / m["name"] for m in container["volumeMounts"]}
    for directory in mounts.values():
        directory.mkdir()

    def local(path: str) -> str:
        for mount, directory in mounts.items():
            if path == mount or path.startswith(mount + "/"):
                return str(directory) + path[len(mount) :]
        raise AssertionError(f"{path} is not under a volume mount of the registry container")

    password = "Test0nlyPassw0rd" + os.urandom(8).hex()
    secret_key = "Test0nlySecretKey" + os.urandom(8).hex()
    issued = ThrowawayCa.create("test root CA").issue("registry", dns_names=("localhost",), ip_addresses=("127.0.0.1",))
    ca, cert, key = issued.write(root)
    # The TLS Secret's files where the Deployment mounts them (tls.crt/tls.key and ca.crt).
    for file in (cert, key):
        Path(local(config["http"]["tls"]["certificate"])).parent.joinpath(file.name).write_bytes(file.read_bytes())
    Path(local("/etc/registry/ca/ca.crt")).write_bytes(ca.read_bytes())
    # htpasswd and the S3 credentials file, rendered from the VaultStaticSecrets as VSO would.
    htpasswd = render_destination(_find(objects, "VaultStaticSecret", "registry-htpasswd"), {"password": password})
    Path(local(config["auth"]["htpasswd"]["path"])).write_text(htpasswd["htpasswd"])
    # The read-only instance: same config file, the container's REGISTRY_* overrides, its own htpasswd.
    pull_container = next(
        c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "registry-pull"
    )
    pull_mounts = {m["mountPath"]: root / m["name"] for m in pull_container["volumeMounts"]}
    for mount_path, directory in pull_mounts.items():
        mounts.setdefault(mount_path, directory)
        directory.mkdir(exist_ok=True)
    pull_password = "Test0nlyPull" + os.urandom(8).hex()
    pull_htpasswd = render_destination(
        _find(objects, "VaultStaticSecret", "registry-pull-htpasswd"), {"password": pull_password}
    )
    pull_env = {e["name"]: e["value"] for e in pull_container["env"]}
    Path(local(pull_env["REGISTRY_AUTH_HTPASSWD_PATH"])).write_text(pull_htpasswd["htpasswd"])
    credentials = render_destination(
        _find(objects, "VaultStaticSecret", "registry-s3"), {storage_names.SECRET_ACCESS_KEY: secret_key}
    )
    env = {e["name"]: e["value"] for e in container["env"]}
    Path(local(env["AWS_SHARED_CREDENTIALS_FILE"])).write_text(credentials["credentials"])

    bucket = config["storage"]["s3"]["bucket"]
    _s3_client(moto_s3).create_bucket(Bucket=bucket)

    port, debug_port = _free_port(), _free_port()
    config["http"]["addr"] = f"127.0.0.1:{port}"
    config["http"]["debug"]["addr"] = f"127.0.0.1:{debug_port}"
    config["http"]["tls"]["certificate"] = local(config["http"]["tls"]["certificate"])
    config["http"]["tls"]["key"] = local(config["http"]["tls"]["key"])
    config["auth"]["htpasswd"]["path"] = local(config["auth"]["htpasswd"]["path"])
    config["storage"]["s3"]["regionendpoint"] = moto_s3
    config_file = root / "config.yml"
    config_file.write_text(yaml.safe_dump(config))

    process_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "SSL_CERT_FILE"}
    process_env.update({name: local(value) if value.startswith("/etc/") else value for name, value in env.items()})
    log = (root / "registry.log").open("w")
    process = subprocess.Popen(
        [REGISTRY_BINARY, "serve", str(config_file)], env=process_env, stdout=log, stderr=subprocess.STDOUT
    )
    pull_port, pull_debug = _free_port(), _free_port()
    overrides = {
        name: local(value) if value.startswith("/etc/") else value
        for name, value in pull_env.items()
        if name.startswith("REGISTRY_")
    }
    overrides.update(REGISTRY_HTTP_ADDR=f"127.0.0.1:{pull_port}", REGISTRY_HTTP_DEBUG_ADDR=f"127.0.0.1:{pull_debug}")
    pull_log = (root / "registry-pull.log").open("w")
    pull_process = subprocess.Popen(
        [REGISTRY_BINARY, "serve", str(config_file)],
        env={**process_env, **overrides},
        stdout=pull_log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for_port(port, process)
        _wait_for_port(pull_port, pull_process)
        running = Registry(f"https://127.0.0.1:{port}", ca, password, objects, bucket, moto_s3)
        running.pull_url, running.pull_password = f"https://127.0.0.1:{pull_port}", pull_password
        yield running
    finally:
        for proc in (process, pull_process):
            proc.terminate()
            proc.wait(timeout=10)
        log.close()
        pull_log.close()


def _push(session: requests.Session, url: str, tag: str) -> tuple[str, bytes]:
    """Push a one-layer OCI artifact through the distribution API; returns (layer digest, layer bytes)."""
    layer = b"platform registry test layer " + os.urandom(32)
    config = b"{}"
    for blob in (layer, config):
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        start = session.post(f"{url}/v2/{REPOSITORY}/blobs/uploads/")
        assert start.status_code == 202, start.text
        location = start.headers["Location"]
        location = location if location.startswith("http") else url + location
        done = session.put(
            location,
            params={"digest": digest},
            data=blob,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert done.status_code == 201, done.text
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.platform.test",
        "config": {
            "mediaType": "application/vnd.oci.empty.v1+json",
            "digest": "sha256:" + hashlib.sha256(config).hexdigest(),
            "size": len(config),
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": "sha256:" + hashlib.sha256(layer).hexdigest(),
                "size": len(layer),
            }
        ],
    }
    response = session.put(
        f"{url}/v2/{REPOSITORY}/manifests/{tag}",
        data=json.dumps(manifest),
        headers={"Content-Type": OCI_MANIFEST},
    )
    assert response.status_code == 201, response.text
    return "sha256:" + hashlib.sha256(layer).hexdigest(), layer


def test_probe_path_answers_without_credentials(registry: Registry):
    response = registry.session().get(f"{registry.url}/")
    assert response.status_code == 200


def test_the_htpasswd_user_pushes_and_pulls_through_s3(registry: Registry, rendered: ProgramRun):
    username = yaml.safe_load(json.dumps(_find(registry.objects, "VaultStaticSecret", "registry-htpasswd")))
    user = username["spec"]["destination"]["transformation"]["templates"]["htpasswd"]["text"].split(":")[0]
    session = registry.session((user, registry.password))
    digest, layer = _push(session, registry.url, "v1")

    manifest = session.get(f"{registry.url}/v2/{REPOSITORY}/manifests/v1", headers={"Accept": OCI_MANIFEST})
    assert manifest.status_code == 200
    assert manifest.json()["layers"][0]["digest"] == digest
    # storage.redirect.disable: the registry streams the blob itself, no 307 to a presigned S3 URL.
    blob = session.get(f"{registry.url}/v2/{REPOSITORY}/blobs/{digest}", allow_redirects=False)
    assert blob.status_code == 200, f"{blob.status_code} {blob.headers.get('Location')}"
    assert blob.content == layer
    # ...and the blob really lives in the S3 bucket (under the configured root directory).
    keys = [o["Key"] for o in _s3_client(registry.s3).list_objects_v2(Bucket=registry.bucket)["Contents"]]
    assert any(k.startswith("registry/docker/registry/v2/blobs/sha256/") for k in keys), keys[:5]


def test_unauthenticated_and_wrong_password_pushes_are_refused(registry: Registry):
    anonymous = registry.session()
    assert anonymous.get(f"{registry.url}/v2/").status_code == 401
    assert anonymous.post(f"{registry.url}/v2/{REPOSITORY}/blobs/uploads/").status_code == 401
    wrong = registry.session(("registry", registry.password + "x"))
    assert wrong.post(f"{registry.url}/v2/{REPOSITORY}/blobs/uploads/").status_code == 401


def _pull_secret_credentials(registry: Registry) -> tuple[str, str]:
    pull = _find(registry.objects, "VaultStaticSecret", names.REGISTRY_PULL_SECRET)
    assert pull["spec"]["destination"]["type"] == "kubernetes.io/dockerconfigjson"
    assert pull["spec"]["path"].endswith(names.REGISTRY_PULL_PASSWORD_SECRET)
    data = render_destination(pull, {storage_names.PASSWORD: registry.pull_password})
    auths = json.loads(data[".dockerconfigjson"])["auths"]
    assert list(auths) == ["registry.local"]  # settings.registry.host: what image references use
    entry = auths["registry.local"]
    username, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
    assert (username, password) == (entry["username"], entry["password"])
    return username, password


def test_the_pull_secret_pulls_from_the_read_only_instance(registry: Registry):
    username, password = _pull_secret_credentials(registry)
    assert username == "registry-pull"
    pusher = registry.session(("registry", registry.password))
    digest, layer = _push(pusher, registry.url, "for-pull")
    reader = registry.session((username, password))
    manifest = reader.get(f"{registry.pull_url}/v2/{REPOSITORY}/manifests/for-pull", headers={"Accept": OCI_MANIFEST})
    assert manifest.status_code == 200, manifest.text
    assert reader.get(f"{registry.pull_url}/v2/{REPOSITORY}/blobs/{digest}").content == layer


def test_the_pull_secret_cannot_push(registry: Registry):
    """The issue's attack: the app namespace's pull Secret used to hold the only (push) user."""
    username, password = _pull_secret_credentials(registry)
    reader = registry.session((username, password))
    # Read-only instance: every write is refused, whoever asks.
    assert reader.post(f"{registry.pull_url}/v2/{REPOSITORY}/blobs/uploads/").status_code == 405
    pusher_on_pull = registry.session(("registry", registry.password))
    assert pusher_on_pull.get(f"{registry.pull_url}/v2/").status_code == 401  # not in the pull htpasswd
    # Push instance: the pull user is unknown there.
    assert reader.post(f"{registry.url}/v2/{REPOSITORY}/blobs/uploads/").status_code == 401
    assert reader.get(f"{registry.url}/v2/").status_code == 401


# --- app.imageSource: the image copy provider against the real registry ------------------------------------


@pytest.fixture(scope="module")
def pull_credentials(registry: Registry) -> tuple[str, str]:
    """(username, password) the image copy pushes with: the push user, whose password the program reads from
    Vault (components/layers/app_images.py); the pull Secret's user cannot push."""
    return "registry", registry.password


def _copy_props(registry: Registry, credentials: tuple[str, str], source: Path, reference: str) -> dict[str, Any]:
    repository, tag = split_reference(reference, "registry.local")
    username, password = credentials
    return {
        "source": str(source),
        "repository": repository,
        "tag": tag,
        # The test certificate names localhost; the provider verifies that name while dialling 127.0.0.1.
        "server_name": "localhost",
        "ca_pem": registry.ca.read_text(),
        "username": username,
        "password": password,
        "direct_url": registry.url,
    }


def _pulled(registry: Registry, credentials: tuple[str, str], reference: str) -> tuple[str, dict[str, Any]]:
    """Pull `reference` as a kubelet would: the manifest by tag, then every blob it names."""
    repository, tag = split_reference(reference, "registry.local")
    session = registry.session(credentials)
    manifest = session.get(f"{registry.url}/v2/{repository}/manifests/{tag}", headers={"Accept": ACCEPT})
    assert manifest.status_code == 200, manifest.text
    body = manifest.json()
    for descriptor in (body["config"], *body["layers"]):
        blob = session.get(f"{registry.url}/v2/{repository}/blobs/{descriptor['digest']}")
        assert blob.status_code == 200 and digest_of(blob.content) == descriptor["digest"]
    return manifest.headers["Docker-Content-Digest"], body


def _workload_images(rendered: ProgramRun) -> dict[str, str]:
    objects = rendered.k8s_objects()
    job = _find(objects, "Job", next(o["metadata"]["name"] for o in objects if o["kind"] == "Job"))
    deployment = _find(
        objects,
        "Deployment",
        next(
            o["metadata"]["name"] for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] != "registry"
        ),
    )
    return {
        "migrations": job["spec"]["template"]["spec"]["containers"][0]["image"],
        "app": deployment["spec"]["template"]["spec"]["containers"][0]["image"],
    }


@pytest.mark.parametrize("form", ["oci-layout", "oci-archive", "docker-save"])
def test_the_copied_image_is_pullable_by_the_reference_the_workloads_use(
    form, registry: Registry, rendered: ProgramRun, pull_credentials, tmp_path: Path
):
    images = _workload_images(rendered)
    assert images == {
        "app": "registry.local/sms-proxy:0.1.0",
        "migrations": "registry.local/sms-proxy-migrations:0.1.0",
    }
    source = tmp_path / form
    if form == "oci-layout":
        expected = oci_images.write_oci_layout(source, form)
    elif form == "oci-archive":
        expected = oci_images.write_oci_archive(source.with_suffix(".tar"), form)
        source = source.with_suffix(".tar")
    else:
        config = oci_images.write_docker_save(source.with_suffix(".tar"), form)
        source = source.with_suffix(".tar")
        expected = None
    for reference in images.values():
        provider = RegistryImageProvider()
        assert provider.check({}, _copy_props(registry, pull_credentials, source, reference)).failures == []
        created = provider.create(_copy_props(registry, pull_credentials, source, reference))
        digest, body = _pulled(registry, pull_credentials, reference)
        assert created.outs["digest"] == digest
        if expected is not None:
            assert digest == expected  # byte-for-byte the source's manifest
        else:
            assert body["config"]["digest"] == digest_of(config)


def test_diff_pushes_again_only_when_the_image_or_the_target_changes(
    registry: Registry, pull_credentials, tmp_path: Path
):
    reference = "registry.local/sms-proxy:diff"
    source = tmp_path / "image"
    oci_images.write_oci_layout(source, "first")
    provider = RegistryImageProvider()
    props = _copy_props(registry, pull_credentials, source, reference)
    outs = provider.create(props).outs
    assert provider.diff("id", outs, props).changes is False
    assert provider.diff("id", outs, {**props, "tag": "other"}).changes is True
    # A rebuilt image at the same path: a new digest, pushed by an update (never a replace).
    shutil.rmtree(source)
    oci_images.write_oci_layout(source, "second")
    diff = provider.diff("id", outs, props)
    assert diff.changes is True and not diff.replaces
    updated = provider.update("id", outs, props).outs
    assert updated["digest"] != outs["digest"]
    assert _pulled(registry, pull_credentials, reference)[0] == updated["digest"]
    # A wiped registry (tag gone) shows on refresh as a changed digest.
    assert provider.read("id", updated).outs["digest"] == updated["digest"]


def test_the_copy_fails_fast_without_the_image_or_the_right_credentials(
    registry: Registry, pull_credentials, tmp_path: Path
):
    provider = RegistryImageProvider()
    missing = _copy_props(registry, pull_credentials, tmp_path / "absent.tar", "registry.local/sms-proxy:x")
    (failure,) = provider.check({}, missing).failures
    assert failure.property == "source" and "docker save" in failure.reason
    source = tmp_path / "image"
    oci_images.write_oci_layout(source)
    wrong = _copy_props(
        registry, (pull_credentials[0], pull_credentials[1] + "x"), source, "registry.local/sms-proxy:x"
    )
    with pytest.raises(RuntimeError, match="HTTP 401") as refused:
        provider.create(wrong)
    assert pull_credentials[1] not in str(refused.value)
    # A registry certificate the CA did not sign is refused before any credential is sent.
    other_ca = ThrowawayCa.create("another CA").issue("x", dns_names=("localhost",)).write(tmp_path / "other").ca
    with pytest.raises(requests.exceptions.SSLError):
        provider.create(
            {
                **_copy_props(registry, pull_credentials, source, "registry.local/sms-proxy:x"),
                "ca_pem": other_ca.read_text(),
            }
        )


def test_the_copy_reaches_the_in_cluster_registry_through_a_port_forward(
    registry: Registry, pull_credentials, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The program's path: `kubectl port-forward svc/registry :443` (a fake kubectl forwarding to the real
    registry), the certificate verified for registry.host's name; no credential on the kubectl command line."""
    kubectl = install_fake_kubectl(tmp_path, {"registry": int(registry.url.rsplit(":", 1)[1])}, monkeypatch)
    source = tmp_path / "image"
    expected = oci_images.write_oci_layout(source, "forwarded")
    props = _copy_props(registry, pull_credentials, source, "registry.local/sms-proxy:forwarded")
    del props["direct_url"]
    props.update(namespace="sms-proxy", service="registry", port=5443, kube_context="kind-platform")
    outs = RegistryImageProvider().create(props).outs
    assert outs["digest"] == expected == _pulled(registry, pull_credentials, "registry.local/sms-proxy:forwarded")[0]
    (argv,) = kubectl.calls()
    assert argv[argv.index("port-forward") :][:3] == ["port-forward", "svc/registry", ":5443"]
    assert argv[argv.index("--context") : argv.index("--context") + 2] == ["--context", "kind-platform"]
    assert not any(pull_credentials[1] in arg for arg in argv)
