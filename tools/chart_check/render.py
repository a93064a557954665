"""Render a chart offline through the Helm v4 engine of `helm-python-sdk` (no helm binary, no cluster).

`helm_python.Chart.render()` exposes only name/namespace/revision/install flags; the native call behind it
(`helm_render(chart, values_json, options_json)`, helm-c-sdk 0.2.x) also takes `kube_version` and
`api_versions` (the `.Capabilities` a real install gets from the API server), so this module calls it
directly, in one place. Unknown option names are rejected by the library, so a renamed field fails loudly.

What is kept is what `helm install` (and so `kubernetes:helm.sh/v3:Release`) applies: every rendered
template except NOTES.txt and test hooks (`helm.sh/hook: test`, run only by `helm test`), plus the chart's
and its subcharts' `crds/` files (the program never sets `skipCrds`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml
from helm_python import _native

from tools.chart_check.releases import ReleaseSpec

TEST_HOOKS = {"test", "test-success", "test-failure"}


# libyaml when PyYAML has it (prometheus' CRDs are megabytes: ~20x faster than the pure-Python parser).
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ManifestLoader(_SafeLoader):  # type: ignore[misc, valid-type]
    """PyYAML's safe loader, reading a plain `=` as the string Kubernetes' YAML reader makes of it (PyYAML
    tags it YAML 1.1 `!!value` and cannot construct it; Prometheus' CRDs list `- =` in an enum)."""


ManifestLoader.add_constructor("tag:yaml.org,2002:value", yaml.SafeLoader.construct_scalar)


# How Helm cuts a rendered template into documents (releaseutil.SplitManifests): a `---` that starts a line,
# whatever follows it on that line. A YAML parser would refuse `---# comment`, which `{{- end -}}` after a
# separator produces (cert-manager's rbac.yaml) and which Helm applies without complaint.
_SEPARATOR = re.compile(r"(?:^|\s*\n)---\s*")


def documents(text: str, where: str) -> list[Any]:
    """The YAML documents of one manifest file, split as Helm splits them."""
    try:
        parts = [part for part in _SEPARATOR.split(text) if part.strip()]
        return [yaml.load(part, Loader=ManifestLoader) for part in parts]  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as error:
        raise RenderError(f"{where} is not valid YAML: {error}") from error


class RenderError(Exception):
    """The chart could not be loaded or rendered with the release's values."""


@dataclass
class RenderedObject:
    """One Kubernetes object a release applies, and the template it came from."""

    release: ReleaseSpec
    template: str
    obj: dict[str, Any]


def load(path: Path, spec: ReleaseSpec) -> helm.Chart:
    """The chart at `path`, refusing one that is not the pinned name and version."""
    try:
        chart = helm.Chart.load(path)
    except helm.HelmError as error:
        raise RenderError(f"cannot load {path}: {error}") from error
    found = (chart.name, chart.version)
    if found != (spec.chart, spec.version):
        chart.close()
        raise RenderError(f"{path} is {' '.join(found)}, the program pins {spec.chart} {spec.version}")
    return chart


def chart_crds(chart: helm.Chart) -> list[tuple[str, dict[str, Any]]]:
    """(file, object) of every CRD under `crds/` of the chart and its subcharts."""
    found = []
    for crd in chart.crds:
        where = crd.get("filename") or crd["name"]
        found.extend((where, document) for document in documents(crd["data"], where) if isinstance(document, dict))
    return found


def render_templates(
    chart: helm.Chart, spec: ReleaseSpec, kube_version: str, api_versions: list[str]
) -> dict[str, str]:
    """Template path -> rendered text, as `helm install` renders it for this cluster."""
    options = {
        "name": spec.name,
        "namespace": spec.namespace,
        "revision": 1,
        "is_install": True,
        "kube_version": kube_version,
        "api_versions": api_versions,
    }
    try:
        # chart._raw(): the native handle; helm_render's options are the SDK's render options JSON.
        rendered = _native.call_string("helm_render", chart._raw(), json.dumps(spec.values), json.dumps(options))
    except helm.HelmError as error:
        raise RenderError(f"{spec.chart} {spec.version}: {error}") from error
    manifests: dict[str, str] = json.loads(rendered)
    return manifests


def is_test_hook(obj: Mapping[str, Any]) -> bool:
    """A `helm test` hook: `helm install` never applies it."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    hooks = {h.strip() for h in str(annotations.get("helm.sh/hook") or "").split(",") if h.strip()}
    return bool(hooks) and hooks <= TEST_HOOKS


def parse(manifests: Mapping[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """(template, object) for every YAML document of the rendered templates, NOTES.txt and test hooks left out."""
    found = []
    for template, text in sorted(manifests.items()):
        if template.endswith("NOTES.txt"):
            continue
        for document in documents(text, template):
            if document is None:
                continue
            if not isinstance(document, dict):
                raise RenderError(f"{template} renders a YAML document that is not an object")
            if not is_test_hook(document):
                found.append((template, document))
    return found


def render_release(path: Path, spec: ReleaseSpec, kube_version: str, api_versions: list[str]) -> list[RenderedObject]:
    """Every object the release applies: its `crds/` first, then the rendered templates."""
    with load(path, spec) as chart:
        crds = chart_crds(chart)
        manifests = render_templates(chart, spec, kube_version, api_versions)
    return [RenderedObject(spec, template, obj) for template, obj in crds + parse(manifests)]
