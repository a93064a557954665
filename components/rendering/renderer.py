"""Load a layer directory under `manifests/` into plain dicts, substituted the way Flux would.

A layer directory is what one Flux Kustomization points at: plain YAML files (no kustomization.yaml;
Flux generates one covering every file below the path). The local stack applies what this returns;
the remote stack points Flux at the same directory with the same variables.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from components.rendering.substitution import SubstitutionError, check_variables, substitute

MANIFESTS_DIR = Path(__file__).resolve().parents[2] / "manifests"
OPT_OUT_KEY = "kustomize.toolkit.fluxcd.io/substitute"
_DOCUMENT_SEPARATOR = "\n---"


def layer_files(directory: Path) -> list[Path]:
    """The YAML files Flux would include, in a stable order."""
    return sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml"))


def _documents(text: str) -> list[str]:
    # Split on document markers ourselves: substitution works on each object's text, before parsing.
    chunks = ("\n" + text).split(_DOCUMENT_SEPARATOR)
    return [chunk for chunk in chunks if chunk.strip() and not chunk.strip().startswith("...")]


def _opted_out(obj: Mapping[str, Any]) -> bool:
    metadata = obj.get("metadata") or {}
    return any((metadata.get(field) or {}).get(OPT_OUT_KEY) == "disabled" for field in ("annotations", "labels"))


def render_text(text: str, variables: Mapping[str, str], *, source: str) -> list[dict[str, Any]]:
    """Render every object of one YAML file's text."""
    objects: list[dict[str, Any]] = []
    for index, document in enumerate(_documents(text)):
        where = f"{source} (document {index + 1})"
        try:
            raw = yaml.safe_load(document)
        except yaml.YAMLError as error:
            raise SubstitutionError(f"{where}: not valid YAML: {error}") from error
        if raw is None:
            continue
        if not isinstance(raw, dict) or "kind" not in raw or "apiVersion" not in raw:
            raise SubstitutionError(f"{where}: not a Kubernetes object (needs apiVersion and kind)")
        if not _opted_out(raw):
            rendered = substitute(document, variables, source=where)
            try:
                raw = yaml.safe_load(rendered)
            except yaml.YAMLError as error:
                raise SubstitutionError(f"{where}: not valid YAML after substitution: {error}") from error
        objects.append(raw)
    return objects


def render_layer(directory: Path, variables: Mapping[str, str]) -> list[dict[str, Any]]:
    """Render every object of a layer directory. Fails like Flux on an empty or missing directory."""
    check_variables(variables)
    if not directory.is_dir():
        raise SubstitutionError(f"{directory}: a layer must be a directory (Flux rejects file paths)")
    files = layer_files(directory)
    if not files:
        raise SubstitutionError(f"{directory}: empty layer directory (Flux fails on it)")
    objects: list[dict[str, Any]] = []
    for path in files:
        source = str(path.relative_to(MANIFESTS_DIR.parent)) if MANIFESTS_DIR in path.parents else str(path)
        objects.extend(render_text(path.read_text(), variables, source=source))
    return objects
