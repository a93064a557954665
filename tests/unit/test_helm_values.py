"""Every Helm release of both stacks installs its pinned chart with values the chart understands."""

from __future__ import annotations

import pytest

from components.versions import CHARTS
from tests.harness import helm_values
from tests.harness.helm_values import HELM_RELEASE, chart_of, check_release, check_values, reference
from tests.harness.program import ProgramRun


def test_every_release_passes_the_values_check(stack_run: ProgramRun):
    releases = stack_run.of_type(HELM_RELEASE)
    assert releases, "the stack installs no Helm release"
    problems = [problem for release in releases for problem in check_release(release)]
    assert not problems, "\n".join(problems)


def test_every_release_is_a_pinned_chart(stack_run: ProgramRun):
    for release in stack_run.of_type(HELM_RELEASE):
        chart = chart_of(release)
        assert release.inputs["version"] == chart.version
        assert release.inputs["name"] == release.name, "fixed release names keep re-runs stable"


@pytest.mark.parametrize("key", sorted(CHARTS))
def test_pinned_versions_match_the_reference_data(key: str):
    chart = CHARTS[key]
    assert chart.version == reference(chart.schema_dir).version


def test_cert_manager_version_comes_from_sources_md():
    # Its Chart.yaml in git says v0.0.0 (set at release time); SOURCES.md records the tag.
    assert reference("cert-manager").version == "v1.21.1"


@pytest.mark.parametrize(
    "schema_dir,values,expected",
    [
        # misspelled key, chart with a schema that allows unknown keys
        ("vault", {"server": {"dataStorge": {"size": "1Gi"}}}, "server.dataStorge: not in the chart's values.yaml"),
        # misspelled key, chart without a schema
        ("flux2", {"watchAllNamespace": True}, "watchAllNamespace: not in the chart's values.yaml"),
        (
            "kube-prometheus-stack",
            {"prometheus": {"prometheusSpec": {"podMonitorSelectorNil": False}}},
            "prometheusSpec",
        ),
        # a map where the chart has a boolean
        ("cert-manager", {"crds": {"enabled": {"yes": True}}}, "crds.enabled: the chart expects a bool"),
        # Kubernetes pass-through structures are checked as their Kubernetes type
        ("minio-operator", {"operator": {"resources": {"limts": {"cpu": "1"}}}}, "operator.resources: Additional"),
        ("vault", {"server": {"affinity": {"podAntiAfinity": {}}}}, "server.affinity: Additional"),
        # schema violations: wrong types the key check alone would not see
        ("vault", {"server": {"ha": {"replicas": "3"}}}, "schema: server.ha.replicas"),
        ("cert-manager", {"replicaCount": "two"}, "schema: replicaCount"),
    ],
)
def test_the_check_catches_bad_values(schema_dir: str, values: dict, expected: str):
    problems = check_values(schema_dir, values)
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize(
    "schema_dir,values",
    [
        # below a free-form default ({} / [] / null / template string) anything goes
        ("vault", {"server": {"extraEnvironmentVars": {"ANY_NAME": "x"}, "affinity": {"podAntiAffinity": {}}}}),
        (
            "vault-secrets-operator",
            {"controller": {"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": []}}}},
        ),
        ("minio-operator", {"operator": {"resources": {"limits": {"memory": "1Gi"}}}}),
        # a documented, commented-out key
        ("vault", {"server": {"readinessProbe": {"path": "/v1/sys/health"}}}),
    ],
)
def test_the_check_accepts_valid_values(schema_dir: str, values: dict):
    assert check_values(schema_dir, values) == []


def test_schema_violation_in_a_real_release_is_reported(stack_run: ProgramRun):
    release = next(r for r in stack_run.of_type(HELM_RELEASE) if r.name == "cert-manager")
    values = {**release.inputs["values"], "replicaCount": "2"}
    changed = type(release)(**{**vars(release), "inputs": {**release.inputs, "values": values}})
    assert any("schema: replicaCount" in p for p in check_release(changed))


def test_a_wrong_version_is_reported(stack_run: ProgramRun):
    release = next(r for r in stack_run.of_type(HELM_RELEASE) if r.name == "flux2")
    changed = type(release)(**{**vars(release), "inputs": {**release.inputs, "version": "2.0.0"}})
    assert any("is not the pinned" in p for p in check_release(changed))


def test_an_unpinned_chart_is_refused(stack_run: ProgramRun):
    release = stack_run.of_type(HELM_RELEASE)[0]
    changed = type(release)(**{**vars(release), "inputs": {**release.inputs, "chart": "nginx"}})
    with pytest.raises(AssertionError, match="not pinned"):
        chart_of(changed)


@pytest.mark.parametrize(
    "schema_dir,path", [(d, p) for d, paths in helm_values.COMMENTED_KEYS.items() for p in sorted(paths)]
)
def test_commented_keys_are_really_documented(schema_dir: str, path: str):
    assert helm_values.commented_key_documented(schema_dir, path)
