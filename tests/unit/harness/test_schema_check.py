"""The schema check itself must be able to fail: a check that cannot fail proves nothing."""

from __future__ import annotations

import pytest

from tests.harness.schemas import SchemaMissing, validate_object


def test_valid_core_object_passes():
    validate_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}})


def test_unknown_field_in_core_object_fails():
    with pytest.raises(AssertionError, match="Namespace"):
        validate_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a", "labelz": {}}})


def test_wrong_type_in_custom_resource_fails():
    certificate = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": "c", "namespace": "n"},
        "spec": {"secretName": "s", "issuerRef": {"name": "i"}, "duration": 5},
    }
    with pytest.raises(AssertionError, match="Certificate"):
        validate_object(certificate)


def test_unknown_nested_field_in_custom_resource_fails():
    issuer = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "ClusterIssuer",
        "metadata": {"name": "x"},
        "spec": {"ca": {"secretName": "s", "secretNme": "typo"}},
    }
    with pytest.raises(AssertionError):
        validate_object(issuer)


def test_unknown_top_level_field_in_custom_resource_fails():
    issuer = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "ClusterIssuer",
        "metadata": {"name": "x"},
        "spec": {"selfSigned": {}},
        "sepc": {},
    }
    with pytest.raises(AssertionError, match="top-level"):
        validate_object(issuer)


def test_kind_without_schema_fails():
    with pytest.raises(SchemaMissing):
        validate_object({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})
