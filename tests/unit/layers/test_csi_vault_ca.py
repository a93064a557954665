"""csi mode: the Vault CSI provider's CA Secret (kube-system) follows where Vault runs, like the operators' ones.

Same cluster: a cert-manager Certificate from this cluster's PKI (layer app-csi-vault-ca, whose `ca.crt` is the
root that signed Vault's certificate). Second cluster / existing Vault: a Secret Pulumi writes in the bootstrap
of both stacks with that Vault's CA; the layer is off, so Flux never issues a wrong one."""

from __future__ import annotations

import pytest

from components.charts import secrets_csi
from components.settings.names import VAULT_CA_SECRET
from tests.fixtures.vault_placement import (
    CA_PEM,
    EXTERNAL_CONFIG,
    SEPARATE,
    VAULT_CLUSTER_CA,
    provider_urn,
    run_with_vault_cluster_ca,
)
from tests.harness.dependencies import waits_for
from tests.harness.k8s_objects import objects_of
from tests.harness.program import ProgramRun, Registration, run_stack

CSI = {"app": {"secretsDelivery": "csi"}}
SECRET = "kubernetes:core/v1:Secret"
PROVIDER = "pulumi:providers:kubernetes"
LAYER = "app-csi-vault-ca"


def provider_ca_secrets(run: ProgramRun) -> list[Registration]:
    wanted = (VAULT_CA_SECRET, secrets_csi.NAMESPACE)
    return [
        r for r in run.of_type(SECRET) if (r.inputs["metadata"]["name"], r.inputs["metadata"]["namespace"]) == wanted
    ]


def provider_ca_certificates(run: ProgramRun) -> list[dict]:
    return [
        o
        for o in run.k8s_objects()
        if o["kind"] == "Certificate" and o["metadata"]["namespace"] == secrets_csi.NAMESPACE
    ]


def the_volume_secret() -> str:
    (volume,) = secrets_csi.provider_values()["csi"]["volumes"]
    return volume["secret"]["secretName"]


@pytest.mark.parametrize("stack", ["local", "remote"])
def test_same_cluster_issues_the_ca_from_this_clusters_pki(stack: str):
    run = run_stack(stack, CSI)
    assert provider_ca_secrets(run) == []
    synced = run.outputs["layers"] if stack == "local" else run.outputs["flux"]["kustomizations"]
    assert LAYER in synced and synced.index(LAYER) < synced.index("app-csi")
    if stack == "local":
        (certificate,) = provider_ca_certificates(run)
        assert certificate["spec"]["secretName"] == the_volume_secret()
        assert certificate["spec"]["issuerRef"]["name"] == "issuer-leaf"


@pytest.mark.parametrize("stack", ["local", "remote"])
@pytest.mark.parametrize(
    ("placement", "ca"), [(SEPARATE, VAULT_CLUSTER_CA), (EXTERNAL_CONFIG, CA_PEM)], ids=["second-cluster", "existing"]
)
def test_vault_elsewhere_gets_a_pulumi_secret_with_that_vaults_ca(stack: str, placement: dict, ca: str):
    run = run_with_vault_cluster_ca(stack, {**CSI, **placement})
    (secret,) = provider_ca_secrets(run)
    assert secret.inputs["metadata"]["name"] == the_volume_secret()
    assert secret.inputs["stringData"] == {"ca.crt": ca} and secret.is_secret("stringData.ca.crt")
    # In the app cluster, where the provider runs; written by Pulumi in both stacks (not a Flux layer).
    assert provider_urn(secret) == run.named("kubernetes", PROVIDER).urn
    synced = run.outputs["layers"] if stack == "local" else run.outputs["flux"]["kustomizations"]
    assert LAYER not in synced and "app-csi" in synced
    assert provider_ca_certificates(run) == []
    # Before the app's pods mount the volume: the first application layer (local: its ConfigGroup; remote: its
    # Kustomization) waits for the bootstrap that writes the Secret.
    assert waits_for(run, first_layer(run, synced[0]), secret)


def first_layer(run: ProgramRun, name: str) -> Registration:
    if run.stack == "local":
        return run.named(name, "kubernetes:yaml/v2:ConfigGroup")
    (found,) = [
        r
        for r in run.registrations
        if any(o["kind"] == "Kustomization" and o["metadata"]["name"] == name for o in objects_of([r]))
    ]
    return found
