"""Flux sync objects of the remote stack: one GitRepository and one Kustomization per application layer.

The remote stack applies the bootstrap layers with Pulumi and hands every other layer of
`components.rendering.layers` to Flux: the Kustomization of layer `x` points at `./<flux.path>/<layer.path>` in the Git
repository, substitutes exactly `layers.variables(settings)` (the dict the local stack renders with),
and waits for the layers of its `depends_on` that Flux applies.
Everything here is generic over `LAYERS`, so a new layer needs no
change in this module. The object builders are pure functions; `FluxSyncComponent` only applies them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.kube.apply import apply_objects
from components.layers import flux_rbac
from components.layers.infra import InfraComponent
from components.layers.options import LayerArgs, depends_on_of
from components.rendering import layers
from components.settings.model import PROJECT, Settings

SOURCE_API_VERSION = "source.toolkit.fluxcd.io/v1"
KUSTOMIZE_API_VERSION = "kustomize.toolkit.fluxcd.io/v1"
GIT_REPOSITORY = PROJECT
CREDENTIALS_SECRET = f"{PROJECT}-git-credentials"
# `wait: true` health-checks everything a layer applies; a PostgreSQL cluster or a Vault-synced Secret
# can take minutes, so the timeout is generous and a failed layer is retried well before `interval`.
KUSTOMIZATION_TIMEOUT = "10m"
KUSTOMIZATION_RETRY_INTERVAL = "2m"


def git_reference(settings: Settings) -> dict[str, str]:
    """The one reference config allows (validated there): branch, tag or semver range."""
    flux = settings.flux
    for field in ("tag", "semver", "branch"):
        if getattr(flux, field):
            return {field: getattr(flux, field)}
    raise AssertionError("config guarantees one of branch, tag, semver")  # pragma: no cover


def needs_credentials(settings: Settings) -> bool:
    """SSH always needs the deploy key; HTTPS needs a Secret for a token or a private CA."""
    flux = settings.flux
    return flux.is_ssh or flux.git_token is not None or bool(flux.ca_cert)


def git_repository(settings: Settings) -> dict[str, Any]:
    """The GitRepository every Kustomization reads from."""
    spec: dict[str, Any] = {
        "url": settings.flux.git_url,
        "ref": git_reference(settings),
        "interval": settings.flux.interval,
    }
    if needs_credentials(settings):
        spec["secretRef"] = {"name": CREDENTIALS_SECRET}
    if settings.flux.verify_secret:
        # Only commits signed by a key in that Secret (created by its owner: *.asc / *.sshpub) are applied.
        spec["verify"] = {"mode": settings.flux.verify_mode, "secretRef": {"name": settings.flux.verify_secret}}
    return {
        "apiVersion": SOURCE_API_VERSION,
        "kind": "GitRepository",
        "metadata": {"name": GIT_REPOSITORY, "namespace": settings.namespaces.flux, "labels": settings.labels},
        "spec": spec,
    }


def credentials(settings: Settings) -> dict[str, pulumi.Output[str]]:
    """The Secret's keys as Flux reads them, every value a Pulumi secret (even the non-sensitive ones,
    so the whole Secret is encrypted in state and the policy pack never sees a plaintext value)."""
    flux = settings.flux
    data: dict[str, pulumi.Output[str]] = {}
    if flux.is_ssh:
        assert flux.git_ssh_key is not None  # config refuses an SSH URL without a key
        data["identity"] = pulumi.Output.secret(flux.git_ssh_key)
        data["known_hosts"] = pulumi.Output.secret(flux.known_hosts)
    elif flux.git_token is not None:
        # HTTPS basic auth: Git hosts take a token as the password.
        data["username"] = pulumi.Output.secret(flux.git_username)
        data["password"] = pulumi.Output.secret(flux.git_token)
    if flux.ca_cert:
        data["ca.crt"] = pulumi.Output.secret(flux.ca_cert)
    return data


def kustomization_dependencies(settings: Settings) -> dict[str, list[str]]:
    """Layer name -> the Kustomizations it waits for: its own `depends_on` that Flux manages, nothing else
    (bootstrap layers are applied by Pulumi before any Kustomization exists; the CRDs are the operators',
    also applied before). Layers that need nothing of each other reconcile in parallel."""
    all_names = {layer.name for layer in layers.LAYERS}
    synced = [layer.name for layer in layers.active_layers(settings, bootstrap=False)]
    result: dict[str, list[str]] = {}
    for index, layer in enumerate(layers.active_layers(settings, bootstrap=False)):
        unknown = sorted(set(layer.depends_on) - all_names)
        if unknown:
            raise ValueError(
                f"layer {layer.name!r} depends on unknown layers {unknown} (components/rendering/layers.py)"
            )
        result[layer.name] = [name for name in layer.depends_on if name in synced[:index]]
    return result


def kustomizations(settings: Settings) -> list[dict[str, Any]]:
    """One Kustomization per non-bootstrap layer, in layer order."""
    substitute = layers.variables(settings)
    dependencies = kustomization_dependencies(settings)
    objects = []
    for layer in layers.active_layers(settings, bootstrap=False):
        spec: dict[str, Any] = {
            "interval": settings.flux.interval,
            "retryInterval": KUSTOMIZATION_RETRY_INTERVAL,
            "timeout": KUSTOMIZATION_TIMEOUT,
            "sourceRef": {"kind": "GitRepository", "name": GIT_REPOSITORY},
            "path": f"./{settings.flux.path}/{layer.path}",
            "prune": True,
            "wait": True,
            "postBuild": {"substitute": dict(substitute)},
            # Applied as the layer's own identity, never as the controller (cluster-admin): flux_rbac.py.
            "serviceAccountName": flux_rbac.service_account_name(layer),
        }
        if dependencies[layer.name]:
            spec["dependsOn"] = [{"name": name} for name in dependencies[layer.name]]
        objects.append(
            {
                "apiVersion": KUSTOMIZE_API_VERSION,
                "kind": "Kustomization",
                "metadata": {"name": layer.name, "namespace": settings.namespaces.flux, "labels": settings.labels},
                "spec": spec,
            }
        )
    return objects


class FluxSyncComponent(pulumi.ComponentResource):
    """Owns the GitRepository `platform`, its credentials Secret (when the repository needs one), one
    Kustomization per non-bootstrap layer (all in the Flux namespace) and the identity each one applies as
    (ServiceAccount, Roles, RoleBindings: components/layers/flux_rbac.py).

    Needs: the infra provider and namespaces; in `depends_on` the Flux controllers (their CRDs) and the
    bootstrap layers (PKI, Vault), which the application layers use from their first reconciliation.
    """

    git_repository: k8s.apiextensions.CustomResource
    git_repository_name: str
    kustomizations: dict[str, k8s.apiextensions.CustomResource]

    def __init__(
        self,
        name: str,
        args: LayerArgs,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("platform:flux:FluxSync", name, None, opts)
        settings, infra, depends_on = args.settings, args.infra, depends_on_of(opts)
        namespace = infra.namespaces[settings.namespaces.flux]
        after: list[pulumi.Resource] = [*depends_on, namespace]
        if needs_credentials(settings):
            secret = k8s.core.v1.Secret(
                CREDENTIALS_SECRET,
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=CREDENTIALS_SECRET, namespace=settings.namespaces.flux, labels=settings.labels
                ),
                type="Opaque",
                string_data=credentials(settings),
                opts=pulumi.ResourceOptions(parent=self, provider=infra.provider, depends_on=[namespace]),
            )
            after.append(secret)
        identities = apply_objects(
            "flux-layer-identities",
            flux_rbac.flux_rbac(settings),
            provider=infra.provider,
            parent=self,
            depends_on=[*after, *infra.namespaces.values()],
        )
        self.git_repository_name = GIT_REPOSITORY
        self.git_repository = _custom_resource(f"{name}-{GIT_REPOSITORY}", git_repository(settings), infra, self, after)
        self.kustomizations = {}
        for obj in kustomizations(settings):
            layer = obj["metadata"]["name"]
            self.kustomizations[layer] = _custom_resource(
                f"{name}-{layer}", obj, infra, self, [*after, identities, self.git_repository]
            )
        self.register_outputs({"gitRepository": GIT_REPOSITORY, "kustomizations": list(self.kustomizations)})


def _custom_resource(
    resource_name: str,
    obj: dict[str, Any],
    infra: InfraComponent,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource],
) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=obj["apiVersion"],
        kind=obj["kind"],
        metadata=obj["metadata"],
        spec=obj["spec"],
        opts=pulumi.ResourceOptions(parent=parent, provider=infra.provider, depends_on=list(depends_on)),
    )
