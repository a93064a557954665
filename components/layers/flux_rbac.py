"""The identities Flux applies each application layer as (remote stack): one ServiceAccount per Kustomization.

kustomize-controller impersonates `spec.serviceAccountName`, so a layer can change only what its own manifests
hold. The rights are derived from the layer's rendered objects (the same `layers.render` the local stack applies):
for every namespace the layer writes to, a Role with exactly the API groups and resources of its objects there,
and a RoleBinding to the layer's ServiceAccount. The verbs are what kustomize-controller needs for those objects:
server-side apply (`get`, `create`, `patch`, `update`), health checks (`list`, `watch`) and pruning (`delete`).
No layer has cluster-scoped objects, so there is no ClusterRole; there is no wildcard and no Secret access unless a
layer's manifests hold Secrets. Git content alone cannot widen these rights: a new kind in a layer's directory is
refused until `pulumi up` renders it and updates the Role.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from components.rendering import layers
from components.settings.model import Settings

APPLY_VERBS = ("get", "list", "watch", "create", "update", "patch", "delete")
RBAC_GROUP = "rbac.authorization.k8s.io"


def service_account_name(layer: layers.Layer) -> str:
    """The ServiceAccount Flux applies `layer` as (in the Flux namespace)."""
    return f"flux-{layer.name}"


def resource_of(api_version: str, kind: str) -> tuple[str, str]:
    """(API group, plural resource) of a kind, as RBAC names it."""
    lower = kind.lower()
    if lower.endswith("y"):
        plural = lower[:-1] + "ies"
    elif lower.endswith("s"):
        plural = lower + "es"
    else:
        plural = lower + "s"
    return api_version.rpartition("/")[0], plural


def layer_needs(settings: Settings, layer: layers.Layer) -> dict[str, dict[str, set[str]]]:
    """Namespace -> API group -> resources the layer's objects are of."""
    needs: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for obj in layers.render(settings, layer):
        namespace = obj["metadata"].get("namespace")
        if not namespace:
            raise ValueError(f"layer {layer.name}: {obj['kind']} {obj['metadata']['name']} is cluster-scoped")
        group, resource = resource_of(obj["apiVersion"], obj["kind"])
        needs[namespace][group].add(resource)
    return needs


def layer_rbac(settings: Settings, layer: layers.Layer) -> list[dict[str, Any]]:
    """The layer's ServiceAccount, and one Role + RoleBinding per namespace it writes to."""
    name, flux_namespace = service_account_name(layer), settings.namespaces.flux
    labels = {**settings.labels, "app.kubernetes.io/component": "flux-layer-identity"}
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": flux_namespace, "labels": labels},
            # kustomize-controller asks the API for a token of this account; no pod mounts one.
            "automountServiceAccountToken": False,
        }
    ]
    for namespace, groups in sorted(layer_needs(settings, layer).items()):
        rules = [
            {"apiGroups": [group], "resources": sorted(resources), "verbs": list(APPLY_VERBS)}
            for group, resources in sorted(groups.items())
        ]
        metadata = {"name": name, "namespace": namespace, "labels": labels}
        objects.append({"apiVersion": f"{RBAC_GROUP}/v1", "kind": "Role", "metadata": metadata, "rules": rules})
        objects.append(
            {
                "apiVersion": f"{RBAC_GROUP}/v1",
                "kind": "RoleBinding",
                "metadata": metadata,
                "roleRef": {"apiGroup": RBAC_GROUP, "kind": "Role", "name": name},
                "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": flux_namespace}],
            }
        )
    return objects


def flux_rbac(settings: Settings) -> list[dict[str, Any]]:
    """Every application layer's identity, in layer order."""
    return [obj for layer in layers.active_layers(settings, bootstrap=False) for obj in layer_rbac(settings, layer)]
