"""`RegistryImage`: a dynamic resource that copies one image (OCI layout or archive) into the registry.

The local stack creates one per app image (`app.imageSource`) once the in-cluster registry serves, before the
migrations Job and the app Deployment that pull them (components/layers/app_layers.py). It dials the registry
through `kubectl port-forward svc/<service>` (or `direct_url` when the registry is reachable from here),
verifies its certificate for the registry's host name with the CA it is given, and logs in with the pull
credentials (a Pulumi secret input: encrypted in state; sent only in the Authorization header).

Diff compares the digest of what the source holds now with the digest pushed last time, and whether the
registry still serves it: a rebuilt image or a wiped registry is pushed again (an update, never a replace).
Delete leaves the image in the registry: images are data, and the registry keeps no delete API enabled.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from components.kube import image_copy
from components.vault_runtime.transport import PortForward, VaultConnection, temp_ca_file

# What decides where the image goes: a change means pushing (again), never replacing the resource.
TARGET_KEYS = ("repository", "tag", "server_name", "namespace", "service", "port", "direct_url", "kube_context")


@contextlib.contextmanager
def _registry_url(props: dict[str, Any]) -> Iterator[str]:
    """The base URL to dial: `direct_url`, or a port-forward to the registry Service for the duration."""
    if props.get("direct_url"):
        yield str(props["direct_url"])
        return
    connection = VaultConnection(
        kube_context=str(props.get("kube_context") or ""),
        namespace=str(props["namespace"]),
        port=int(props["port"]),
        kubeconfig=str(props.get("kubeconfig") or ""),
    )
    with PortForward(connection, f"svc/{props['service']}") as forward:
        yield f"https://127.0.0.1:{forward.local_port}"


@contextlib.contextmanager
def _target(props: dict[str, Any]) -> Iterator[image_copy.Target]:
    # No CA given (an external registry): the system's trust store, as the nodes pulling from it use.
    ca = temp_ca_file(str(props["ca_pem"])) if props.get("ca_pem") else contextlib.nullcontext(True)
    with _registry_url(props) as url, ca as ca_file:
        yield image_copy.Target(
            url=url,
            server_name=str(props["server_name"]),
            ca_file=ca_file,
            repository=str(props["repository"]),
            tag=str(props["tag"]),
            username=str(props["username"]),
            password=str(props["password"]),
        )


def _push(props: dict[str, Any]) -> dict[str, Any]:
    image = image_copy.load_image(str(props["source"]))
    with _target(props) as target:
        digest = image_copy.push(image, target)
        served = image_copy.pushed_digest(target)
    if served != digest:
        raise RuntimeError(f"{props['repository']}:{props['tag']}: pushed {digest}, the registry serves {served}")
    return {**props, "digest": digest}


class RegistryImageProvider(ResourceProvider):
    """Check the source at preview; push on create and update; compare source, target and served digest on diff."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        # Preview runs this before anything deploys: a missing or unreadable image stops `pulumi up` at once
        # instead of a migrations Job waiting for an image that will never be pushed.
        try:
            image_copy.load_image(str(news["source"]))
        except (image_copy.ImageSourceError, OSError, ValueError, KeyError) as error:
            fix = "build it (`docker save <image> -o <path>`) or point app.imageSource at it"
            return CheckResult(news, [CheckFailure("source", f"app.imageSource: {error}; {fix}")])
        return CheckResult(news, [])

    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = _push(props)
        return CreateResult(id_=f"{props['repository']}:{props['tag']}", outs=outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [key for key in (*TARGET_KEYS, "source") if olds.get(key) != news.get(key)]
        if not changed:
            try:
                current = image_copy.source_digest(str(news["source"]))
            except image_copy.ImageSourceError as error:
                raise RuntimeError(f"app.imageSource: {error}") from error
            if current != olds.get("digest"):
                changed.append("digest")
        return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=_push(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        # Refresh: the tag gone from the registry (wiped storage) shows as a changed digest, so up pushes again.
        with _target(props) as target:
            served = image_copy.pushed_digest(target)
        return ReadResult(id_=id_, outs={**props, "digest": served or ""})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None


class RegistryImage(Resource, module="registry", name="Image"):
    """One image copied into the registry under `repository:tag`; `digest` is what the registry serves."""

    digest: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        source: str,
        repository: str,
        tag: str,
        server_name: str,
        ca_pem: pulumi.Input[str],
        username: str,
        password: pulumi.Input[str],
        namespace: str = "",
        service: str = "",
        port: int = 443,
        direct_url: str = "",
        kube_context: str = "",
        kubeconfig: pulumi.Input[str] = "",
        opts: pulumi.ResourceOptions | None = None,
    ):
        props = {
            "source": source,
            "repository": repository,
            "tag": tag,
            "server_name": server_name,
            "ca_pem": ca_pem,
            "username": username,
            "password": pulumi.Output.secret(password),
            "namespace": namespace,
            "service": service,
            "port": port,
            "direct_url": direct_url,
            "kube_context": kube_context,
            "kubeconfig": kubeconfig,
            "digest": None,
        }
        super().__init__(
            RegistryImageProvider(),
            name,
            props,
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["password"])),
        )
