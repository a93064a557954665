"""`ChartRelease`: the declaration every chart module makes beside its values (see registry.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.kube.helm import chart_release
from components.settings.model import Settings


def always(_settings: Settings) -> bool:
    return True


@dataclass(frozen=True)
class ChartRelease:
    """One Helm release: the pinned chart (a key of `components.settings.versions.CHARTS`), the namespace it
    installs into, its values, when it is on, and the releases it must follow (by name; their CRDs or
    webhooks must exist first). The layer component that owns it passes provider and parents."""

    name: str
    chart: str
    namespace: Callable[[Settings], str]
    values: Callable[[Settings], dict[str, Any]]
    enabled: Callable[[Settings], bool] = always
    after: tuple[str, ...] = ()
    # Namespaces besides `namespace` the chart renders objects into (a subchart's namespaceOverride).
    other_namespaces: Callable[[Settings], tuple[str, ...]] = lambda _s: ()
    # A Helm release name the user configures (vault.releaseName); also the resource name, as before.
    configured_name: Callable[[Settings], str] | None = None
    # False: Helm neither waits for the workloads nor rolls back (atomic) on a timeout; for releases whose pods
    # only become Ready after a later step of the program (Vault: init and unseal).
    await_ready: bool = True

    def release_name(self, settings: Settings) -> str:
        return self.configured_name(settings) if self.configured_name else self.name

    def install(
        self,
        settings: Settings,
        *,
        provider: k8s.Provider,
        parent: pulumi.Resource,
        depends_on: Sequence[pulumi.Resource] = (),
        resource_name: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> k8s.helm.v3.Release:
        """The Helm release of this chart for the settings (components/kube/helm.py pins and names it)."""
        name = self.release_name(settings)
        return chart_release(
            name,
            self.chart,
            self.namespace(settings),
            self.values(settings),
            provider=provider,
            parent=parent,
            depends_on=depends_on,
            resource_name=resource_name,
            await_ready=self.await_ready,
            opts=opts,
        )
