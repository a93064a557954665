"""checkov (offline, pinned in .venv-checkov) over EVERY Kubernetes object both stacks apply: typed
resources, every layer's ConfigGroup objects and the Flux sync objects. 0 failed checks beyond the
justified allow-list (tests/checkov-allowlist.yaml), and no allow-list entry for these objects that no
longer fails. (tests/integration/test_checkov.py scans a subset of layers the same way.)"""

from __future__ import annotations

import json

import pytest

from tests.harness.checkov import Finding, compare, load_allowlist, resource_name, run_checkov
from tests.harness.program import ProgramRun

# Failures owed by a layer's owner (to be fixed in its manifest or justified in tests/checkov-allowlist.yaml,
# then removed here). Empty: keep it so. The test below fails on any failure not listed here or in the
# allow-list, AND on an entry here that no longer fails, so this set can only shrink.
OWED: set[Finding] = set()


def all_objects(stack_runs: dict[str, ProgramRun]) -> list[dict]:
    """Every object of both stacks once (identical objects deduplicated, differing ones kept)."""
    unique: dict[str, dict] = {}
    for run in stack_runs.values():
        for obj in run.k8s_objects():
            unique.setdefault(json.dumps(obj, sort_keys=True, default=str), obj)
    return list(unique.values())


@pytest.fixture(scope="module")
def scanned(stack_runs: dict[str, ProgramRun]) -> tuple[list[dict], list[Finding]]:
    objects = all_objects(stack_runs)
    return objects, run_checkov(objects)


def test_the_scan_covers_both_stacks_whole(scanned, stack_runs: dict[str, ProgramRun]):
    objects, _ = scanned
    names = {resource_name(o) for o in objects}
    for run in stack_runs.values():
        assert {resource_name(o) for o in run.k8s_objects()} <= names
    assert {"Namespace", "GitRepository", "ClusterIssuer"} <= {o["kind"] for o in objects}


def test_no_failed_check_beyond_the_allowlist(scanned):
    objects, findings = scanned
    unexpected, _ = compare(findings, load_allowlist(), objects)
    hint = "checkov failures (fix them, or list them with a one-line reason in tests/checkov-allowlist.yaml):\n"
    assert not set(unexpected) - OWED, hint + "\n".join(map(str, sorted(set(unexpected) - OWED)))
    resolved = OWED - set(unexpected)
    assert not resolved, "no longer failing (remove from OWED):\n" + "\n".join(map(str, sorted(resolved)))


def test_no_stale_allowlist_entry(scanned):
    objects, findings = scanned
    _, stale = compare(findings, load_allowlist(), objects)
    assert not stale, "allow-list entries that no longer fail (remove them):\n" + "\n".join(map(str, stale))


def test_every_allowlist_entry_names_an_object_of_a_stack(scanned):
    """An entry for an object no stack applies any more is dead weight that could hide a future failure."""
    objects, _ = scanned
    names = {resource_name(o) for o in objects}
    orphans = [str(e.finding) for e in load_allowlist() if e.finding.resource not in names]
    assert not orphans, "allow-list entries for objects neither stack applies:\n" + "\n".join(orphans)


def test_csi_mode_passes_too():
    """The default stacks deploy the vso variant; the whole local stack in csi mode (Deployment with the CSI
    volume, SecretProviderClass, the provider's CA: manifests/gitops/app-csi) gets the same scan and allow-list."""
    from tests.harness.program import run_stack

    objects = run_stack("local", {"app": {"secretsDelivery": "csi"}}).k8s_objects()
    assert "SecretProviderClass" in {o["kind"] for o in objects}
    unexpected, _ = compare(run_checkov(objects), load_allowlist(), objects)
    assert not unexpected, "\n".join(map(str, unexpected))
