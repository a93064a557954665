"""`python -m components.vault_runtime.admin_policy [STACK]` (the README's command for an existing Vault):
`--help` prints the usage, unknown arguments and stacks are refused, and so is a stack config the program
would refuse; only then is a policy printed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.harness.program import REPO


def printer(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "components.vault_runtime.admin_policy", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_help_prints_the_usage_and_no_policy():
    result = printer("--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m components.vault_runtime.admin_policy [-h] [{local,remote}]")
    assert "path " not in result.stdout


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["staging"], "invalid choice: 'staging' (choose from 'local', 'remote')"),
        (["local", "--stack", "remote"], "unrecognized arguments: --stack remote"),
        (["local", "remote"], "unrecognized arguments: remote"),
        # The stack file ships without flux.gitUrl: the same error and fix `pulumi up -s remote` gives.
        (["remote"], "platform:flux.gitUrl: the remote stack hands the application layers to Flux"),
    ],
)
def test_refused_with_exit_code_2_and_no_policy(args: list[str], error: str):
    result = printer(*args)
    assert result.returncode == 2, result
    assert error in result.stderr
    assert result.stdout == ""


def test_a_known_stack_prints_the_policy():
    result = printer("local")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('path "sys/mounts" {') and result.stderr == ""
    assert 'path "kv/sms-proxy/registry-password"' in result.stdout
