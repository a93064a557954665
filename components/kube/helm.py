"""Install a pinned chart from `components.settings.versions` as a Helm release."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.settings.versions import CHARTS


def chart_release(
    name: str,
    chart_key: str,
    namespace: str,
    values: dict[str, Any],
    *,
    provider: k8s.Provider,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
    timeout_seconds: int = 600,
    resource_name: str | None = None,
    await_ready: bool = True,
    opts: pulumi.ResourceOptions | None = None,
) -> k8s.helm.v3.Release:
    """`helm.v3.Release` rather than `helm.v4.Chart`: Releases run Helm hooks (CRD upgrades, webhooks),
    wait for readiness, and keep values as plain inputs the tests validate against the chart.

    `resource_name` (default: the release name) tells apart two releases of one name in two clusters; `opts`
    adds options such as aliases (and protect / retain_on_delete for releases that hold data).

    `await_ready=False`: `skip_await` (no Helm --wait) and no `atomic` rollback, for a release whose pods become
    Ready only after a later step (a sealed Vault); the default waits and rolls back a failed install."""
    chart = CHARTS[chart_key]
    return k8s.helm.v3.Release(
        resource_name or name,
        name=name,  # fixed release name: no random suffix, so re-runs change nothing
        chart=chart.name,
        version=chart.version,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repo),
        namespace=namespace,
        values=values,
        atomic=await_ready,
        skip_await=None if await_ready else True,
        cleanup_on_fail=True,
        timeout=timeout_seconds,
        opts=pulumi.ResourceOptions.merge(
            pulumi.ResourceOptions(provider=provider, parent=parent, depends_on=list(depends_on)), opts
        ),
    )
