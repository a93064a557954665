"""tools/chart_check end to end: fixture charts (tests/fixtures/charts/) rendered for real through
helm-python-sdk's Helm engine, then every check; the CLI over the program's real releases."""

from __future__ import annotations

import dataclasses
import functools
import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import helm_python as helm
import pytest

from tests.harness.program import REPO
from tests.tools.chart_fixtures import CHARTS_DIR, copy_as, pinned_chart_dir
from tools.chart_check import __main__ as cli
from tools.chart_check import capabilities, render, source
from tools.chart_check.releases import Deployment, ReleaseSpec
from tools.chart_check.run import Options, run

CLUSTER = "urn:pulumi:test::platform::pulumi:providers:kubernetes::kubernetes"
LEVEL = "pod-security.kubernetes.io/enforce"
LABELS = {
    (CLUSTER, "monitoring"): {LEVEL: "baseline"},
    (CLUSTER, "apps"): {LEVEL: "restricted"},
    (CLUSTER, "node-agents"): {LEVEL: "privileged"},
}
BASELINE_REFUSALS = {
    ("pod-security/baseline:hostNamespaces", "host namespaces (hostNetwork=true, hostPID=true)"),
    ("pod-security/baseline:hostPathVolumes", 'hostPath volumes (volumes "proc", "sys", "root")'),
    ("pod-security/baseline:hostPorts", 'hostPort (container "node-exporter" uses hostPort 9100)'),
}
# checkov's own findings on that DaemonSet: hostPID, hostNetwork (it sees no hostPort: only an explicit one).
CHECKOV_REFUSALS = {"checkov:CKV_K8S_17", "checkov:CKV_K8S_19"}


def spec(chart: str, namespace: str, values: dict | None = None, name: str | None = None) -> ReleaseSpec:
    return ReleaseSpec(name or chart, chart, "0.1.0", "https://charts.invalid", namespace, values or {}, CLUSTER, "t")


def options(chart_dir: Path, **overrides) -> Options:
    crd_dir = Path(os.environ["CRD_SCHEMA_DIR"])
    return Options(**{"kube_version": "1.33", "chart_dir": chart_dir, "crd_schema_dir": crd_dir, **overrides})


@pytest.fixture(scope="module")
def chart_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two fixture charts as CHART_DIR/<chart>-<version>/."""
    directory = tmp_path_factory.mktemp("charts")
    for fixture in ("psa-breaking", "psa-clean"):
        copy_as(fixture, directory, fixture, "0.1.0")
    return directory


def rendered(chart: str, values: dict, api_versions: list[str]) -> dict[str, dict]:
    release = spec(chart, "apps", values, name="demo")
    objects = render.render_release(CHARTS_DIR / chart, release, "v1.33.0", api_versions)
    return {f"{item.obj['kind']}/{item.obj['metadata']['name']}": item.obj for item in objects}


# --- rendering ---------------------------------------------------------------------------------------


def test_render_uses_the_values_the_kubernetes_version_and_the_api_versions():
    apis = capabilities.api_versions("1.33", Path(os.environ["CRD_SCHEMA_DIR"]), [])
    objects = rendered("psa-clean", {"replicas": 5, "extra": {"port": 8080}}, apis)
    used = objects["ConfigMap/demo-rendered-with"]["data"]
    with helm.Chart.load(CHARTS_DIR / "psa-clean") as chart:
        assert json.loads(used["values.json"]) == chart.merge_values({"replicas": 5, "extra": {"port": 8080}})
    assert used["kubeVersion"] == "v1.33.0"
    assert objects["Deployment/demo-app"]["spec"]["replicas"] == 5
    # Exist only with the cluster's API versions: a GVK (policy/v1/PodDisruptionBudget) and a CRD group-version.
    assert {"PodDisruptionBudget/demo-app", "ServiceMonitor/demo-app"} <= set(objects)


def test_without_the_clusters_api_versions_helm_renders_less():
    """Helm's offline defaults lack group-version-kinds and custom resources: passing them matters."""
    objects = rendered("psa-clean", {}, [])
    assert "PodDisruptionBudget/demo-app" not in objects and "ServiceMonitor/demo-app" not in objects


