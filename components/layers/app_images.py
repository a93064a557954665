"""The app's images into the in-cluster registry (`app.imageSource`): after the registry, before what pulls them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_vault as vault

from components.kube.image_copy import split_reference
from components.kube.image_copy_provider import RegistryImage
from components.kube.read import computed, decoded, secret_data_when
from components.layers.infra import InfraComponent
from components.layers.pki import ROOT_CA_SECRET
from components.settings import names
from components.settings.model import Settings

# manifests/gitops/registry: the Service (443 pulls, 5443 pushes); its certificate chains to the PKI root CA.
REGISTRY_SERVICE = "registry"
# The push instance (port 443 serves read-only pulls).
REGISTRY_PORT = 5443


def _password(dockerconfigjson: str, host: str) -> str:
    """A registry password from a dockerconfigjson (as VSO renders the pull Secret)."""
    if not dockerconfigjson:
        return ""  # preview of a first deploy, or a mock run: nothing to read yet
    return json.loads(dockerconfigjson)["auths"][host]["password"]


def _push_password(settings: Settings, vault_admin: pulumi.ProviderResource | None, after: pulumi.Resource):
    """The push user's password, read from Vault (kv/<app folder>/registry-password) with the admin provider:
    the app namespace's pull Secret holds only the pull-only user, which cannot push (issue 15). Computed in
    a preview: no Vault read (that provider is unconfigured then, README "CI")."""
    if vault_admin is None:
        return ""
    if settings.preview:
        return pulumi.Output.secret(computed(after.urn))
    secret = vault.kv.get_secret_output(
        path=f"{names.KV_V1_MOUNT}/{names.kv_path(settings, names.REGISTRY_PASSWORD_SECRET)}",
        opts=pulumi.InvokeOutputOptions(provider=vault_admin, depends_on=[after]),
    )
    return pulumi.Output.secret(secret.data.apply(lambda data: (data or {}).get(names.PASSWORD, "")))


def _in_cluster_access(
    settings: Settings,
    infra: InfraComponent,
    registry: pulumi.Resource,
    vault_admin: pulumi.ProviderResource | None,
    parent: pulumi.Resource,
) -> tuple[pulumi.Input[str], pulumi.Input[str], dict[str, Any]]:
    """(password, CA PEM, where to dial) for the in-cluster registry: the push password from Vault, the PKI's
    root CA and a port-forward to the push port of its Service, read once the registry serves. In a preview
    the password and CA are computed; the provider forwards only in create, update and refresh, never in a preview."""
    namespace = settings.namespaces.app
    root = secret_data_when(
        "registry-root-ca",
        settings.namespaces.cert_manager,
        ROOT_CA_SECRET,
        registry.urn,
        infra.provider,
        parent,
        preview=settings.preview,
    )
    password = _push_password(settings, vault_admin, registry)
    where: dict[str, Any] = {"namespace": namespace, "service": REGISTRY_SERVICE, "port": REGISTRY_PORT}
    return password, root.apply(decoded("ca.crt")), {**where, **infra.kubectl_target()}


def copy_app_images(
    settings: Settings,
    infra: InfraComponent,
    *,
    registry: pulumi.Resource | None,
    access: pulumi.Resource,
    vault_admin: pulumi.ProviderResource | None = None,
    parent: pulumi.Resource,
) -> Sequence[pulumi.Resource]:
    """One `RegistryImage` per app image, pushed under the exact reference the Job and the Deployment pull
    (app.image, app.migrationsImage on registry.host; config guarantees both), once the registry serves
    (`registry`: the in-cluster registry's layer, its Deployment ready; None for an external registry) and
    the pull Secret exists (`access`)."""
    source = settings.app.image_source
    assert source is not None
    host = settings.registry.host
    if registry is not None:
        password, ca_pem, where = _in_cluster_access(settings, infra, registry, vault_admin, parent)
    else:
        # registry.mode external: straight to it, trusted as the nodes trust it, with registry.password.
        assert settings.registry.password is not None  # config requires it for an external registry
        password, ca_pem, where = settings.registry.password, "", {"direct_url": f"https://{host}"}
    after = [access, *([registry] if registry is not None else [])]
    copies = []
    for name, reference, path in (
        ("app-image", settings.app.image, source.app),
        ("migrations-image", settings.app.migrations_image, source.migrations),
    ):
        repository, tag = split_reference(reference, host)
        copies.append(
            RegistryImage(
                name,
                source=path,
                repository=repository,
                tag=tag,
                server_name=host,
                ca_pem=ca_pem,
                username=settings.registry.username,
                password=password,
                **where,
                opts=pulumi.ResourceOptions(parent=parent, depends_on=after),
            )
        )
    return copies
