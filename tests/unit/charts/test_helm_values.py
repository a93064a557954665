"""Every Helm release of both stacks installs its pinned chart with values the chart understands."""

from __future__ import annotations

import pytest

from components.charts import secrets_csi
from components.settings.versions import CHARTS
from tests.harness import helm_values
from tests.harness.helm_values import HELM_RELEASE, chart_of, check_release, check_values, reference
from tests.harness.program import ProgramRun, run_stack

# THE ONLY EXEMPTION from the reference-data checks: charts pinned in components/versions.py for which
# $HELM_SCHEMA_DIR holds no Chart.yaml/values.yaml, so neither the pinned version nor the values keys can be
# checked offline. The Secrets Store CSI driver (app.secretsDelivery csi only) is one; its values are held
# to the minimal, documented set instead (test_the_exempt_csi_driver_keeps_minimal_values). Do not add
# charts here: add their reference data.
NO_REFERENCE_DATA = {"secrets-store-csi-driver"}


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


@pytest.mark.parametrize("key", sorted(set(CHARTS) - NO_REFERENCE_DATA))
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


# --- app.secretsDelivery csi: two more releases (the exempt driver, and the vault chart as CSI provider) ---


@pytest.fixture(scope="module")
def csi_run() -> ProgramRun:
    return run_stack("local", {"app": {"secretsDelivery": "csi"}})


def test_the_exemption_list_is_exactly_the_charts_without_reference_data():
    from tests.harness.schemas import helm_schema_dir

    missing = {
        key for key, chart in CHARTS.items() if not (helm_schema_dir() / chart.schema_dir / "values.yaml").is_file()
    }
    assert missing == NO_REFERENCE_DATA


def test_csi_releases_exist_only_in_csi_mode(csi_run: ProgramRun, stack_run: ProgramRun):
    csi_names = {r.name for r in csi_run.of_type(HELM_RELEASE)}
    assert {secrets_csi.DRIVER_RELEASE, secrets_csi.PROVIDER_RELEASE} <= csi_names
    assert not {secrets_csi.DRIVER_RELEASE, secrets_csi.PROVIDER_RELEASE} & {
        r.name for r in stack_run.of_type(HELM_RELEASE)
    }


def test_every_csi_mode_release_but_the_exempt_one_passes_the_values_check(csi_run: ProgramRun):
    checked = [r for r in csi_run.of_type(HELM_RELEASE) if r.inputs["chart"] not in NO_REFERENCE_DATA]
    assert secrets_csi.PROVIDER_RELEASE in {r.name for r in checked}  # the vault chart: values validated
    problems = [problem for release in checked for problem in check_release(release)]
    assert not problems, "\n".join(problems)


def test_the_vault_csi_provider_runs_nothing_but_the_provider(csi_run: ProgramRun):
    (release,) = [r for r in csi_run.of_type(HELM_RELEASE) if r.name == secrets_csi.PROVIDER_RELEASE]
    assert chart_of(release) == CHARTS["vault"] and release.inputs["namespace"] == secrets_csi.NAMESPACE
    values = release.inputs["values"]
    assert values["server"]["enabled"] is False and values["injector"]["enabled"] is False
    assert values["csi"]["enabled"] is True


def test_the_exempt_csi_driver_keeps_minimal_values(csi_run: ProgramRun):
    (release,) = [r for r in csi_run.of_type(HELM_RELEASE) if r.name == secrets_csi.DRIVER_RELEASE]
    chart = chart_of(release)
    assert chart == CHARTS["secrets-store-csi-driver"] and release.inputs["version"] == chart.version
    assert chart.version.startswith("1.5.")
    assert release.inputs["namespace"] == secrets_csi.NAMESPACE
    assert release.inputs["values"] == {
        "syncSecret": {"enabled": False},
        "enableSecretRotation": True,
        # a quarter of postgres.appRoleTtl (12h): each re-mount creates a new database user
        "rotationPollInterval": "10800s",
    }


@pytest.mark.parametrize("ttl,interval", [("12h", "10800s"), ("1h30m", "1350s"), ("2m", "60s")])
def test_the_csi_rotation_interval_follows_the_app_lease_ttl(ttl: str, interval: str):
    from components.settings.load import load_settings
    from tests.fixtures.config import FakeConfig

    settings = load_settings(FakeConfig({"postgres": {"appRoleTtl": ttl}}), "local")
    assert secrets_csi.driver_values(settings)["rotationPollInterval"] == interval
