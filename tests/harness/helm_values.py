"""Check a Helm release's pinned chart and values against the chart's reference data.

Reference data lives in `$HELM_SCHEMA_DIR/<schema_dir>/` (`Chart.yaml`, `values.yaml`, and
`values.schema.json` for charts that ship one). A release is mapped to its `components.settings.versions.CHARTS`
entry by chart name and repository (what the Release resource actually sends), so any new release is
checked without registering it anywhere.

Two checks, both always run:
- every key path the override sets must exist in the chart's `values.yaml` (or be declared by its schema,
  or be a documented commented-out key listed in `COMMENTED_KEYS`). The charts' schemas do not forbid
  unknown keys, so without this a misspelled key would be silently ignored by Helm.
- where the chart has `values.schema.json` (draft 7), the values merged over the defaults must validate,
  exactly as `helm install` would validate them.
Below a free-form default (null, a string template, `{}` or `[]`) any content is accepted.
Kubernetes structures charts pass through verbatim (`resources`, `affinity`) are checked against the
Kubernetes schema of that type instead of the chart's example keys (a chart that shows only
`requests` still takes `limits`, but `limts` fails).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from components.settings.versions import CHARTS, Chart
from tests.harness.program import Registration
from tests.harness.schemas import helm_schema_dir, kubernetes_definition_errors

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
# Value keys that charts render with toYaml into a pod spec, and the Kubernetes type they become.
KUBERNETES_TYPES = {
    "resources": "io.k8s.api.core.v1.ResourceRequirements",
    "affinity": "io.k8s.api.core.v1.Affinity",
}

# Keys a chart documents only as a commented-out example in values.yaml. Each entry must appear there
# as `# <leaf>:` (asserted by the tests), so this list cannot drift from the chart.
COMMENTED_KEYS: dict[str, frozenset[str]] = {
    # "If you need to use a http path instead of the default exec" (vault values.yaml, readinessProbe).
    "vault": frozenset({"server.readinessProbe.path"}),
}


# Keys a chart's templates read but its values.yaml does not show, with where the chart reads them.
UNDECLARED_KEYS: dict[str, dict[str, str]] = {
    "vault": {"fullnameOverride": "templates/_helpers.tpl `vault.fullname`"},
    # The subcharts' own values.yaml (kube-prometheus-stack vendors them; the reference data has the parent's).
    "kube-prometheus-stack": {
        "prometheus-node-exporter.securityContext": "charts/prometheus-node-exporter templates/daemonset.yaml",
        "prometheus-node-exporter.containerSecurityContext": "charts/prometheus-node-exporter templates/daemonset.yaml",
        "prometheus-node-exporter.resources": "charts/prometheus-node-exporter templates/daemonset.yaml",
        "kube-state-metrics.resources": "charts/kube-state-metrics templates/deployment.yaml",
    },
    "flux2": {
        "cli.resources": "templates/pre-install-job.yaml `with .Values.cli.resources`",
        "helmController.podSecurityContext": "templates/helm-controller.yaml (pod securityContext)",
        "notificationController.podSecurityContext": "templates/notification-controller.yaml (pod securityContext)",
    },
    # Security contexts the charts render whole with toYaml; their values.yaml shows only some fields.
    "minio-operator": {
        "operator.containerSecurityContext.readOnlyRootFilesystem": "templates/operator-deployment.yaml (toYaml)",
    },
    "vault-secrets-operator": {
        "controller.securityContext.readOnlyRootFilesystem": "templates/deployment.yaml (toYaml)",
        "controller.securityContext.capabilities": "templates/deployment.yaml (toYaml)",
        "controller.podSecurityContext.seccompProfile": "templates/deployment.yaml (toYaml)",
    },
    "vault-config-operator": {
        "securityContext.readOnlyRootFilesystem": "templates/manager.yaml (toYaml)",
        "podSecurityContext.seccompProfile": "templates/manager.yaml (toYaml)",
    },
}


@dataclass(frozen=True)
class ChartReference:
    """One chart's reference data under $HELM_SCHEMA_DIR."""

    chart: Chart
    directory: Path
    defaults: dict[str, Any]
    schema: dict[str, Any] | None
    version: str  # the version the reference data is for


def chart_of(release: Registration) -> Chart:
    """The pinned chart a Release installs, matched by chart name and repository."""
    inputs = release.inputs
    repo = (inputs.get("repositoryOpts") or {}).get("repo")
    found = [c for c in CHARTS.values() if c.name == inputs.get("chart") and c.repo == repo]
    if len(found) != 1:
        raise AssertionError(
            f"release {release.name}: chart {inputs.get('chart')!r} from {repo!r} is not pinned in "
            "components/versions.py CHARTS (install charts through components/helm.py: chart_release)"
        )
    return found[0]


