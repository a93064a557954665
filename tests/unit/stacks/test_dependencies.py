"""Both stacks create things in dependency order: namespaces before releases, CRDs before their objects."""

from __future__ import annotations

import dataclasses

from tests.harness.dependencies import crd_chart, missing_crd_dependencies, waits_for
from tests.harness.helm_values import HELM_RELEASE
from tests.harness.k8s_objects import CONFIG_GROUP
from tests.harness.program import ProgramRun

NAMESPACE = "kubernetes:core/v1:Namespace"


def test_every_release_waits_for_its_namespace(stack_run: ProgramRun):
    namespaces = {n.inputs["metadata"]["name"]: n for n in stack_run.of_type(NAMESPACE)}
    for release in stack_run.of_type(HELM_RELEASE):
        namespace = namespaces[release.inputs["namespace"]]
        assert waits_for(stack_run, release, namespace), f"{release.name} does not wait for its namespace"


def test_operators_wait_for_the_infra_namespaces(stack_run: ProgramRun):
    operators = stack_run.named("operators", "platform:operators:Operators")
    namespaces = stack_run.of_type(NAMESPACE)
    for release in stack_run.of_type(HELM_RELEASE):
        if release.parent == operators.urn:
            assert any(waits_for(stack_run, release, n) for n in namespaces), release.name


def test_every_custom_resource_waits_for_the_chart_defining_it(stack_run: ProgramRun):
    assert missing_crd_dependencies(stack_run) == []


def test_pki_waits_for_cert_manager(stack_run: ProgramRun):
    pki = stack_run.named("pki", CONFIG_GROUP)
    assert waits_for(stack_run, pki, stack_run.named("cert-manager", HELM_RELEASE))


def test_monitors_wait_for_kube_prometheus_stack(stack_run: ProgramRun):
    prometheus = stack_run.named("kube-prometheus-stack", HELM_RELEASE)
    # The flux2 chart creates a PodMonitor; operators-monitoring holds cert-manager's.
    assert waits_for(stack_run, stack_run.named("flux2", HELM_RELEASE), prometheus)
    assert waits_for(stack_run, stack_run.named("operators-monitoring", CONFIG_GROUP), prometheus)
    cert_manager = stack_run.named("cert-manager", HELM_RELEASE)
    assert not waits_for(stack_run, cert_manager, prometheus), "cert-manager must come first (webhook certs)"
    assert cert_manager.inputs["values"]["prometheus"]["servicemonitor"]["enabled"] is False


def test_the_check_reports_a_missing_dependency(stack_run: ProgramRun):
    pki = stack_run.named("pki", CONFIG_GROUP)
    broken = dataclasses.replace(pki, dependencies=[])
    registrations = [broken if r is pki else r for r in stack_run.registrations]
    run = ProgramRun(stack=stack_run.stack, registrations=registrations, outputs={})
    problems = missing_crd_dependencies(run)
    assert any(p.startswith("pki: ClusterIssuer") and "cert-manager" in p for p in problems), problems


def test_crd_groups_map_to_charts():
    assert crd_chart("cert-manager.io/v1") == "cert-manager"
    assert crd_chart("kustomize.toolkit.fluxcd.io/v1") == "flux2"
    assert crd_chart("apps/v1") is None
    assert crd_chart("v1") is None
