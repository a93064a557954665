"""Copy an image from an OCI layout directory or an image archive into a registry, through the registry HTTP API.

Sources (`app.imageSource`): an OCI image layout directory (`index.json` + `blobs/`, what `skopeo copy
oci:...`, `buildah push oci:...` and `docker buildx --output type=oci,tar=false` write), or a tar archive of
one: an OCI archive, or `docker save` output (Docker 25+ writes an OCI layout inside; older Dockers a
`manifest.json` whose config and layers are turned into an OCI image manifest here, layers uncompressed).

The push is the distribution API every OCI registry speaks: for each blob HEAD (already there?) else POST an
upload and PUT it with its digest, then PUT the manifest under the tag. Credentials travel in the
Authorization header only (never argv, never a log line).
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
ACCEPT = ", ".join((OCI_MANIFEST, OCI_INDEX, DOCKER_LIST, "application/vnd.docker.distribution.manifest.v2+json"))


class ImageSourceError(ValueError):
    """The source is not an OCI layout, an OCI archive or a `docker save` archive (the message says why)."""


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Image:
    """What a push needs: the top manifest (image or index), the manifests under an index, and every blob."""

    manifest: bytes
    media_type: str
    children: list[bytes] = field(default_factory=list)  # manifests of an index, pushed by digest first
    blobs: dict[str, Callable[[], bytes]] = field(default_factory=dict)  # digest -> reader

    @property
    def digest(self) -> str:
        return digest_of(self.manifest)


def _media_type(manifest: bytes, fallback: str) -> str:
    return json.loads(manifest).get("mediaType") or fallback


def _from_layout(read: Callable[[str], bytes]) -> Image:
    """An OCI layout, given a reader of its files by relative path: the one image (or index) `index.json` names."""
    index = json.loads(read("index.json"))
    entries = index.get("manifests") or []
    if len(entries) != 1:
        raise ImageSourceError(f"index.json lists {len(entries)} images; the source must hold exactly one")

    def blob(digest: str) -> bytes:
        algorithm, _, hexdigest = digest.partition(":")
        return read(f"blobs/{algorithm}/{hexdigest}")

    top = entries[0]
    manifest = blob(top["digest"])
    image = Image(manifest=manifest, media_type=top.get("mediaType") or _media_type(manifest, OCI_MANIFEST))
    manifests = [manifest]
    if image.media_type in INDEX_TYPES:
        # A multi-platform image: every platform's manifest the layout holds (a missing one is an error).
        image.children = [blob(entry["digest"]) for entry in json.loads(manifest)["manifests"]]
        manifests = image.children
    for child in manifests:
        body = json.loads(child)
        for descriptor in (body["config"], *body["layers"]):
            image.blobs[descriptor["digest"]] = lambda digest=descriptor["digest"]: blob(digest)
    return image


def _from_docker_save(read: Callable[[str], bytes]) -> Image:
    """A pre-OCI `docker save` archive: its config and (uncompressed) layers as an OCI image manifest."""
    entries = json.loads(read("manifest.json"))
    if len(entries) != 1:
        raise ImageSourceError(f"manifest.json lists {len(entries)} images; save exactly one (`docker save IMAGE`)")
    entry = entries[0]
    config = read(entry["Config"])
    layers = [(path, read(path)) for path in entry["Layers"]]
    image = Image(manifest=b"", media_type=OCI_MANIFEST)
    image.blobs[digest_of(config)] = lambda: config
    descriptors = []
    for _path, data in layers:
        image.blobs[digest_of(data)] = lambda data=data: data
        descriptors.append({"mediaType": OCI_LAYER_TAR, "digest": digest_of(data), "size": len(data)})
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": digest_of(config), "size": len(config)},
        "layers": descriptors,
    }
    image.manifest = json.dumps(manifest, separators=(",", ":"), sort_keys=True).encode()
    return image


def load_image(path: str | Path) -> Image:
    """The image at `path`: an OCI layout directory, or an OCI / `docker save` tar archive."""
    source = Path(path)
    if source.is_dir():
        if not (source / "index.json").is_file():
            raise ImageSourceError(f"{source}: a directory source must be an OCI image layout (no index.json)")
        return _from_layout(lambda name: (source / name).read_bytes())
    if not source.is_file():
        raise ImageSourceError(f"{source}: no such file or directory")
    if not tarfile.is_tarfile(source):
        raise ImageSourceError(f"{source}: not a tar archive (docker save / OCI archive) nor an OCI layout directory")
    with tarfile.open(source) as archive:
        members = {member.name.removeprefix("./"): member for member in archive.getmembers() if member.isfile()}

        def read(name: str) -> bytes:
            member = members.get(name)
            if member is None:
                raise ImageSourceError(f"{source}: the archive has no {name}")
            handle = archive.extractfile(member)
            assert handle is not None
            return handle.read()

        # Read everything while the archive is open: the blob readers must outlive it.
        image = _from_layout(read) if "index.json" in members else _from_docker_save(read)
        image.blobs = {digest: _constant(reader()) for digest, reader in image.blobs.items()}
        return image


def _constant(data: bytes) -> Callable[[], bytes]:
    return lambda: data


def source_digest(path: str | Path) -> str:
    """The digest of the manifest the source would push: changes exactly when the image does."""
    return load_image(path).digest


@dataclass(frozen=True)
class Target:
    """Where to push: the registry's base URL (what to dial), the TLS name and CA to verify, the repository and
    tag of the image reference the workloads use, and basic-auth credentials."""

    url: str
    server_name: str
    ca_file: str | bool  # a CA bundle path, or True for the system trust store
    repository: str
    tag: str
    username: str
    password: str = field(repr=False)


class _NamedHostAdapter(HTTPAdapter):
    """Verify the registry's certificate for its own name while dialling another address (a port-forward)."""

    def __init__(self, server_name: str) -> None:
        self.server_name = server_name
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["assert_hostname"] = self.server_name
        kwargs["server_hostname"] = self.server_name
        super().init_poolmanager(*args, **kwargs)


