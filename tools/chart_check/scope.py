"""Which namespace each rendered object lands in, and which Pod Security level that namespace enforces.

Helm puts a namespaced object without `metadata.namespace` into the release namespace; cluster-scoped
kinds have none. Scope comes from the built-in kinds below and from the `scope` of every
CustomResourceDefinition the charts ship. The enforced level comes from the Namespace objects the
program registers (components/layers/infra.py labels them) or a chart renders; Kubernetes' own
namespaces carry no label (the cluster default, `privileged`); any other namespace does not exist on a
fresh cluster, which is a finding of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tools.chart_check.pod_security import namespace_level

CLUSTER_SCOPED_KINDS = frozenset(
    {
        "APIService",
        "CertificateSigningRequest",
        "ClusterRole",
        "ClusterRoleBinding",
        "ComponentStatus",
        "CSIDriver",
        "CSINode",
        "CustomResourceDefinition",
        "DeviceClass",
        "FlowSchema",
        "IngressClass",
        "IPAddress",
        "MutatingAdmissionPolicy",
        "MutatingAdmissionPolicyBinding",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PriorityClass",
        "PriorityLevelConfiguration",
        "RuntimeClass",
        "ServiceCIDR",
        "StorageClass",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
        "VolumeAttributesClass",
    }
)
# Namespaces every cluster has; none carries a Pod Security label.
SYSTEM_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})


def cluster_scoped_kinds(objects: Iterable[Mapping[str, Any]]) -> set[str]:
    """The built-in cluster-scoped kinds plus those of every cluster-scoped CRD among `objects`."""
    kinds = set(CLUSTER_SCOPED_KINDS)
    for obj in objects:
        if obj.get("kind") == "CustomResourceDefinition":
            spec = obj.get("spec") or {}
            if spec.get("scope") == "Cluster":
                kinds.add(str((spec.get("names") or {}).get("kind")))
    return kinds


def place(obj: dict[str, Any], release_namespace: str, cluster_scoped: set[str]) -> None:
    """Give a namespaced object without a namespace the release namespace, as Helm does on install."""
    if obj.get("kind") in cluster_scoped:
        return
    meta = obj.setdefault("metadata", {})
    if isinstance(meta, dict) and not meta.get("namespace"):
        meta["namespace"] = release_namespace


class NamespaceLevels:
    """Pod Security level of every namespace of every cluster the program deploys to."""

    def __init__(self, labels: Mapping[tuple[str, str], Mapping[str, str]], cluster_minor: int):
        self.labels = dict(labels)
        self.cluster_minor = cluster_minor

    def add_rendered(self, cluster: str, obj: Mapping[str, Any]) -> None:
        """A Namespace a chart renders itself (the program's own registration wins)."""
        if obj.get("kind") == "Namespace":
            meta = obj.get("metadata") or {}
            self.labels.setdefault((cluster, str(meta.get("name"))), dict(meta.get("labels") or {}))

    def level(self, cluster: str, namespace: str) -> tuple[str, int] | None:
        """(level, minor version) enforced in `namespace`, or None when nothing creates that namespace."""
        if (cluster, namespace) in self.labels:
            return namespace_level(self.labels[(cluster, namespace)], self.cluster_minor)
        if namespace in SYSTEM_NAMESPACES:
            return namespace_level({}, self.cluster_minor)
        return None
