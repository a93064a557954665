"""The program's layout holds: imports run only downwards (settings at the bottom, stacks on top), no import
circles, and modules, functions and folders stay small enough to read."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.harness.program import REPO

# Bottom to top. A module may import modules of its own level or below, never above.
LEVELS = {
    "components.settings": 0,
    "components": 0,  # the package itself: the legacy-module finder, no imports of the program
    "components.rendering": 1,
    "components.kube": 2,
    "components.vault_runtime": 2,
    "components.charts": 3,
    "components.layers": 4,
    "components.vault": 4,
    "stacks": 5,
    "__main__": 6,
}
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
MAX_MODULES_PER_FOLDER = 12


def program_modules() -> dict[str, Path]:
    """Dotted name -> file, for every module of the program (components/, stacks/, __main__.py)."""
    files = [*REPO.glob("components/**/*.py"), *REPO.glob("stacks/**/*.py"), REPO / "__main__.py"]
    modules = {}
    for path in files:
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Program modules `path` imports, at any depth of the file (function-level imports count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        found |= {name for name in names if name in known}
    return found


def level_of(module: str) -> int:
    prefix = max((p for p in LEVELS if module == p or module.startswith(p + ".")), key=len)
    return LEVELS[prefix]


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = program_modules()
    known = set(modules)
    return {name: imports_of(path, known) - {name} for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_program_has_no_import_circles(graph):
    assert cycles(graph) == []


def test_imports_only_run_downwards(graph):
    upward = [
        f"{module} (level {level_of(module)}) imports {target} (level {level_of(target)})"
        for module, targets in graph.items()
        for target in targets
        if level_of(target) > level_of(module)
    ]
    assert upward == []


def test_the_checks_catch_a_circle_and_an_upward_import():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert level_of("components.rendering.layers") < level_of("components.vault.server")


def test_every_program_module_is_known_to_a_level():
    assert all(level_of(module) >= 0 for module in program_modules())


def test_modules_functions_and_folders_stay_small():
    problems = []
    modules = program_modules()
    for name, path in modules.items():
        lines = len(path.read_text().splitlines())
        if lines > MAX_MODULE_LINES:
            problems.append(f"{name}: {lines} lines")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    problems.append(f"{name}.{node.name}: {length} lines")
    folders: dict[Path, int] = {}
    for path in modules.values():
        if path.name != "__init__.py":
            folders[path.parent] = folders.get(path.parent, 0) + 1
    problems += [f"{folder}: {count} modules" for folder, count in folders.items() if count > MAX_MODULES_PER_FOLDER]
    assert problems == []


def test_no_test_module_imports_another():
    """Shared fakes and builders live in tests/fixtures/ (and the harness in tests/harness/), not in tests."""
    test_files = list((REPO / "tests").rglob("test_*.py"))
    names = {".".join(p.relative_to(REPO).with_suffix("").parts) for p in test_files}
    offenders = [
        f"{path.relative_to(REPO)} imports {target}" for path in test_files for target in imports_of(path, names)
    ]
    assert offenders == []
