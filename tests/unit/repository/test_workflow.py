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
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<action>[^@\s]+)@(?P<ref>\S+)(?:\s+#\s*(?P<tag>\S+))?\s*$")


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


def tags_of(text: str) -> dict[str, str]:
    """`action@sha` -> the `# vX.Y.Z` tag its line names (a `uses:` by tag maps to that tag)."""
    tags = {}
    for line in text.splitlines():
        match = USES.match(line)
        if match:
            ref = match["ref"]
            tags[f"{match['action']}@{ref}"] = match["tag"] or ref
    return tags


def pulumi_input_problems(workflow: dict[str, Any], known: set[str], ref: str, tags: dict[str, str]) -> list[str]:
    """Every `with:` key of a pulumi/actions step is a real input of the pinned major version."""
    problems = []
    for step in steps(workflow):
        uses = str(step.get("uses") or "")
        if not uses.startswith("pulumi/actions@"):
            continue
        if tags.get(uses, "").split(".")[0] != ref.split(".")[0]:
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
    assert pulumi_input_problems(load(), known, ref, tags_of(WORKFLOW.read_text())) == []


def test_input_check_catches_a_typo():
    ref, known = actions_inputs()
    workflow = load()
    for step in steps(workflow):
        if str(step.get("uses", "")).startswith("pulumi/actions@"):
            step["with"]["policy-packs"] = "policy"  # the real name is policyPacks
    (uses,) = [s["uses"] for s in steps(workflow) if str(s.get("uses", "")).startswith("pulumi/actions@")]
    assert pulumi_input_problems(workflow, known, ref, tags_of(WORKFLOW.read_text())) == [
        f"{uses}: unknown input 'policy-packs'"
    ]


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return load()


def test_runs_a_preview_of_both_stacks_on_pull_requests(workflow):
    assert "pull_request" in workflow["on"]
    (job,) = workflow["jobs"].values()
    assert job["strategy"]["matrix"]["stack"] == ["local", "remote"]
    (pulumi,) = [s for s in steps(workflow) if str(s.get("uses", "")).startswith("pulumi/actions@")]
    assert tags_of(WORKFLOW.read_text())[pulumi["uses"]].startswith("v6.")
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


# --- preview.yml: issue 15 (the preview runs the pull request's code next to credentials that decrypt the state) ---

PINNED_ELSEWHERE = {  # the same action, the same commit in both workflows
    "actions/checkout": "3d3c42e5aac5ba805825da76410c181273ba90b1",
    "actions/setup-python": "5fda3b95a4ea91299a34e894583c3862153e4b97",
    "astral-sh/setup-uv": "20cfd1bf945f4377ade1205e4dbc17946fc9a30d",
    "pulumi/actions": "8582a9e8cc630786854029b4e09281acd6794b58",  # v6.6.1 (the input list's version)
}


def test_every_preview_action_is_pinned_by_a_full_commit_sha():
    text = WORKFLOW.read_text()
    assert unpinned_actions(text) == []
    pins = {action.split("@")[0]: action.split("@")[1] for action in tags_of(text)}
    assert pins == PINNED_ELSEWHERE
    test_pins = {action.split("@")[0]: action.split("@")[1] for action in tags_of(TEST_WORKFLOW.read_text())}
    assert all(pins[action] == sha for action, sha in test_pins.items())
    assert unpinned_actions(text.replace(PINNED_ELSEWHERE["pulumi/actions"], "v6")) != []


def test_preview_runs_in_the_protected_environment_and_never_for_forks(workflow):
    (job,) = workflow["jobs"].values()
    assert job["environment"] == "preview"
    assert job["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    # Only pull_request (never pull_request_target, which would hand secrets to a fork's code).
    assert set(workflow["on"]) == {"pull_request"}
    (checkout,) = [s for s in steps(workflow) if str(s.get("uses", "")).startswith("actions/checkout@")]
    assert checkout["with"]["persist-credentials"] is False


def test_preview_installs_kubectl_pinned_and_verified_before_the_preview(workflow):
    from components.settings.versions import IMAGES, TOOLS, main

    kubectl = TOOLS["kubectl"]
    assert re.fullmatch(r"[0-9a-f]{64}", kubectl.sha256)
    assert f"/v{kubectl.version}/" in kubectl.url and kubectl.url.startswith("https://dl.k8s.io/")
    assert IMAGES["kubectl"].endswith(f":{kubectl.version}")  # one kubectl version across the platform
    assert main(["kubectl"]) == f"{kubectl.url} {kubectl.sha256}"
    names = [str(s.get("uses") or "") for s in steps(workflow)]
    runs = [str(s.get("run") or "") for s in steps(workflow)]
    (install,) = [i for i, run in enumerate(runs) if "components.settings.versions kubectl" in run]
    script = runs[install]
    assert "sha256sum --check --strict" in script and "--fail" in script and "--proto '=https'" in script
    # The checksum check comes before the binary is installed or run.
    assert script.index("sha256sum") < script.index("install -m") < script.index("version --client")
    sync = next(i for i, run in enumerate(runs) if "uv sync --locked" in run)
    preview = next(i for i, n in enumerate(names) if str(n).startswith("pulumi/actions@"))
    assert sync < install < preview


def test_the_kubectl_install_fails_on_a_wrong_checksum(tmp_path: Path):
    """The workflow's check, run for real on a file that is not the pinned binary."""
    binary = tmp_path / "kubectl"
    binary.write_bytes(b"not kubectl")
    from components.settings.versions import TOOLS

    check = subprocess.run(
        ["sha256sum", "--check", "--strict"],
        input=f"{TOOLS['kubectl'].sha256}  {binary}\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode != 0
