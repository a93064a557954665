"""Shared fixtures: mock runs of both stacks (every test session evaluates both)."""

from __future__ import annotations

import pytest

from tests.harness.program import ProgramRun, run_stack

# Real OpenBao clusters (and a fake kubectl) for the Vault tests; two of them for transit auto-unseal.
pytest_plugins = ["tests.fixtures.openbao", "tests.fixtures.transit_seal"]

STACKS = ("local", "remote")


@pytest.fixture(scope="session")
def stack_runs() -> dict[str, ProgramRun]:
    """One mock run of each stack with its committed stack file."""
    return {stack: run_stack(stack) for stack in STACKS}


@pytest.fixture(params=STACKS)
def stack_run(request: pytest.FixtureRequest, stack_runs: dict[str, ProgramRun]) -> ProgramRun:
    return stack_runs[request.param]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """A skip hides a missing tool or server; the setup must provide them, so a skip counts as a failure."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped tests are not allowed (install what it needs instead): {report.longrepr}"
