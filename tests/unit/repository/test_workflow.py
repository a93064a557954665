"""The workflows, checked offline: GitHub's workflow schema (check-jsonschema's vendored copy), the
pulumi/actions v6 input names ($GITHUB_ACTIONS_SCHEMA_DIR), what the preview must do, and that the test
workflow runs the README's test command with the schema data downloaded by `make schemas`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness.program import REPO

WORKFLOW = REPO / ".github" / "workflows" / "preview.yml"
TEST_WORKFLOW = REPO / ".github" / "workflows" / "test.yml"
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.y*ml"))
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


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_the_github_workflow_schema(path: Path):
    result = check_jsonschema(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_both_workflows_are_checked():
    assert {WORKFLOW, TEST_WORKFLOW} <= set(WORKFLOWS)


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


# --- test.yml: the suite on a runner without ../shared ---

USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<action>[^@\s]+)@(?P<ref>\S+)(?:\s+#\s*(?P<tag>\S+))?\s*$")


def unpinned_actions(text: str) -> list[str]:
    """Every `uses:` that is not pinned by a full commit SHA with its tag as a comment."""
    problems = []
    for line in text.splitlines():
        match = USES.match(line)
        if match is None:
            if re.match(r"^\s*(?:-\s+)?uses:", line):
                problems.append(f"unreadable uses line: {line.strip()}")
            continue
        if not re.fullmatch(r"[0-9a-f]{40}", match["ref"]):
            problems.append(f"{match['action']}@{match['ref']}: not a full commit SHA")
        elif not (match["tag"] or "").startswith("v"):
            problems.append(f"{match['action']}@{match['ref']}: no `# vX.Y.Z` comment naming the tag")
    return problems


@pytest.fixture(scope="module")
def test_workflow() -> dict[str, Any]:
    return load(TEST_WORKFLOW)


def test_test_workflow_actions_are_pinned_by_commit():
    text = TEST_WORKFLOW.read_text()
    assert unpinned_actions(text) == []
    assert len([line for line in text.splitlines() if USES.match(line)]) == 3


def test_pin_check_catches_a_tag_and_a_missing_comment():
    text = TEST_WORKFLOW.read_text()
    by_tag = re.sub(r"actions/checkout@[0-9a-f]{40}", "actions/checkout@v7", text)
    assert unpinned_actions(by_tag) == ["actions/checkout@v7: not a full commit SHA"]
    no_comment = re.sub(r"(actions/setup-python@[0-9a-f]{40}) # \S+", r"\1", text)
    assert len(unpinned_actions(no_comment)) == 1


def test_test_workflow_may_only_read_the_code(test_workflow):
    assert test_workflow["permissions"] == {"contents": "read"}
    assert "${{ secrets." not in TEST_WORKFLOW.read_text()
    (checkout,) = [s for s in steps(test_workflow) if str(s.get("uses", "")).startswith("actions/checkout@")]
    assert checkout["with"]["persist-credentials"] is False


def test_test_workflow_runs_on_pull_requests_and_pushes_to_main(test_workflow):
    assert "pull_request" in test_workflow["on"]
    assert test_workflow["on"]["push"]["branches"] == ["main"]
    (job,) = test_workflow["jobs"].values()
    assert str(job["runs-on"]).startswith("ubuntu-")


def test_test_workflow_downloads_the_schemas_then_runs_the_readme_test_command(test_workflow):
    names = [s.get("uses") or s.get("run") for s in steps(test_workflow)]
    setup = [
        next(i for i, n in enumerate(names) if n.startswith(f"{a}@"))
        for a in ("actions/checkout", "actions/setup-python", "astral-sh/setup-uv")
    ]
    schemas = names.index("make schemas")
    (test,) = [i for i, n in enumerate(names) if n.endswith("make test")]
    assert setup == sorted(setup) and setup[-1] < schemas < test
    assert "`make test`" in (REPO / "README.md").read_text()
    # Users' CI has no ../shared: nothing may point the tests at another schema directory.
    for variable in ("CRD_SCHEMA_DIR", "HELM_SCHEMA_DIR", "GITHUB_ACTIONS_SCHEMA_DIR", "SHARED"):
        assert variable not in TEST_WORKFLOW.read_text()


def test_test_workflow_uses_the_pinned_uv_and_a_supported_python(test_workflow):
    uses = {str(s.get("uses", "")).split("@")[0]: s for s in steps(test_workflow)}
    makefile_uv = re.search(r"^UV_VERSION := (\S+)$", (REPO / "Makefile").read_text(), re.MULTILINE)
    assert makefile_uv and uses["astral-sh/setup-uv"]["with"]["version"] == makefile_uv[1]
    major, minor = map(int, uses["actions/setup-python"]["with"]["python-version"].split("."))
    assert (3, 11) <= (major, minor) < (3, 14)  # pyproject.toml requires-python