def test_render_keeps_crds_and_drops_notes_and_test_hooks():
    objects = rendered("psa-clean", {}, [])
    assert "CustomResourceDefinition/widgets.fixtures.example.com" in objects
    assert "Pod/demo-test" not in objects  # helm.sh/hook: test (it would break baseline)
    assert all(not name.endswith("NOTES.txt") for name in objects)


def test_a_chart_that_is_not_the_pinned_one_is_refused(chart_dir: Path):
    with pytest.raises(render.RenderError, match=r"the program pins psa-clean 9\.9\.9"):
        render.load(chart_dir / "psa-clean-0.1.0", dataclasses.replace(spec("psa-clean", "apps"), version="9.9.9"))


def test_a_template_error_is_a_render_finding(tmp_path: Path):
    broken = copy_as("psa-clean", tmp_path, "psa-clean", "0.1.0")
    (broken / "templates" / "broken.yaml").write_text('{{ required "needs .Values.missing" .Values.missing }}\n')
    summary = run(Deployment([spec("psa-clean", "apps")], LABELS), options(tmp_path, checkov=False))
    assert [(f.check, f.kind) for f in summary.findings] == [("render", "Release")]
    assert "needs .Values.missing" in summary.findings[0].message


# --- the checks over rendered charts -----------------------------------------------------------------


@pytest.fixture(scope="module")
def fixture_run(chart_dir: Path):
    """Both fixture charts, each in a baseline and a restricted namespace, and psa-breaking in a privileged one."""
    releases = [
        spec("psa-breaking", "monitoring"),
        spec("psa-clean", "monitoring", name="clean-baseline"),
        spec("psa-clean", "apps", name="clean-restricted"),
        spec("psa-breaking", "node-agents", name="agents"),
    ]
    return run(Deployment(releases, LABELS), options(chart_dir))


def by_release(summary, name: str) -> set[tuple[str, str]]:
    return {(f.check, f.message.split(" [", 1)[0]) for f in summary.findings if f.release == name}


def test_a_chart_that_breaks_baseline_is_reported(fixture_run):
    findings = by_release(fixture_run, "psa-breaking")
    assert {f for f in findings if f[0].startswith("pod-security")} == BASELINE_REFUSALS
    assert {check for check, _ in findings if check.startswith("checkov")} == CHECKOV_REFUSALS
    assert findings == BASELINE_REFUSALS | {
        (c, "failed (checkov's Kubernetes check of that id)") for c in CHECKOV_REFUSALS
    }
    lines = [line for line in fixture_run.lines() if line.startswith("psa-breaking[t]")]
    assert (
        "psa-breaking[t] | DaemonSet monitoring/psa-breaking-node-exporter | pod-security/baseline:hostPorts"
        in "\n".join(lines)
    )


def test_a_clean_chart_passes_baseline_and_restricted(fixture_run):
    assert by_release(fixture_run, "clean-baseline") == set()
    assert by_release(fixture_run, "clean-restricted") == set()


def test_a_privileged_namespace_admits_the_same_daemonset(fixture_run):
    assert {check for check, _ in by_release(fixture_run, "agents")} == CHECKOV_REFUSALS


def test_the_summary_counts_what_was_checked(fixture_run):
    # psa-clean: CRD, Deployment, ServiceAccount, Service, PDB, ServiceMonitor, ConfigMap; psa-breaking: the DaemonSet.
    assert fixture_run.per_release == {
        "psa-breaking[t]": 1,
        "clean-baseline[t]": 7,
        "clean-restricted[t]": 7,
        "agents[t]": 1,
    }
    assert (fixture_run.releases, fixture_run.objects, fixture_run.pods) == (4, 16, 4)
    assert fixture_run.text().startswith("chart-check: 4 releases, 16 objects (4 pod-bearing) checked; 7 findings")


