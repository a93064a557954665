"""Flux postBuild substitution rules (kustomize-controller 1.9+, strict mode) and the layer renderer."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.rendering.renderer import render_layer, render_text
from components.rendering.substitution import SubstitutionError, substitute

VARS = {"ns": "apps", "replicas": "3", "empty": ""}


def test_plain_reference():
    assert substitute("namespace: ${ns}", VARS, source="f") == "namespace: apps"


def test_default_used_when_unset():
    assert substitute("x: ${missing:=fallback}", VARS, source="f") == "x: fallback"


def test_default_not_used_when_set():
    assert substitute("x: ${ns:=fallback}", VARS, source="f") == "x: apps"


def test_colon_default_covers_empty_but_plain_default_does_not():
    assert substitute("x: ${empty:=d}", VARS, source="f") == "x: d"
    assert substitute("x: ${empty=d}|", VARS, source="f") == "x: |"
    assert substitute("x: ${missing-d}", VARS, source="f") == "x: d"


def test_escape_gives_literal():
    assert substitute("x: $${ns}", VARS, source="f") == "x: ${ns}"


def test_bare_dollar_is_left_alone():
    assert substitute("cmd: echo $ns $HOME", VARS, source="f") == "cmd: echo $ns $HOME"


def test_unset_without_default_is_an_error_naming_file_and_variable():
    with pytest.raises(SubstitutionError, match=r"manifests/app/deploy\.yaml.*'image_tag'.*strict"):
        substitute("image: app:${image_tag}", VARS, source="manifests/app/deploy.yaml")


def test_malformed_reference_is_an_error():
    with pytest.raises(SubstitutionError, match="bad substitution"):
        substitute("x: ${1abc}", VARS, source="f")


@pytest.mark.parametrize("bad", [{"bad-name": "x"}, {"9lives": "x"}])
def test_invalid_variable_names_are_refused(bad):
    with pytest.raises(SubstitutionError, match="not a valid name"):
        substitute("x", bad, source="f")


def test_non_string_values_are_refused():
    with pytest.raises(SubstitutionError, match="must be a string"):
        substitute("x", {"replicas": 3}, source="f")  # type: ignore[dict-item]


def test_numbers_keep_yaml_types_after_substitution():
    [obj] = render_text(
        "apiVersion: v1\nkind: X\nspec:\n  replicas: ${replicas}\n  name: '${replicas}'\n", VARS, source="f"
    )
    assert obj["spec"] == {"replicas": 3, "name": "3"}


def test_opt_out_annotation_keeps_references():
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  annotations:\n"
        "    kustomize.toolkit.fluxcd.io/substitute: disabled\ndata:\n  script: echo ${not_a_var}\n"
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  namespace: ${ns}\n"
    )
    first, second = render_text(text, VARS, source="f")
    assert first["data"]["script"] == "echo ${not_a_var}"
    assert second["metadata"]["namespace"] == "apps"


def test_opt_out_label_is_honoured_too():
    text = (
        "apiVersion: v1\nkind: X\nmetadata:\n  labels:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\nx: ${y}\n"
    )
    [obj] = render_text(text, {}, source="f")
    assert obj["x"] == "${y}"


def test_layer_must_be_a_non_empty_directory(tmp_path: Path):
    file_path = tmp_path / "one.yaml"
    file_path.write_text("apiVersion: v1\nkind: X\n")
    with pytest.raises(SubstitutionError, match="must be a directory"):
        render_layer(file_path, VARS)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SubstitutionError, match="empty layer"):
        render_layer(empty, VARS)


def test_layer_renders_every_file_and_document_in_order(tmp_path: Path):
    (tmp_path / "b.yaml").write_text("apiVersion: v1\nkind: B\n---\napiVersion: v1\nkind: C\n")
    (tmp_path / "a.yml").write_text("# comment only doc\n---\napiVersion: v1\nkind: A\nmetadata:\n  name: ${ns}\n")
    kinds = [o["kind"] for o in render_layer(tmp_path, VARS)]
    assert kinds == ["A", "B", "C"]


def test_non_object_document_is_an_error(tmp_path: Path):
    (tmp_path / "x.yaml").write_text("- just\n- a list\n")
    with pytest.raises(SubstitutionError, match="not a Kubernetes object"):
        render_layer(tmp_path, VARS)
