"""Both stacks evaluate under mocks; every object they would apply matches its upstream schema."""

from __future__ import annotations

import pytest

from tests.harness.k8s_objects import key
from tests.harness.program import ProgramRun, run_stack
from tests.harness.schemas import validate_object


def test_every_object_passes_its_schema(stack_run: ProgramRun):
    objects = stack_run.k8s_objects()
    assert objects, "the program applies no Kubernetes object"
    failures = []
    for obj in objects:
        try:
            validate_object(obj)
        except AssertionError as error:
            failures.append(str(error))
    assert not failures, "\n".join(failures)


def test_no_object_is_applied_twice(stack_run: ProgramRun):
    keys = [key(o) for o in stack_run.k8s_objects()]
    assert len(keys) == len(set(keys))


def test_every_kubernetes_resource_uses_the_explicit_provider(stack_run: ProgramRun):
    for registration in stack_run.registrations:
        if registration.custom and registration.type.startswith("kubernetes:"):
            assert "pulumi:providers:kubernetes::kubernetes" in registration.provider, registration.name
    for remote_component in stack_run.of_type("kubernetes:yaml/v2:ConfigGroup"):
        assert "providers:kubernetes" in remote_component.provider, remote_component.name


def test_every_resource_lives_under_a_layer_component(stack_run: ProgramRun):
    for registration in stack_run.registrations:
        if registration.type.startswith("platform:"):
            continue
        layers = [a.type for a in stack_run.ancestors(registration) if a.type.startswith("platform:")]
        assert layers, f"{registration.type} {registration.name} has no layer component parent"


def test_namespaces_are_named_without_random_suffixes(stack_run: ProgramRun):
    for namespace in stack_run.of_type("kubernetes:core/v1:Namespace"):
        assert namespace.inputs["metadata"]["name"] == namespace.name


def test_outputs_say_where_things_are(stack_run: ProgramRun):
    assert stack_run.outputs["mode"] == stack_run.stack
    assert stack_run.outputs["namespaces"]["app"] == "sms-proxy"


def test_each_run_is_fresh():
    first = run_stack("local")
    second = run_stack("local")
    assert len(first.registrations) == len(second.registrations)


def test_pki_follows_operators(stack_run: ProgramRun):
    pki = stack_run.named("pki", "kubernetes:yaml/v2:ConfigGroup")
    cert_manager = stack_run.named("cert-manager", "kubernetes:helm.sh/v3:Release")
    assert cert_manager.urn in pki.dependencies


@pytest.mark.parametrize("algorithm,size", [("ECDSA", 256), ("RSA", 2048)])
def test_pki_config_reaches_the_certificates(algorithm, size):
    run = run_stack("local", {"pki": {"keyAlgorithm": algorithm, "keySize": size, "rootCaDuration": "20000h"}})
    certificates = [o for o in run.k8s_objects() if o["kind"] == "Certificate"]
    root = next(c for c in certificates if c["metadata"]["name"] == "root-ca")
    assert root["spec"]["privateKey"] == {"algorithm": algorithm, "size": size, "rotationPolicy": "Always"}
    assert root["spec"]["duration"] == "20000h"
    assert all(c["spec"].get("renewBefore") for c in certificates)
