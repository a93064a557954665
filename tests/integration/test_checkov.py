"""checkov (offline, pinned in .venv-checkov) over every object of the S3, registry, ingress and
NetworkPolicy layers of both stacks: 0 failures except the allow-list's, and no stale entry.

The NetworkPolicy layers are every `network-policies*` layer of components/layers.py; the conditional ones the
stack files do not enable are rendered with a config that does (VARIANTS), and a layer no run or variant
produces fails the scan, so a new layer cannot be missed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.rendering import layers
from components.settings.load import load_settings
from tests.fixtures.config import FakeConfig
from tests.harness.checkov import Finding, compare, layer_objects, load_allowlist, run_checkov
from tests.harness.program import ProgramRun

POLICY_LAYERS = tuple(layer.name for layer in layers.LAYERS if layer.name.startswith("network-policies"))
LAYERS = ("s3", "registry", "registry-access", "ingress", *POLICY_LAYERS)
_CA = "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n"
# Config (and secrets) that switch on the policy layers the committed stack files leave off.
VARIANTS: tuple[tuple[dict[str, Any], dict[str, str]], ...] = (
    ({"app": {"secretsDelivery": "csi"}}, {}),
    ({"vault": {"externalAddress": "https://vault.corp.example", "externalCaCert": _CA}}, {}),
    (
        {"s3": {"backend": "external", "endpoint": "https://s3.example.com"}},
        {"s3AccessKeyId": "AKIAEXAMPLE", "s3SecretAccessKey": "s3-secret"},
    ),
    (
        {
            "vault": {
                "seal": {
                    "type": "transit",
                    "transit": {"address": "https://transit.example.com:8200", "keyName": "k", "tlsCaCert": _CA},
                }
            }
        },
        {"vaultSealToken": "token"},
    ),
)


def variant_objects() -> dict[str, list[dict[str, Any]]]:
    """Layer name -> objects, for the policy layers each variant enables (rendered like both stacks do)."""
    rendered: dict[str, list[dict[str, Any]]] = {}
    for config, secrets in VARIANTS:
        settings = load_settings(FakeConfig(config, secrets), "local")
        for layer in layers.active_layers(settings):
            if layer.name in POLICY_LAYERS:
                rendered.setdefault(layer.name, []).extend(layers.render(settings, layer))
    return rendered


def objects_per_layer(stack_runs: dict[str, ProgramRun]) -> dict[str, list[dict[str, Any]]]:
    """Layer name -> its objects in both stacks and, for policy layers the stacks leave off, in VARIANTS."""
    per_layer: dict[str, list[dict[str, Any]]] = {name: [] for name in LAYERS}
    for run in stack_runs.values():
        for name in LAYERS:
            per_layer[name].extend(layer_objects(run, [name]))
    for name, objs in variant_objects().items():
        per_layer[name].extend(objs)
    return per_layer


@pytest.fixture(scope="module")
def scanned(stack_runs: dict[str, ProgramRun]) -> tuple[list[dict], list[Finding]]:
    per_layer = objects_per_layer(stack_runs)
    # The same name may differ between layers (allow-vault per Vault placement): keep each distinct object.
    objects = {json.dumps(obj, sort_keys=True, default=str): obj for objs in per_layer.values() for obj in objs}
    return list(objects.values()), run_checkov(list(objects.values()))


def test_every_policy_layer_is_scanned(stack_runs: dict[str, ProgramRun]):
    """A new network-policies* layer is scanned as soon as it exists, or this fails until VARIANTS renders it."""
    assert "network-policies" in POLICY_LAYERS and "network-policies-vault-external" in POLICY_LAYERS
    empty = [name for name, objs in objects_per_layer(stack_runs).items() if name in POLICY_LAYERS and not objs]
    assert not empty, f"policy layers neither stack nor a VARIANTS config renders (add a variant): {empty}"


def test_every_layer_is_scanned(scanned):
    objects, _ = scanned
    kinds = {obj["kind"] for obj in objects}
    # Workloads and policies are what checkov has checks for: they must be in the scan.
    assert {"Deployment", "Service", "NetworkPolicy", "ConfigMap"} <= kinds


def test_no_failure_outside_the_allowlist(scanned):
    objects, findings = scanned
    unexpected, _ = compare(findings, load_allowlist(), objects)
    hint = "checkov failures (fix them, or list them with a reason in tests/checkov-allowlist.yaml):\n"
    assert not unexpected, hint + "\n".join(map(str, unexpected))


def test_no_stale_allowlist_entry(scanned):
    objects, findings = scanned
    _, stale = compare(findings, load_allowlist(), objects)
    assert not stale, "allow-list entries that no longer fail (remove them):\n" + "\n".join(map(str, stale))


def test_the_runner_reports_a_known_failure():
    """A privileged container must be reported: proves the runner sees failures at all."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "bad", "namespace": "probe"},
        "spec": {"containers": [{"name": "c", "image": "busybox", "securityContext": {"privileged": True}}]},
    }
    findings = run_checkov([pod])
    assert Finding("CKV_K8S_16", "Pod.probe.bad") in findings
