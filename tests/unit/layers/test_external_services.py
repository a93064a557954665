"""External OCI registry and external S3: none of the in-cluster registry/MinIO objects, and the provided
credentials (Pulumi secrets) are what the cluster uses, as secrets only."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.config import EXTERNAL_REGISTRY_IMAGES
from tests.harness.program import ProgramRun, run_stack

RELEASE = "kubernetes:helm.sh/v3:Release"
CONFIG_GROUP = "kubernetes:yaml/v2:ConfigGroup"
REGISTRY_PASSWORD = "registry-password-value-7f3a"
S3_KEY_ID = "s3-access-key-id-value-91c2"
S3_SECRET = "s3-secret-access-key-value-5d8e"
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Service", "ConfigMap", "Certificate", "Ingress"}


@pytest.fixture(scope="module")
def external_registry() -> ProgramRun:
    return run_stack(
        "local",
        {"registry": {"mode": "external", "host": "registry.example.com"}, "app": EXTERNAL_REGISTRY_IMAGES},
        {"registryPassword": REGISTRY_PASSWORD},
    )


@pytest.fixture(scope="module")
def external_s3() -> ProgramRun:
    return run_stack(
        "local",
        {"s3": {"backend": "external", "endpoint": "https://s3.example.com"}},
        {"s3AccessKeyId": S3_KEY_ID, "s3SecretAccessKey": S3_SECRET},
    )


def layer_names(run: ProgramRun) -> set[str]:
    return {r.name for r in run.of_type(CONFIG_GROUP)}


def is_registry(obj: dict) -> bool:
    metadata = obj["metadata"]
    named = str(metadata.get("name", "")).startswith("registry")
    labelled = (metadata.get("labels") or {}).get("app.kubernetes.io/name") == "registry"
    return obj["kind"] in WORKLOAD_KINDS and (named or labelled)


def registry_workloads(run: ProgramRun) -> list[str]:
    return [f"{o['kind']} {o['metadata'].get('name')}" for o in run.k8s_objects() if is_registry(o)]


def places_holding(run: ProgramRun, value: str) -> list[tuple[str, str, bool]]:
    """(type, name, sent as secret) of every registration whose inputs contain `value`."""
    found = []
    for registration in run.registrations:
        if value in json.dumps(registration.inputs):
            found.append((registration.type, registration.name, bool(registration.secret_paths)))
    return found


# ---- the in-cluster defaults exist (so the absence checks below can fail) ---------------------------------


def test_the_local_default_deploys_the_in_cluster_registry_and_minio(stack_runs: dict[str, ProgramRun]):
    local = stack_runs["local"]
    assert {"registry", "s3"} <= layer_names(local)
    assert registry_workloads(local)
    local.named("minio-operator", RELEASE)
    assert any(o["kind"] == "Tenant" for o in local.k8s_objects())


# ---- external registry -------------------------------------------------------------------------------------


def test_external_registry_deploys_no_registry(external_registry: ProgramRun):
    assert "registry" not in layer_names(external_registry)
    assert registry_workloads(external_registry) == []


def test_external_registry_pull_secret_points_at_the_external_host(external_registry: ProgramRun):
    pulls = [
        o
        for o in external_registry.k8s_objects()
        if o["kind"] == "VaultStaticSecret" and o["spec"]["destination"].get("type") == "kubernetes.io/dockerconfigjson"
    ]
    assert len(pulls) == 1
    assert "registry.example.com" in json.dumps(pulls[0]) and "registry.local" not in json.dumps(pulls[0])


def test_registry_password_is_never_a_plain_input(external_registry: ProgramRun):
    assert all(secret for _type, _name, secret in places_holding(external_registry, REGISTRY_PASSWORD))


def test_registry_password_reaches_vault_as_a_secret(external_registry: ProgramRun):
    places = places_holding(external_registry, REGISTRY_PASSWORD)
    assert places and all(secret for _type, _name, secret in places), places


def test_external_registry_leaves_no_registry_network_policies(external_registry: ProgramRun):
    names = [o["metadata"]["name"] for o in external_registry.k8s_objects() if o["kind"] == "NetworkPolicy"]
    assert not [n for n in names if "registry" in n], names


# ---- external S3 ------------------------------------------------------------------------------------------


def test_external_s3_deploys_no_minio(external_s3: ProgramRun):
    assert "s3" not in layer_names(external_s3)
    assert not [r for r in external_s3.of_type(RELEASE) if r.name == "minio-operator"]
    assert not [o for o in external_s3.k8s_objects() if o["kind"] == "Tenant" or o["apiVersion"].startswith("minio")]


def test_s3_credentials_are_never_plain_inputs(external_s3: ProgramRun):
    for value in (S3_KEY_ID, S3_SECRET):
        assert all(secret for _type, _name, secret in places_holding(external_s3, value))


def test_s3_credentials_reach_vault_as_secrets(external_s3: ProgramRun):
    for value in (S3_KEY_ID, S3_SECRET):
        places = places_holding(external_s3, value)
        assert places and all(secret for _type, _name, secret in places), (value, places)


def test_external_s3_leaves_no_minio_namespaces(external_s3: ProgramRun):
    minio_namespaces = {"minio", "minio-operator"}
    namespaces = {o["metadata"]["name"] for o in external_s3.k8s_objects() if o["kind"] == "Namespace"}
    assert not namespaces & minio_namespaces
    inside = [
        o["metadata"]["name"] for o in external_s3.k8s_objects() if o["metadata"].get("namespace") in minio_namespaces
    ]
    assert not inside, inside
