"""`make chart-check` is wired up: the Makefile target, the preview workflow step before the preview, the
README section (what it does, the command, the air-gapped variable)."""

from __future__ import annotations

import re
import subprocess

import yaml

from tests.harness.program import REPO
from tools.chart_check.source import CHART_DIR_ENV


def test_the_make_target_runs_the_check():
    result = subprocess.run(
        ["make", "-n", "chart-check", "CHART_CHECK_ARGS=--stack local"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert ".venv/bin/python -m tools.chart_check --stack local" in result.stdout
    assert "install-system-packages" not in result.stdout  # no Debian packages needed for it


def test_the_preview_workflow_runs_it_for_its_stack_before_the_preview():
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "preview.yml").read_text())
    (job,) = workflow["jobs"].values()
    steps = job["steps"]
    names = [str(step.get("run") or step.get("uses") or "") for step in steps]
    (check,) = [i for i, name in enumerate(names) if name.startswith("make chart-check")]
    install = next(i for i, name in enumerate(names) if "uv sync --locked" in name)
    preview = next(i for i, name in enumerate(names) if name.startswith("pulumi/actions@"))
    assert install < check < preview
    assert steps[check]["env"] == {"STACK": "${{ matrix.stack }}"}
    assert "--stack $STACK" in names[check]


def test_the_readme_documents_it():
    readme = (REPO / "README.md").read_text()
    section = re.search(r"^#+ Pre-deploy chart check\n(.*?)(?=^#)", readme, re.MULTILINE | re.DOTALL)
    assert section, "README: no 'Pre-deploy chart check' section"
    for needed in ("`make chart-check`", CHART_DIR_ENV, "helm-python-sdk", "Pod Security"):
        assert needed in section[1], needed
