"""Shared fixtures: mock runs of both stacks (every test session evaluates both)."""

from __future__ import annotations

import pytest

from tests.harness.program import ProgramRun, run_stack

# Real OpenBao clusters (and a fake kubectl) for the Vault tests.
pytest_plugins = ["tests.fixtures.openbao"]

STACKS = ("local", "remote")


@pytest.fixture(scope="session")
def stack_runs() -> dict[str, ProgramRun]:
    """One mock run of each stack with its committed stack file."""
    return {stack: run_stack(stack) for stack in STACKS}


@pytest.fixture(params=STACKS)
def stack_run(request: pytest.FixtureRequest, stack_runs: dict[str, ProgramRun]) -> ProgramRun:
    return stack_runs[request.param]