def test_policy_and_schema_findings_reach_the_report(tmp_path: Path):
    """The policy pack (no limits, `latest` image) and the schemas (an unknown field) over a chart's objects."""
    chart = copy_as("psa-clean", tmp_path, "psa-clean", "0.1.0")
    deployment = chart / "templates" / "deployment.yaml"
    text = deployment.read_text().replace("          resources:\n", "          resourcez:\n")
    deployment.write_text(text.replace("{{ .Values.image | default", '{{ "busybox:latest" | default'))
    summary = run(Deployment([spec("psa-clean", "apps")], LABELS), options(tmp_path, checkov=False))
    checks = {f.check for f in summary.findings}
    assert {"schema", "policy:containers-limits-and-security-context", "policy:images-pinned"} <= checks
    limits = [f.message for f in summary.findings if f.check == "policy:containers-limits-and-security-context"]
    assert limits == ["Deployment apps/psa-clean-app container app: no resources.limits.cpu/memory"]
    assert all("\n" not in line for line in summary.lines())
    schema = next(f for f in summary.findings if f.check == "schema")
    assert "resourcez" in schema.message and schema.kind == "Deployment"


def test_a_namespace_nothing_creates_is_a_finding(chart_dir: Path):
    summary = run(Deployment([spec("psa-clean", "nowhere")], LABELS), options(chart_dir, checkov=False))
    namespaced = {f.name for f in summary.findings if f.check == "namespace"}
    assert "psa-clean-app" in namespaced and "widgets.fixtures.example.com" not in namespaced  # CRDs have none
    assert {f.check for f in summary.findings} == {"namespace"}


# --- where charts come from --------------------------------------------------------------------------


def test_chart_dir_layouts(tmp_path: Path):
    unpacked = copy_as("psa-clean", tmp_path / "a", "psa-clean", "0.1.0")
    assert source.from_directory(tmp_path / "a", "psa-clean", "0.1.0") == unpacked
    archive = Path(helm.package(CHARTS_DIR / "psa-clean", destination=tmp_path / "c"))
    assert archive.name == "psa-clean-0.1.0.tgz"
    assert source.from_directory(tmp_path / "c", "psa-clean", "0.1.0") == archive
    with pytest.raises(
        source.ChartUnavailable, match=r"psa-clean 0\.2\.0 is not in .* \(tried .*psa-clean-0\.2\.0\.tgz"
    ):
        source.from_directory(tmp_path / "c", "psa-clean", "0.2.0")
    with pytest.raises(source.ChartUnavailable, match="is not a directory"):
        source.from_directory(tmp_path / "missing", "psa-clean", "0.1.0")


def test_an_archive_in_chart_dir_is_rendered(tmp_path: Path):
    helm.package(CHARTS_DIR / "psa-breaking", destination=tmp_path)
    summary = run(Deployment([spec("psa-breaking", "monitoring")], LABELS), options(tmp_path, checkov=False))
    assert {(f.check, f.message.split(" [")[0]) for f in summary.findings} == BASELINE_REFUSALS


def test_helm_pull_untar_layout(tmp_path: Path):
    """`helm pull --untar` leaves <dir>/<chart>-<version>/<chart>/: found too."""
    nested = tmp_path / "psa-clean-0.1.0"
    nested.mkdir()
    copy_as("psa-clean", nested, "psa-clean", "0.1.0").rename(nested / "psa-clean")
    assert source.from_directory(tmp_path, "psa-clean", "0.1.0") == nested / "psa-clean"


