"""Infra layer: the Kubernetes provider and the namespaces every other layer lives in."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.config import Settings

# Namespaces that only run our own hardened workloads enforce the `restricted` Pod Security level;
# operator namespaces get `baseline` (some upstream charts still need it) and warn on `restricted`.
_RESTRICTED = ("app",)


class InfraComponent(pulumi.ComponentResource):
    """Owns the Kubernetes provider (for the configured kubectl context) and all namespaces.

    Needs: settings. Every Kubernetes resource in the program uses `self.provider` explicitly, so a
    stray default provider can never deploy to whatever context happens to be current.
    """

    provider: k8s.Provider
    namespaces: dict[str, k8s.core.v1.Namespace]

    def __init__(self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:infra:Infra", name, None, opts)
        self.provider = k8s.Provider(
            "kubernetes",
            context=settings.kubernetes.context or None,
            # Refuse to guess: objects without an explicit namespace would land in "default".
            namespace=None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        restricted = {getattr(settings.namespaces, field) for field in _RESTRICTED}
        self.namespaces = {}
        for namespace in settings.namespaces.all():
            level = "restricted" if namespace in restricted else "baseline"
            self.namespaces[namespace] = k8s.core.v1.Namespace(
                namespace,
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=namespace,
                    labels={
                        **settings.labels,
                        "pod-security.kubernetes.io/enforce": level,
                        "pod-security.kubernetes.io/warn": "restricted",
                    },
                ),
                opts=pulumi.ResourceOptions(parent=self, provider=self.provider),
            )
        self.register_outputs({"namespaces": list(self.namespaces)})
