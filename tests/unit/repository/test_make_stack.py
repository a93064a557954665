"""`make stack` (the README's one-time setup) against a stand-in `pulumi`: a project-local file backend, a
random passphrase in a git-ignored 0600 file that never reaches a command line, both stacks created, and
a second run changes nothing. `make deps` keeps the test tools and puts nothing but uv on the PATH it names."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.harness.program import REPO

FAKE_PULUMI = """#!/bin/sh
python3 - "$@" <<'PY'
import json, os, sys
with open(os.environ["CALLS"], "a") as calls:
    env = {k: v for k, v in os.environ.items() if k.startswith("PULUMI_")}
    calls.write(json.dumps({"argv": sys.argv[1:], "env": env}) + "\\n")
PY
"""


def make_stack(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], list[dict]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "pulumi").write_text(FAKE_PULUMI)
    (bin_dir / "pulumi").chmod(0o755)
    calls = tmp_path / "calls"
    calls.unlink(missing_ok=True)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    result = subprocess.run(
        # -o deps: the dependencies are not this test's subject (and are installed already).
        [
            "make",
            "--no-print-directory",
            "-o",
            "deps",
            "stack",
            f"STATE_DIR={tmp_path}/state",
            f"PASSPHRASE_FILE={tmp_path}/passphrase",
        ],
        cwd=REPO,
        env={**clean, "PATH": f"{bin_dir}:{os.environ['PATH']}", "CALLS": str(calls), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    lines = calls.read_text().splitlines() if calls.exists() else []
    return result, [json.loads(line) for line in lines]


def test_make_stack_creates_both_stacks_on_a_local_backend_with_a_private_passphrase(tmp_path):
    result, calls = make_stack(tmp_path)
    assert result.returncode == 0, result.stderr
    passphrase_file = tmp_path / "passphrase"
    passphrase = passphrase_file.read_text().strip()
    assert len(passphrase) >= 40 and stat.S_IMODE(passphrase_file.stat().st_mode) == 0o600
    assert [call["argv"] for call in calls] == [
        ["stack", "select", "--create", stack, "--non-interactive"] for stack in ("local", "remote")
    ]
    for call in calls:
        assert call["env"]["PULUMI_BACKEND_URL"] == f"file://{tmp_path}/state"
        assert call["env"]["PULUMI_CONFIG_PASSPHRASE_FILE"] == str(passphrase_file)
        assert passphrase not in json.dumps(call)
    assert f'export PULUMI_BACKEND_URL="file://{tmp_path}/state"' in result.stdout
    assert passphrase not in result.stdout + result.stderr

    again, _ = make_stack(tmp_path)
    assert again.returncode == 0 and passphrase_file.read_text().strip() == passphrase


def test_a_passphrase_from_the_environment_is_used_and_not_written(tmp_path):
    result, calls = make_stack(tmp_path, PULUMI_CONFIG_PASSPHRASE="from-my-password-manager")
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "passphrase").exists()
    assert all("PULUMI_CONFIG_PASSPHRASE_FILE" not in call["env"] for call in calls)
    assert "from-my-password-manager" not in result.stdout


@pytest.mark.parametrize("path", [".pulumi-state/", ".pulumi-passphrase", ".tools/bin/uv"])
def test_state_and_passphrase_are_never_committed(path):
    assert subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO, check=False).returncode == 0


def test_make_deps_keeps_the_test_tools_and_puts_only_uv_on_the_path():
    plan = subprocess.run(
        ["make", "-n", "-B", "deps", "UV=.tools/bin/uv"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert ".tools/bin/uv sync --locked --inexact" in plan
    assert "python3 -m venv .tools/uv" in plan and "ln -sf ../uv/bin/uv .tools/bin/uv" in plan
