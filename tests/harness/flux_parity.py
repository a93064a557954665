"""What Flux would apply for the remote stack's Kustomizations, and how that compares with the local stack.

Flux's kustomize-controller builds `spec.path` of the GitRepository checkout (plain YAML files, no
kustomization.yaml) and applies `postBuild.substitute` in strict mode; `components.rendering.renderer`
implements exactly those rules, so rendering the directory here is what Flux would apply. Every check
returns a list of problems (empty = fine) so tests can also prove that a wrong input is caught.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from components.rendering.renderer import render_layer
from components.rendering.substitution import SubstitutionError
from tests.harness.k8s_objects import CONFIG_GROUP, key
from tests.harness.program import ProgramRun

APP_LAYERS_COMPONENT = "platform:layers:AppLayers"


def kustomizations(run: ProgramRun) -> list[dict[str, Any]]:
    return [o for o in run.k8s_objects() if o["kind"] == "Kustomization"]


def git_repositories(run: ProgramRun) -> list[dict[str, Any]]:
    return [o for o in run.k8s_objects() if o["kind"] == "GitRepository"]


def layer_directory(kustomization: dict[str, Any], repo_root: Path) -> Path:
    """The directory `spec.path` names, relative to the repository root (Flux refuses to leave it)."""
    path = kustomization["spec"].get("path") or "./"
    directory = (repo_root / path).resolve()
    if not directory.is_relative_to(repo_root.resolve()):
        raise SubstitutionError(f"{path}: outside the repository")
    return directory


def flux_would_apply(kustomization: dict[str, Any], repo_root: Path) -> list[dict[str, Any]]:
    """The objects kustomize-controller would apply for this Kustomization. Raises like Flux would fail."""
    substitute = (kustomization["spec"].get("postBuild") or {}).get("substitute") or {}
    return render_layer(layer_directory(kustomization, repo_root), substitute)


def path_problems(kustomization: dict[str, Any], repo_root: Path) -> list[str]:
    name = kustomization["metadata"]["name"]
    try:
        directory = layer_directory(kustomization, repo_root)
    except SubstitutionError as error:
        return [f"Kustomization {name}: {error}"]
    if not directory.exists():
        return [f"Kustomization {name}: {kustomization['spec'].get('path')} does not exist in the repository"]
    if not directory.is_dir():
        return [f"Kustomization {name}: {kustomization['spec'].get('path')} is a file; Flux needs a directory"]
    if not any(p.suffix in (".yaml", ".yml") for p in directory.rglob("*") if p.is_file()):
        return [f"Kustomization {name}: {kustomization['spec'].get('path')} has no YAML file"]
    return []


def local_layer_objects(local_run: ProgramRun) -> dict[str, list[dict[str, Any]]]:
    """Layer name -> the objects the local stack applies for it (its AppLayers ConfigGroups)."""
    components = {r.urn for r in local_run.of_type(APP_LAYERS_COMPONENT)}
    return {r.name: list(r.inputs.get("objs") or []) for r in local_run.of_type(CONFIG_GROUP) if r.parent in components}


def _by_key(objects: Iterable[dict[str, Any]]) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    return {key(o): o for o in sorted(objects, key=key)}


def parity_problems(remote_run: ProgramRun, local_run: ProgramRun, repo_root: Path) -> list[str]:
    """Every difference between what Flux would apply per Kustomization and what the local stack applies
    for the layer of the same name; also layers only one side has."""
    problems: list[str] = []
    local = local_layer_objects(local_run)
    remote = {k["metadata"]["name"]: k for k in kustomizations(remote_run)}
    for missing in sorted(set(local) - set(remote)):
        problems.append(f"layer {missing}: applied locally but no Kustomization in the remote stack")
    for extra in sorted(set(remote) - set(local)):
        problems.append(f"Kustomization {extra}: no layer of that name in the local stack")
    for name in sorted(set(local) & set(remote)):
        problems.extend(path_problems(remote[name], repo_root))
        try:
            flux = _by_key(flux_would_apply(remote[name], repo_root))
        except SubstitutionError as error:
            problems.append(f"Kustomization {name}: Flux would fail: {error}")
            continue
        applied = _by_key(local[name])
        for k in sorted(set(applied) - set(flux)):
            problems.append(f"Kustomization {name}: {k} is applied locally but Flux would not apply it")
        for k in sorted(set(flux) - set(applied)):
            problems.append(f"Kustomization {name}: Flux would apply {k}, the local stack does not")
        for k in sorted(set(flux) & set(applied)):
            if flux[k] != applied[k]:
                problems.append(f"Kustomization {name}: {k} differs: Flux {flux[k]!r} != local {applied[k]!r}")
    return problems


def dependency_problems(objects: list[dict[str, Any]]) -> list[str]:
    """Every `dependsOn` names an existing Kustomization (same namespace) and the graph has no cycle."""
    problems: list[str] = []
    graph: dict[str, list[str]] = {}
    names = {(o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objects}
    for obj in objects:
        namespace, name = obj["metadata"].get("namespace"), obj["metadata"]["name"]
        graph[name] = []
        for dependency in obj["spec"].get("dependsOn") or []:
            target = (dependency.get("namespace") or namespace, dependency["name"])
            if target not in names:
                problems.append(f"Kustomization {name}: dependsOn {dependency['name']!r} does not exist")
            graph[name].append(dependency["name"])
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> None:
        if state.get(node) == "done":
            return
        if state.get(node) == "active":
            problems.append(f"dependsOn cycle: {' -> '.join([*trail[trail.index(node) :], node])}")
            return
        state[node] = "active"
        for nxt in graph.get(node, []):
            visit(nxt, [*trail, node])
        state[node] = "done"

    for node in graph:
        visit(node, [])
    return problems


def direct_application_problems(remote_run: ProgramRun, layer_objects: dict[str, list[dict[str, Any]]]) -> list[str]:
    """The remote stack must not apply any application-layer object itself: no ConfigGroup named after a
    layer, and none of the objects those layers render anywhere in its registrations."""
    problems = [
        f"remote stack registers ConfigGroup {r.name!r} for an application layer"
        for r in remote_run.of_type(CONFIG_GROUP)
        if r.name in layer_objects
    ]
    applied = {key(o) for o in remote_run.k8s_objects()}
    for layer, objects in layer_objects.items():
        problems.extend(
            f"remote stack applies {key(o)} of layer {layer} directly" for o in objects if key(o) in applied
        )
    return problems
