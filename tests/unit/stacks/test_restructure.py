"""The restructure changed no deployed object: every variant deploys what the golden file recorded, and every
resource whose URN changed carries an alias the engine resolves to its old URN.

tests/golden/registrations.json.gz was recorded from the program before the restructure (keyed by the URNs
of then). A deliberate change of behaviour later re-records it with `make snapshot`; the diff of the
test's failure message says what changed.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.rendering import layers
from tests.harness import snapshot
from tests.harness.program import PROJECT, ProgramRun


@pytest.fixture(scope="module")
def runs() -> dict[str, ProgramRun]:
    return {name: snapshot.run_variant(name) for name in snapshot.VARIANTS}


@pytest.fixture(scope="module")
def golden() -> dict[str, dict[str, dict[str, Any]]]:
    return snapshot.read_golden()


# Variables the restructure added (the app's secret files, declared once in components/settings/app_secrets.py,
# substituted into the app layers): the objects they render are the same as before, but Flux gets them too.
NEW_VARIABLES = ("app_secret_sources", "app_csi_objects")


def _with_deliberate_changes(expected: dict[str, dict[str, Any]], variant: str) -> dict[str, dict[str, Any]]:
    """The restructure's deliberate changes to what Flux is told: Kustomization paths follow
    manifests/bootstrap|gitops/<folder>, and the substituted variables gain NEW_VARIABLES."""
    moved = {f"./manifests/{layer.name}": f"./manifests/{layer.path}" for layer in layers.LAYERS}
    current = layers.variables(snapshot.variant_settings(variant))
    expected = copy.deepcopy(expected)
    for record in expected.values():
        inputs = record["inputs"]
        if inputs.get("kind") != "Kustomization":
            continue
        spec = inputs["spec"]
        spec["path"] = moved.get(spec["path"], spec["path"])
        substitute = spec.get("postBuild", {}).get("substitute")
        if substitute is not None:
            substitute.update({name: current[name] for name in NEW_VARIABLES if name not in substitute})
    return expected


def _differences(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    found = [f"only before: {urn}" for urn in expected.keys() - actual.keys()]
    found += [f"only now: {urn}" for urn in actual.keys() - expected.keys()]
    for urn in sorted(expected.keys() & actual.keys()):
        for key in expected[urn]:
            if expected[urn][key] != actual[urn].get(key):
                found.append(f"{urn}: {key} differs")
    return found


@pytest.mark.parametrize("variant", snapshot.VARIANTS)
def test_every_variant_deploys_what_it_deployed_before(variant, runs, golden):
    actual = snapshot.effective_run(variant, runs[variant], PROJECT)
    differences = _differences(_with_deliberate_changes(golden[variant], variant), actual)
    assert not differences, "\n".join(differences[:20])


@pytest.mark.parametrize("variant", snapshot.VARIANTS)
def test_every_renamed_urn_carries_an_alias_to_its_old_urn(variant, runs):
    stack = snapshot.variant_stack(variant)
    dump = snapshot.snapshot(runs[variant])
    engine = snapshot.engine_urns(dump, stack, PROJECT)
    renamed = snapshot.new_to_old(stack, PROJECT)
    by_urn = {record["urn"]: record for record in dump}
    present = [urn for urn in renamed if urn in by_urn]
    assert present, "each variant has at least the two Vault operator releases"
    for new in present:
        record = by_urn[new]
        resolved = {snapshot.resolve_alias(alias, record, dump, stack, PROJECT) for alias in record["aliases"]}
        # The old resource's engine URN: its old parent (the Vault component) kept its own URN.
        old_parent, old_name = renamed[new].rsplit("$", 1)[0].split("::")[2], record["name"]
        old_engine = f"urn:pulumi:{stack}::{PROJECT}::{old_parent}${record['type']}::{old_name}"
        assert old_engine in resolved, (new, resolved)
        assert engine[new] != old_engine  # a rename, not a no-op alias


def test_an_alias_to_the_current_parent_names_the_new_urn_not_the_old(runs):
    """The alias resolution is not vacuous: only the alias to the former parent reaches the old URN."""
    dump = snapshot.snapshot(runs["local"])
    renamed = snapshot.new_to_old("local", PROJECT)
    record = next(r for r in dump if r["urn"] in renamed)
    engine = snapshot.engine_urns(dump, "local", PROJECT)
    assert (
        snapshot.resolve_alias({"parentUrn": record["parent"]}, record, dump, "local", PROJECT) == engine[record["urn"]]
    )
    assert snapshot.resolve_alias(record["aliases"][0], record, dump, "local", PROJECT) != engine[record["urn"]]


def test_a_changed_object_is_reported(runs, golden):
    """The comparison sees a one-field change inside a ConfigGroup's objects."""
    actual = copy.deepcopy(snapshot.effective_run("local", runs["local"], PROJECT))
    group = next(record for record in actual.values() if record["type"] == "kubernetes:yaml/v2:ConfigGroup")
    group["inputs"]["objs"][0]["metadata"]["name"] += "-changed"
    assert _differences(_with_deliberate_changes(golden["local"], "local"), actual)
