"""checkov (offline, pinned in .venv-checkov) over every object of the S3, registry, ingress and
NetworkPolicy layers of both stacks: 0 failures except the allow-list's, and no stale entry."""

from __future__ import annotations

import pytest

from tests.harness.checkov import Finding, compare, layer_objects, load_allowlist, run_checkov
from tests.harness.program import ProgramRun

LAYERS = ("s3", "registry", "registry-access", "ingress", "network-policies")


@pytest.fixture(scope="module")
def scanned(stack_runs: dict[str, ProgramRun]) -> tuple[list[dict], list[Finding]]:
    objects: dict[tuple, dict] = {}
    for run in stack_runs.values():
        for obj in layer_objects(run, LAYERS):
            meta = obj["metadata"]
            objects[(obj["kind"], meta.get("namespace"), meta["name"])] = obj
    return list(objects.values()), run_checkov(list(objects.values()))


def test_every_layer_is_scanned(scanned):
    objects, _ = scanned
    kinds = {obj["kind"] for obj in objects}
    # Workloads and policies are what checkov has checks for: they must be in the scan.
    assert {"Deployment", "Service", "NetworkPolicy", "ConfigMap"} <= kinds


def test_no_failure_outside_the_allowlist(scanned):
    objects, findings = scanned
    unexpected, _ = compare(findings, load_allowlist(), objects)
    hint = "checkov failures (fix them, or list them with a reason in tests/checkov-allowlist.yaml):\n"
    assert not unexpected, hint + "\n".join(map(str, unexpected))


def test_no_stale_allowlist_entry(scanned):
    objects, findings = scanned
    _, stale = compare(findings, load_allowlist(), objects)
    assert not stale, "allow-list entries that no longer fail (remove them):\n" + "\n".join(map(str, stale))


def test_the_runner_reports_a_known_failure():
    """A privileged container must be reported: proves the runner sees failures at all."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "bad", "namespace": "probe"},
        "spec": {"containers": [{"name": "c", "image": "busybox", "securityContext": {"privileged": True}}]},
    }
    findings = run_checkov([pod])
    assert Finding("CKV_K8S_16", "Pod.probe.bad") in findings
