"""The `pulumi preview` workflow, checked offline: GitHub's workflow schema (check-jsonschema's vendored
copy), the pulumi/actions v6 input names ($GITHUB_ACTIONS_SCHEMA_DIR), and what the preview must do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness.program import REPO

WORKFLOW = REPO / ".github" / "workflows" / "preview.yml"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"


def actions_inputs() -> tuple[str, set[str]]:
    """(ref, input names) of pulumi/actions from the shared schema data."""
    directory = os.environ.get("GITHUB_ACTIONS_SCHEMA_DIR")
    assert directory, "GITHUB_ACTIONS_SCHEMA_DIR is not set; .ci/run and the Makefile point it at ../shared"
    (path,) = Path(directory).glob("pulumi-actions-*-inputs.json")
    data = json.loads(path.read_text())
    assert data["action"] == "pulumi/actions"
    return data["ref"], set(data["inputs"])


def load(path: Path = WORKFLOW) -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as True; GitHub means the string.
    workflow = yaml.safe_load(path.read_text())
    if True in workflow:
        workflow["on"] = workflow.pop(True)
    return workflow


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps") or []]


def pulumi_input_problems(workflow: dict[str, Any], known: set[str], ref: str) -> list[str]:
    """Every `with:` key of a pulumi/actions step is a real input of the pinned major version."""
    problems = []
    for step in steps(workflow):
        uses = str(step.get("uses") or "")
        if not uses.startswith("pulumi/actions@"):
            continue
        if uses.split("@", 1)[1].split(".")[0] != ref.split(".")[0]:
            problems.append(f"{uses}: the input list is for {ref}")
        problems.extend(f"{uses}: unknown input {name!r}" for name in step.get("with") or {} if name not in known)
    return problems


def check_jsonschema(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_workflow_matches_the_github_workflow_schema():
    result = check_jsonschema(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_a_broken_workflow(tmp_path: Path):
    broken = load()
    broken["jobs"]["preview"]["runs-on"] = {"not": "a runner"}
    broken["jobs"]["preview"]["strategy"]["matrix"] = "local"
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(broken))
    assert check_jsonschema(path).returncode != 0


def test_every_pulumi_actions_input_exists():
    ref, known = actions_inputs()
    assert pulumi_input_problems(load(), known, ref) == []


def test_input_check_catches_a_typo():
    ref, known = actions_inputs()
    workflow = load()
    for step in steps(workflow):
        if str(step.get("uses", "")).startswith("pulumi/actions@"):
            step["with"]["policy-packs"] = "policy"  # the real name is policyPacks
    assert pulumi_input_problems(workflow, known, ref) == ["pulumi/actions@v6: unknown input 'policy-packs'"]


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return load()


def test_runs_a_preview_of_both_stacks_on_pull_requests(workflow):
    assert "pull_request" in workflow["on"]
    (job,) = workflow["jobs"].values()
    assert job["strategy"]["matrix"]["stack"] == ["local", "remote"]
    (pulumi,) = [s for s in steps(workflow) if str(s.get("uses", "")).startswith("pulumi/actions@v6")]
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["stack-name"] == "${{ matrix.stack }}"
    assert pulumi["with"]["comment-on-pr"] is True
    assert pulumi["with"]["policyPacks"] == "policy"
    assert (REPO / pulumi["with"]["policyPacks"] / "PulumiPolicy.yaml").is_file()


def test_dependencies_are_installed_from_the_lock_before_the_preview(workflow):
    names = [s.get("uses") or s.get("run") for s in steps(workflow)]
    install = next(i for i, n in enumerate(names) if n and "uv sync --locked" in n)
    preview = next(i for i, n in enumerate(names) if n and n.startswith("pulumi/actions@"))
    assert any(n and n.startswith("actions/setup-python@") for n in names[:install])
    assert any(n and n.startswith("astral-sh/setup-uv@") for n in names[:install])
    assert install < preview


def test_backend_and_passphrase_come_from_repository_secrets(workflow):
    (job,) = workflow["jobs"].values()
    env = {**workflow.get("env", {}), **job.get("env", {})}
    assert env["PULUMI_BACKEND_URL"] == "${{ secrets.PULUMI_BACKEND_URL }}"
    assert env["PULUMI_CONFIG_PASSPHRASE"] == "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"
    text = WORKFLOW.read_text()
    for secret in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "KUBECONFIG_LOCAL", "KUBECONFIG_REMOTE"):
        assert secret in text  # documented at the top of the file
    readme = (REPO / "README.md").read_text()
    assert "PULUMI_CONFIG_PASSPHRASE" in readme and "KUBECONFIG_REMOTE" in readme


def test_may_comment_on_the_pull_request_and_nothing_more(workflow):
    assert workflow["permissions"] == {"contents": "read", "pull-requests": "write"}


def test_no_secret_is_echoed_or_passed_in_argv(workflow):
    for step in steps(workflow):
        assert "secrets." not in str(step.get("run") or ""), step