def _sources_versions(directory: Path) -> dict[str, str]:
    """Chart dir -> chart version column of SOURCES.md (`- dir | repo | path | commit | version | ...`)."""
    versions: dict[str, str] = {}
    for line in (directory / "SOURCES.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.removeprefix("- ").split("|")]
        if line.startswith("- ") and len(cells) >= 5:
            name = cells[0].split()[0]
            versions[name] = cells[4].split()[0]
    return versions


@functools.cache
def reference(schema_dir: str) -> ChartReference:
    root = helm_schema_dir()
    directory = root / schema_dir
    if not (directory / "values.yaml").is_file():
        raise AssertionError(f"no reference values for chart dir {schema_dir!r} under {root}")
    chart = next(c for c in CHARTS.values() if c.schema_dir == schema_dir)
    chart_yaml = yaml.safe_load((directory / "Chart.yaml").read_text())
    version = str(chart_yaml["version"])
    if version in ("v0.0.0", "0.0.0"):
        # cert-manager's Chart.yaml in git is a template; its release version is recorded in SOURCES.md.
        version = _sources_versions(root)[schema_dir]
    schema_path = directory / "values.schema.json"
    return ChartReference(
        chart=chart,
        directory=directory,
        defaults=yaml.safe_load((directory / "values.yaml").read_text()) or {},
        schema=json.loads(schema_path.read_text()) if schema_path.is_file() else None,
        version=version,
    )


def _free_form(default: Any) -> bool:
    """A default below which the chart takes arbitrary content."""
    return default is None or isinstance(default, str) or default == {} or isinstance(default, list)


def _resolve(schema: Any, root: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """Follow local `$ref`s (`#/$defs/...`), as cert-manager's generated schema uses everywhere."""
    while isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#/"):
        target: Any = root
        for part in schema["$ref"][2:].split("/"):
            target = target.get(part) if isinstance(target, Mapping) else None
        schema = target
    return schema if isinstance(schema, Mapping) else None


def _schema_child(schema: Mapping[str, Any] | None, key: str, root: Mapping[str, Any]) -> Mapping[str, Any] | None:
    schema = _resolve(schema, root)
    if schema is None:
        return None
    return _resolve((schema.get("properties") or {}).get(key), root)


def unknown_keys(
    values: Mapping[str, Any],
    defaults: Mapping[str, Any],
    *,
    schema: Mapping[str, Any] | None = None,
    documented: frozenset[str] = frozenset(),
    prefix: str = "",
    root: Mapping[str, Any] | None = None,
) -> list[str]:
    """Every key path set in `values` that the chart does not know, with the reason."""
    root = root if root is not None else (schema or {})
    problems: list[str] = []
    for key, value in values.items():
        path = f"{prefix}{key}"
        child_schema = _schema_child(schema, key, root)
        if path in documented:
            continue
        if key not in defaults:
            if child_schema is None:
                problems.append(f"{path}: not in the chart's values.yaml")
            continue
        default = defaults[key]
        if key in KUBERNETES_TYPES and isinstance(value, Mapping):
            problems.extend(f"{path}{p}" for p in kubernetes_definition_errors(KUBERNETES_TYPES[key], value))
        elif isinstance(default, Mapping) and default:
            if isinstance(value, Mapping):
                problems.extend(
                    unknown_keys(
                        value, default, schema=child_schema, documented=documented, prefix=f"{path}.", root=root
                    )
                )
            else:
                problems.append(f"{path}: the chart expects a map here, got {type(value).__name__}")
        elif isinstance(default, bool | int | float) and isinstance(value, Mapping | list):
            problems.append(f"{path}: the chart expects a {type(default).__name__}, got {type(value).__name__}")
        elif not _free_form(default) and isinstance(value, Mapping):
            problems.append(f"{path}: the chart expects a scalar here, got a map")
    return problems


def _merged(defaults: Any, values: Any) -> Any:
    """Helm's merge of user values over chart defaults (maps merge, everything else replaces)."""
    if isinstance(defaults, Mapping) and isinstance(values, Mapping):
        merged = dict(defaults)
        for key, value in values.items():
            merged[key] = _merged(defaults.get(key), value) if key in defaults else value
        return merged
    return copy.deepcopy(values)


def schema_errors(values: Mapping[str, Any], schema: Mapping[str, Any], defaults: Mapping[str, Any]) -> list[str]:
    """Draft-7 validation of the merged values, as `helm install` does it."""
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(_merged(defaults, values)), key=lambda e: list(e.path))
    return [f"{'.'.join(map(str, e.path)) or '<root>'}: {e.message}" for e in errors]


def check_values(schema_dir: str, values: Mapping[str, Any]) -> list[str]:
    """Every problem of `values` for the chart whose reference data is in `schema_dir`."""
    ref = reference(schema_dir)
    documented = COMMENTED_KEYS.get(schema_dir, frozenset()) | frozenset(UNDECLARED_KEYS.get(schema_dir, {}))
    problems = unknown_keys(values, ref.defaults, schema=ref.schema, documented=documented)
    if ref.schema is not None:
        problems.extend(f"schema: {p}" for p in schema_errors(values, ref.schema, ref.defaults))
    return problems


def check_release(release: Registration) -> list[str]:
    """Version and values problems of one registered Helm release."""
    chart = chart_of(release)
    ref = reference(chart.schema_dir)
    problems = []
    if release.inputs.get("version") != chart.version:
        problems.append(f"version {release.inputs.get('version')!r} is not the pinned {chart.version!r}")
    if chart.version != ref.version:
        problems.append(f"pinned {chart.version} but the reference data is for {ref.version}")
    problems.extend(check_values(chart.schema_dir, release.inputs.get("values") or {}))
    return [f"release {release.name} ({chart.name} {chart.version}): {p}" for p in problems]


def commented_key_documented(schema_dir: str, path: str) -> bool:
    """Whether values.yaml carries `# <leaf>:` as a commented example (for COMMENTED_KEYS)."""
    leaf = path.rsplit(".", 1)[-1]
    text = (reference(schema_dir).directory / "values.yaml").read_text()
    return re.search(rf"^\s*#\s*{re.escape(leaf)}:", text, re.MULTILINE) is not None
