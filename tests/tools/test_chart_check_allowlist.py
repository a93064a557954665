"""chart-check's reviewed allow-list (tools/chart_check/allowlist.py) over fixture charts, and the two
checker fixes the real pinned charts showed: documents split as Helm splits them, nulls as unset fields."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from components.settings.versions import CHARTS
from tests.tools.chart_fixtures import copy_as
from tools.chart_check import __main__ as cli
from tools.chart_check import allowlist, checks, render
from tools.chart_check.releases import Deployment, ReleaseSpec
from tools.chart_check.render import RenderedObject
from tools.chart_check.run import Options, run

CLUSTER = "urn:pulumi:test::platform::pulumi:providers:kubernetes::kubernetes"
LABELS = {(CLUSTER, "apps"): {"pod-security.kubernetes.io/enforce": "restricted"}}
POLICY = "policy:containers-limits-and-security-context"
NO_LIMITS = "container app: no resources.limits.cpu/memory"
OBJECT = "Deployment apps/psa-clean-app"


def spec(name: str = "psa-clean") -> ReleaseSpec:
    return ReleaseSpec(name, "psa-clean", "0.1.0", "https://charts.invalid", "apps", {}, CLUSTER, "t")


@pytest.fixture(scope="module")
def no_limits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """psa-clean without resources: one policy finding (no limits) and nothing else with checkov off."""
    directory = tmp_path_factory.mktemp("charts")
    chart = copy_as("psa-clean", directory, "psa-clean", "0.1.0")
    deployment = chart / "templates" / "deployment.yaml"
    deployment.write_text(deployment.read_text().replace("          resources:\n", "          resourcez:\n"))
    return directory


def write(tmp_path: Path, entries: list[dict]) -> Path:
    path = tmp_path / "allowlist.yaml"
    path.write_text(yaml.safe_dump(entries))
    return path


def entry(**overrides) -> dict:
    base = {"release": "psa-clean", "check": POLICY, "object": OBJECT, "message": NO_LIMITS, "reason": "accepted"}
    return {**base, **overrides}


def checked(chart_dir: Path, entries: list[dict], tmp_path: Path, releases=None):
    allowed = tuple(allowlist.load(write(tmp_path, entries)))
    options = Options(
        kube_version="1.33",
        chart_dir=chart_dir,
        crd_schema_dir=Path(os.environ["CRD_SCHEMA_DIR"]),
        checkov=False,
        allowed=allowed,
    )
    return run(Deployment(releases or [spec()], LABELS), options)


def test_without_an_entry_the_finding_fails(no_limits: Path, tmp_path: Path):
    summary = checked(no_limits, [], tmp_path)
    assert {(f.check, f.message) for f in summary.findings if f.check != "schema"} == {
        (POLICY, f"{OBJECT} {NO_LIMITS}")
    }


def test_an_allowed_finding_does_not_fail_and_is_counted(no_limits: Path, tmp_path: Path):
    summary = checked(no_limits, [entry()], tmp_path)
    assert [f.check for f in summary.findings] == ["schema"]  # the renamed field: not listable, still failing
    assert [(f.check, f.name) for f in summary.allowed] == [(POLICY, "psa-clean-app")]
    assert "1 allowed by the allow-list" in summary.text()


def test_an_entry_for_another_message_of_the_same_policy_does_not_swallow_it(no_limits: Path, tmp_path: Path):
    other = entry(message="container app: securityContext.readOnlyRootFilesystem must be true")
    summary = checked(no_limits, [other], tmp_path)
    assert POLICY in {f.check for f in summary.findings}
    assert any(f.check == "allow-list" and "readOnlyRootFilesystem" in f.message for f in summary.findings)


def test_a_stale_entry_is_reported_and_fails(no_limits: Path, tmp_path: Path):
    stale = entry(check="checkov:CKV_K8S_43", message="", object="Deployment apps/gone")
    summary = checked(no_limits, [entry(), stale], tmp_path)
    (found,) = [f for f in summary.findings if f.check == "allow-list"]
    assert (found.release, found.kind, found.namespace, found.name) == ("psa-clean", "Deployment", "apps", "gone")
    assert "stale" in found.message and "CKV_K8S_43" in found.message
    assert any(line.startswith("psa-clean[-] | Deployment apps/gone | allow-list") for line in summary.lines())


def test_an_entry_of_a_release_not_rendered_is_not_stale(no_limits: Path, tmp_path: Path):
    """`--stack local`, or a chart that could not be fetched (itself a finding): nothing to compare with."""
    summary = checked(no_limits, [entry(), entry(release="elsewhere")], tmp_path)
    assert not [f for f in summary.findings if f.check == "allow-list"]


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"reason": ""}, "no reason"),
        ({"reason": None}, "no reason"),
        ({"check": "schema"}, "cannot be allow-listed"),
        ({"check": "pod-security/baseline:hostNamespaces"}, "cannot be allow-listed"),
        ({"check": "render"}, "cannot be allow-listed"),
        ({"message": ""}, "needs a message"),
        ({"object": "Deployment apps/*"}, "no wildcards"),
        ({"release": "*"}, "no wildcards"),
        ({"object": "psa-clean-app"}, "Kind namespace/name"),
        ({"why": "typo"}, "unknown keys"),
    ],
)
def test_an_unacceptable_entry_is_refused(tmp_path: Path, change: dict, refusal: str):
    with pytest.raises(allowlist.AllowListError, match=refusal):
        allowlist.load(write(tmp_path, [entry(**change)]))


def test_a_duplicate_entry_is_refused(tmp_path: Path):
    with pytest.raises(allowlist.AllowListError, match="duplicate"):
        allowlist.load(write(tmp_path, [entry(), entry(reason="again")]))


def test_the_cli_refuses_an_unacceptable_allow_list(tmp_path: Path, capsys):
    assert cli.main(["--allowlist", str(write(tmp_path, [entry(reason="")]))]) == 2
    assert "no reason" in capsys.readouterr().err


def test_the_reviewed_allow_list_is_acceptable_and_names_pinned_releases():
    """Every entry of tools/chart_check/allowlist.yaml loads and belongs to a chart the program pins."""
    entries = allowlist.load(allowlist.DEFAULT)
    assert entries
    release_names = {"minio-operator", *CHARTS}
    assert {e.release for e in entries} <= release_names
    assert all(len(e.reason) >= 40 for e in entries), "a reason a reviewer can judge, not a placeholder"


# --- checker fixes --------------------------------------------------------------------------------


def test_documents_are_split_as_helm_splits_them():
    """`{{- end -}}` after a separator leaves `---# comment` (cert-manager v1.21.1 rbac.yaml): Helm applies it."""
    text = "a: 1\n---# Permission to:\n# - sign\nb: 2\n---\n\n---\nc: 3\n"
    assert render.documents(text, "rbac.yaml") == [{"a": 1}, {"b": 2}, {"c": 3}]
    with pytest.raises(render.RenderError, match="not valid YAML"):
        render.documents("a: [1\n", "broken.yaml")


def test_a_null_field_is_an_unset_field_for_the_schema_check():
    """`namespace: {{ .Values.unset }}` renders null; the API server stores it as unset (VSO's VaultAuth)."""
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "demo", "namespace": "apps", "labels": None},
        "data": {"key": "value"},
    }
    item = RenderedObject(spec(), "cm.yaml", obj)
    assert checks.schema(item) == []
    assert obj["metadata"]["labels"] is None  # the other checks still see what Helm rendered
    item.obj["data"] = {"key": 1}
    assert [f.check for f in checks.schema(item)] == ["schema"]
