"""The read-only ClusterRole README "CI" documents for previews: it covers every kind either stack registers (every
config variant) and grants nothing else: only get/list/watch, never Secrets, port-forward or exec."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from tests.fixtures.variants import LAYER_SWITCHES
from tests.harness.program import REPO, run_stack

READ = {"get", "list", "watch"}
# What a preview must not reach even though the program manages objects of that kind (state diff suffices).
NEVER = {("", "secrets"), ("", "pods/portforward"), ("", "pods/exec"), ("", "pods"), ("", "*"), ("*", "*")}


def documented_role() -> dict[str, Any]:
    section = (REPO / "README.md").read_text().split("\n## CI\n", 1)[1]
    (block,) = re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)[:1]
    role = yaml.safe_load(block)
    assert role["kind"] == "ClusterRole" and role["metadata"]["name"] == "platform-preview"
    return role


def grants(role: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (group, resource) for rule in role["rules"] for group in rule["apiGroups"] for resource in rule["resources"]
    }


def plural(kind: str) -> str:
    lower = kind.lower()
    if lower.endswith("y"):
        return lower[:-1] + "ies"
    return lower + ("es" if lower.endswith("s") else "s")


@pytest.fixture(scope="module")
def managed() -> set[tuple[str, str]]:
    kinds: set[tuple[str, str]] = set()
    for stack in ("local", "remote"):
        for config, secrets in [({}, {}), *LAYER_SWITCHES.values()]:
            for obj in run_stack(stack, config, secrets).k8s_objects():
                kinds.add((obj["apiVersion"].rpartition("/")[0], plural(obj["kind"])))
    return kinds


def test_the_preview_role_only_reads():
    role = documented_role()
    for rule in role["rules"]:
        assert set(rule["verbs"]) <= READ, rule
        assert "*" not in rule["apiGroups"] and "*" not in rule["resources"], rule
        assert not rule.get("resourceNames"), rule
    assert not grants(role) & NEVER


def test_the_preview_role_covers_what_the_program_manages_and_no_more(managed):
    readable = managed - {("", "secrets")}
    assert grants(documented_role()) == readable


def test_a_missing_kind_is_caught(managed):
    role = documented_role()
    role["rules"] = [r for r in role["rules"] if r["apiGroups"] != ["traefik.io"]]
    assert grants(role) != managed - {("", "secrets")}
