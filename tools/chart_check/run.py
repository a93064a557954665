"""One chart-check run: fetch, render and check every release of a deployment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policy.platform_policies import POLICIES
from tools.chart_check import allowlist, capabilities, checks, render, source
from tools.chart_check.pod_security import pod_template
from tools.chart_check.releases import Deployment, ReleaseSpec
from tools.chart_check.render import RenderedObject, RenderError
from tools.chart_check.report import Finding, Summary, finding, release_label
from tools.chart_check.scope import NamespaceLevels, cluster_scoped_kinds, place
from tools.chart_check.source import ChartUnavailable


@dataclass(frozen=True)
class Options:
    """Where charts come from and what they are rendered for."""

    kube_version: str  # e.g. "1.33"
    chart_dir: Path | None = None  # air-gapped: read charts from here, never download
    cache: Path = source.DEFAULT_CACHE
    crd_schema_dir: Path | None = None
    checkov: bool = True
    allowed: tuple[allowlist.Entry, ...] = ()  # the reviewed allow-list (tools/chart_check/allowlist.yaml)

    @property
    def minor(self) -> int:
        """The target Kubernetes minor version (`1.33` -> 33)."""
        return int(self.kube_version.removeprefix("v").split(".")[1])


Fetched = tuple[dict[str, Path], list[dict[str, Any]], list[Finding]]


def fetch(releases: Sequence[ReleaseSpec], options: Options) -> Fetched:
    """(release key -> chart path, every CRD the charts ship, findings of charts that are unavailable)."""
    paths: dict[str, Path] = {}
    crds: list[dict[str, Any]] = []
    problems: list[Finding] = []
    for spec in releases:
        try:
            path = source.locate(spec, chart_dir=options.chart_dir, cache=options.cache)
            with render.load(path, spec) as chart:
                crds.extend(obj for _file, obj in render.chart_crds(chart))
        except (ChartUnavailable, RenderError) as error:
            problems.append(finding(spec, None, "chart", str(error)))
            continue
        paths[spec.key] = path
    return paths, crds, problems


def render_all(
    releases: Sequence[ReleaseSpec], paths: dict[str, Path], api_versions: list[str], options: Options
) -> tuple[list[RenderedObject], list[Finding]]:
    """Every object of every fetched release, and a finding per release that fails to render."""
    items: list[RenderedObject] = []
    problems: list[Finding] = []
    kube_version = capabilities.helm_kube_version(options.kube_version)
    for spec in releases:
        if spec.key not in paths:
            continue
        try:
            items.extend(render.render_release(paths[spec.key], spec, kube_version, api_versions))
        except RenderError as error:
            problems.append(finding(spec, None, "render", str(error)))
    return items, problems


def check_objects(items: Sequence[RenderedObject], deployment: Deployment, options: Options) -> list[Finding]:
    """Place every object in its namespace, then run every check over it."""
    cluster_scoped = cluster_scoped_kinds(item.obj for item in items)
    levels = NamespaceLevels(deployment.namespace_labels, options.minor)
    for item in items:
        place(item.obj, item.release.namespace, cluster_scoped)
        levels.add_rendered(item.release.cluster, item.obj)
    found: list[Finding] = []
    for item in items:
        found += checks.namespace_and_pod_security(item, levels)
        found += checks.schema(item)
        found += checks.policy(item, POLICIES)
    if options.checkov:
        found += checks.checkov_findings(items)
    return found


def run(deployment: Deployment, options: Options) -> Summary:
    """Every release of `deployment` fetched, rendered for the target cluster and checked."""
    paths, crds, problems = fetch(deployment.releases, options)
    api_versions = capabilities.api_versions(options.kube_version, options.crd_schema_dir, crds)
    items, render_problems = render_all(deployment.releases, paths, api_versions, options)
    summary = Summary(releases=len(deployment.releases), objects=len(items))
    summary.pods = sum(1 for item in items if pod_template(item.obj) is not None)
    for spec in deployment.releases:
        summary.per_release[release_label(spec)] = sum(1 for item in items if item.release is spec)
    found = problems + render_problems + check_objects(items, deployment, options)
    rendered = {item.release.name for item in items}
    summary.findings, summary.allowed = allowlist.apply(found, options.allowed, rendered)
    return summary