@contextmanager
def session_for(target: Target) -> Iterator[requests.Session]:
    session = requests.Session()
    # REQUESTS_CA_BUNDLE in the environment would replace `verify` (the CA given here) with another bundle.
    session.trust_env = False
    session.mount("https://", _NamedHostAdapter(target.server_name))
    session.verify = target.ca_file
    session.auth = (target.username, target.password)
    try:
        yield session
    finally:
        session.close()


def _check(response: requests.Response, what: str) -> None:
    if response.status_code >= 400:
        # The body is the registry's error JSON (no credential in it).
        raise RuntimeError(f"registry refused {what}: HTTP {response.status_code} {response.text[:300]}")


def _push_blob(session: requests.Session, base: str, digest: str, read: Callable[[], bytes]) -> None:
    if session.head(f"{base}/blobs/{digest}", timeout=30).status_code == 200:
        return
    started = session.post(f"{base}/blobs/uploads/", timeout=30)
    _check(started, f"an upload of {digest}")
    location = started.headers["Location"]
    if location.startswith("/"):
        location = base.split("/v2/")[0] + location
    separator = "&" if "?" in location else "?"
    data = read()
    done = session.put(
        f"{location}{separator}digest={digest}",
        data=data,
        headers={"Content-Type": "application/octet-stream", "Content-Length": str(len(data))},
        timeout=300,
    )
    _check(done, f"blob {digest}")


def push(image: Image, target: Target) -> str:
    """Push every blob, the child manifests of an index, then the manifest under the tag; returns its digest."""
    base = f"{target.url.rstrip('/')}/v2/{target.repository}"
    with session_for(target) as session:
        for digest, read in image.blobs.items():
            _push_blob(session, base, digest, read)
        for child in image.children:
            response = session.put(
                f"{base}/manifests/{digest_of(child)}",
                data=child,
                headers={"Content-Type": _media_type(child, OCI_MANIFEST)},
                timeout=60,
            )
            _check(response, "a platform manifest")
        response = session.put(
            f"{base}/manifests/{target.tag}",
            data=image.manifest,
            headers={"Content-Type": image.media_type},
            timeout=60,
        )
        _check(response, f"the manifest of {target.repository}:{target.tag}")
    return image.digest


def pushed_digest(target: Target) -> str | None:
    """The digest the registry serves under the tag, None when the tag is not there (drift, a wiped registry)."""
    with session_for(target) as session:
        response = session.head(
            f"{target.url.rstrip('/')}/v2/{target.repository}/manifests/{target.tag}",
            headers={"Accept": ACCEPT},
            timeout=30,
        )
    if response.status_code == 404:
        return None
    _check(response, f"a manifest lookup of {target.repository}:{target.tag}")
    return response.headers.get("Docker-Content-Digest")


def split_reference(reference: str, registry_host: str) -> tuple[str, str]:
    """`<registry_host>/<repository>:<tag>` -> (repository, tag); the reference must name that registry."""
    host, _, rest = reference.partition("/")
    if host != registry_host or not rest:
        raise ValueError(f"{reference!r} is not an image of the registry {registry_host!r}")
    repository, _, tag = rest.rpartition(":")
    if not repository or "@" in rest:
        raise ValueError(f"{reference!r} needs a tag (the Deployment pulls it by that tag)")
    return repository, tag
