"""`.Capabilities` of the target cluster for Helm: its Kubernetes version and the API versions it serves.

Helm renders charts against the API server's discovery data; offline, the SDK knows only its own default
group-versions. Charts switch objects on these (`.Capabilities.APIVersions.Has "monitoring.coreos.com/v1"`
for a ServiceMonitor, `"policy/v1/PodDisruptionBudget"` for a PDB), so the check passes what the target
cluster serves once the platform is installed:
- the built-in APIs of that Kubernetes version (kubernetes-validate's schemas, GA versions only: alpha and
  beta APIs are off by default), as `group/version` and `group/version/Kind`;
- the custom resources the platform installs (the CRD schemas in `$CRD_SCHEMA_DIR/<group>/<kind>_<version>
  .json`) as `group/version`, and every CRD the charts ship as `group/version` and `group/version/Kind`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import kubernetes_validate

_KV_ROOT = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
_GA = re.compile(r"^v\d+$")
_NOT_RESOURCES = {"APIGroup", "APIResourceList", "APIVersions", "DeleteOptions", "Status", "WatchEvent"}


def helm_kube_version(version: str) -> str:
    """`1.33` -> `v1.33.0` (Helm wants a full semantic version)."""
    parts = version.removeprefix("v").split(".")
    return "v" + ".".join([*parts, "0", "0"][:3])


def _api(group: str, version: str, kind: str | None = None) -> str:
    group_version = f"{group}/{version}" if group else version
    return f"{group_version}/{kind}" if kind else group_version


@functools.cache
def builtin_api_versions(version: str) -> frozenset[str]:
    """GA group-versions and group-version-kinds of Kubernetes `version` (e.g. `1.33`)."""
    path = _KV_ROOT / f"v{version.removeprefix('v')}.0-local-strict" / "_definitions.json"
    if not path.is_file():
        raise FileNotFoundError(f"kubernetes-validate has no schemas for Kubernetes {version} ({path})")
    definitions = json.loads(path.read_text())["$defs"]
    found: set[str] = set()
    for schema in definitions.values():
        for gvk in schema.get("x-kubernetes-group-version-kind") or []:
            kind = gvk["kind"]
            if not _GA.match(gvk["version"]) or kind.endswith("List") or kind in _NOT_RESOURCES:
                continue
            found |= {_api(gvk["group"], gvk["version"]), _api(gvk["group"], gvk["version"], kind)}
    return frozenset(found)


def crd_schema_api_versions(directory: Path) -> set[str]:
    """`group/version` of every custom resource schema under `directory` (`<group>/<kind>_<version>.json`)."""
    return {
        _api(path.parent.name, path.stem.rsplit("_", 1)[1])
        for path in directory.glob("*/*_*.json")
        if "." in path.parent.name
    }


def crd_api_versions(crds: Iterable[Mapping[str, Any]]) -> set[str]:
    """`group/version` and `group/version/Kind` of each served version of these CustomResourceDefinitions."""
    found: set[str] = set()
    for crd in crds:
        spec = crd.get("spec") or {}
        group, kind = spec.get("group"), (spec.get("names") or {}).get("kind")
        for entry in spec.get("versions") or []:
            if group and kind and entry.get("served", True):
                found |= {_api(group, entry["name"]), _api(group, entry["name"], kind)}
    return found


def api_versions(kube_version: str, crd_schema_dir: Path | None, crds: Iterable[Mapping[str, Any]]) -> list[str]:
    """Everything the target cluster serves, sorted (Helm adds its own defaults to this list)."""
    found = set(builtin_api_versions(kube_version)) | crd_api_versions(crds)
    if crd_schema_dir is not None:
        found |= crd_schema_api_versions(crd_schema_dir)
    return sorted(found)