@pytest.fixture
def chart_repository(tmp_path: Path) -> Iterator[tuple[str, http.server.ThreadingHTTPServer]]:
    """A real HTTP chart repository on 127.0.0.1 (index.yaml + archive), as users' repositories are."""
    root = tmp_path / "repo"
    helm.package(CHARTS_DIR / "psa-breaking", destination=root)
    helm.repo_index_generate(root)
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_pull_from_the_repository_then_from_the_cache(chart_repository, tmp_path: Path):
    url, server = chart_repository
    release = dataclasses.replace(spec("psa-breaking", "monitoring"), repo=url)
    summary = run(Deployment([release], LABELS), options(None, cache=tmp_path / "cache", checkov=False))
    assert {(f.check, f.message.split(" [")[0]) for f in summary.findings} == BASELINE_REFUSALS
    server.shutdown()  # from now on only the cache can answer: connections are refused
    server.server_close()
    cached = source.pull(release, tmp_path / "cache")
    assert cached.is_file() and cached.name == "psa-breaking-0.1.0.tgz"
    with pytest.raises(source.ChartUnavailable, match=r"psa-breaking 9\.9\.9 from http://127\.0\.0\.1"):
        source.pull(dataclasses.replace(release, version="9.9.9"), tmp_path / "cache")


def test_a_chart_missing_from_its_repository_is_a_chart_finding(chart_repository, tmp_path: Path):
    url, _ = chart_repository
    release = dataclasses.replace(spec("psa-breaking", "monitoring"), repo=url, version="9.9.9")
    summary = run(Deployment([release], LABELS), options(None, cache=tmp_path / "cache", checkov=False))
    assert [(f.check, f.kind, f.name) for f in summary.findings] == [("chart", "Release", "psa-breaking")]
    assert "not found" in summary.findings[0].message and summary.objects == 0


# --- the CLI over the program's real releases --------------------------------------------------------


def no_allowlist(directory: Path) -> Path:
    """An empty allow-list: the reviewed one accepts findings of the real pinned charts, which the fixture
    charts standing in for them do not have (its entries would all be stale)."""
    path = directory / "allowlist.yaml"
    path.write_text("[]\n")
    return path


def test_cli_reports_node_exporter_like_daemonset_in_monitoring(tmp_path: Path):
    """`python -m tools.chart_check` with CHART_DIR: every pinned chart from the fixtures, kube-prometheus-stack
    as psa-breaking; the program's own releases (mock run of both stacks) and namespaces decide the rest."""
    charts = pinned_chart_dir(tmp_path, breaking=("kube-prometheus-stack",))
    env = {**os.environ, "CHART_DIR": str(charts)}
    command = [sys.executable, "-m", "tools.chart_check", "--allowlist", str(no_allowlist(tmp_path))]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    where = "kube-prometheus-stack[local,remote] | DaemonSet monitoring/kube-prometheus-stack-node-exporter"
    assert sorted(line.split(" | ")[2] for line in lines) == sorted(
        [check for check, _ in BASELINE_REFUSALS] + sorted(CHECKOV_REFUSALS)
    )
    assert all(line.startswith(where) for line in lines), lines
    assert "chart-check: 20 releases" in result.stderr and "5 findings" in result.stderr


def test_cli_passes_when_every_chart_is_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    monkeypatch.setenv("CHART_DIR", str(pinned_chart_dir(tmp_path)))
    assert cli.main(["--allowlist", str(no_allowlist(tmp_path))]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    # 10 charts in each stack (the Barman Cloud plugin of backup.enabled is the tenth), one fixture chart each.
    assert "20 releases, 140 objects (20 pod-bearing) checked; 0 findings (none)" in err


def test_cli_needs_the_crd_schemas(monkeypatch: pytest.MonkeyPatch, capsys):
    monkeypatch.delenv("CRD_SCHEMA_DIR")
    assert cli.main([]) == 2
    assert "CRD_SCHEMA_DIR" in capsys.readouterr().err


def test_the_release_values_decide_what_is_checked(chart_dir: Path):
    """psa-breaking takes hostNetwork from its values: the program's values, not the chart defaults, count."""
    release = spec("psa-breaking", "monitoring", {"hostNetwork": False})
    summary = run(Deployment([release], LABELS), options(chart_dir, checkov=False))
    namespaces = [f.message for f in summary.findings if f.check == "pod-security/baseline:hostNamespaces"]
    assert [m.split(" [")[0] for m in namespaces] == ["host namespaces (hostPID=true)"]
