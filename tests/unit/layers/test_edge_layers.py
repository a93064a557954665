"""S3, registry, ingress and NetworkPolicy layers: presence per backend/mode, no credential in any
manifest, Vault writes for external backends, hardened registry, default-deny in every namespace."""

from __future__ import annotations

import pulumi
import pytest
import yaml

from components.layers.infra import app_cluster_namespaces
from components.rendering import layers
from components.settings import names as contract
from components.settings import names as storage_names
from components.settings.load import load_settings
from components.vault.external_credentials import kv_entries
from tests.fixtures.config import EXTERNAL_REGISTRY_IMAGES, FakeConfig
from tests.harness.checkov import layer_objects
from tests.harness.program import ProgramRun, run_stack, stack_config

CONFIG_GROUP = "kubernetes:yaml/v2:ConfigGroup"
EXTERNAL = {
    "s3": {"backend": "external", "endpoint": "https://s3.example"},
    "registry": {"mode": "external", "host": "registry.example.com"},
    "app": EXTERNAL_REGISTRY_IMAGES,
}
EXTERNAL_SECRETS = {
    "s3AccessKeyId": "AKIDEXAMPLE",
    "s3SecretAccessKey": "s3-secret-value",
    "registryPassword": "reg-pw",
}
MINE = ("s3", "registry", "registry-access", "ingress", "network-policies")


def settings_of(stack: str, config: dict | None = None, secrets: dict | None = None):
    return load_settings(FakeConfig({**stack_config(stack), **(config or {})}, secrets), stack)


def objects_of(settings, names=MINE) -> list[dict]:
    """What these layers render for the settings (the same objects both stacks apply)."""
    return [
        o for layer in layers.active_layers(settings) if layer.name in names for o in layers.render(settings, layer)
    ]


@pytest.fixture(scope="module")
def external() -> ProgramRun:
    return run_stack("local", EXTERNAL, EXTERNAL_SECRETS)


def _groups(run: ProgramRun) -> set[str]:
    return {r.name for r in run.of_type(CONFIG_GROUP)}


def _find(objects, kind, name):
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def test_layers_follow_the_backends(stack_runs, external):
    local = stack_runs["local"]
    assert {"s3", "registry", "registry-access", "ingress", "network-policies"} <= _groups(local)
    assert {"s3", "registry"}.isdisjoint(_groups(external))
    assert {"registry-access", "ingress", "network-policies"} <= _groups(external)
    releases = {r.name for r in local.of_type("kubernetes:helm.sh/v3:Release")}
    assert {"minio-operator", "traefik"} <= releases
    assert "minio-operator" not in {r.name for r in external.of_type("kubernetes:helm.sh/v3:Release")}


def test_registry_and_pull_secret_are_the_same_for_both_s3_backends(stack_runs):
    minio = layer_objects(stack_runs["local"], ["registry", "registry-access"])
    other = layer_objects(
        run_stack("local", {"s3": {"backend": "external", "endpoint": "https://s3.example"}}, EXTERNAL_SECRETS),
        ["registry", "registry-access"],
    )
    config = yaml.safe_load(_find(other, "ConfigMap", "registry-config")["data"]["config.yml"])
    assert config["storage"]["s3"]["regionendpoint"] == "https://s3.example"
    assert (
        yaml.safe_load(_find(minio, "ConfigMap", "registry-config")["data"]["config.yml"])["storage"]["s3"][
            "regionendpoint"
        ]
        == "https://minio.minio.svc"
    )
    strip = lambda objs: [o for o in objs if o["kind"] != "ConfigMap"]  # noqa: E731
    assert strip(minio) == strip(other)


def test_no_credential_in_any_manifest():
    for settings in (settings_of("local"), settings_of("remote"), settings_of("local", EXTERNAL, EXTERNAL_SECRETS)):
        objects = objects_of(settings)
        assert not [o for o in objects if o["kind"] == "Secret"]
        text = yaml.safe_dump(objects)
        for value in EXTERNAL_SECRETS.values():
            assert value not in text
        for obj in objects:
            if obj["kind"] == "VaultStaticSecret":
                # Only template output reaches the Secret, never the raw Vault keys.
                assert obj["spec"]["destination"]["transformation"]["excludes"] == [".*"]
                assert obj["spec"]["destination"]["transformation"]["excludeRaw"] is True
        for config in (o for o in objects if o["kind"] == "ConfigMap"):
            s3 = yaml.safe_load(config["data"]["config.yml"])["storage"]["s3"]
            assert "accesskey" not in s3 and "secretkey" not in s3


@pytest.mark.parametrize("stack", ["local", "remote"])
def test_pull_secret_is_the_contract_name_and_a_dockerconfigjson(stack):
    pull = _find(objects_of(settings_of(stack)), "VaultStaticSecret", contract.REGISTRY_PULL_SECRET)
    assert pull["metadata"]["namespace"] == "sms-proxy"
    assert pull["spec"]["destination"]["type"] == "kubernetes.io/dockerconfigjson"
    # In-cluster: the pull-only user's password; an external registry: the configured password.
    assert pull["spec"]["path"].endswith(storage_names.REGISTRY_PULL_PASSWORD_SECRET)
    external = _find(
        objects_of(settings_of(stack, EXTERNAL, EXTERNAL_SECRETS)), "VaultStaticSecret", contract.REGISTRY_PULL_SECRET
    )
    assert external["spec"]["path"].endswith(storage_names.REGISTRY_PASSWORD_SECRET)


def test_external_backends_write_their_credentials_to_vault():
    settings = settings_of("local", EXTERNAL, EXTERNAL_SECRETS)
    entries = kv_entries(settings)
    assert set(entries) == {"sms-proxy/s3-registry", "sms-proxy/registry-password"}

    @pulumi.runtime.test
    def check():
        def verify(values):
            s3, registry = values
            assert s3 == {"accessKeyId": "AKIDEXAMPLE", "secretAccessKey": "s3-secret-value"}
            assert registry == {"password": "reg-pw"}

        return pulumi.Output.all(*entries.values()).apply(verify)

    check()
    assert kv_entries(settings_of("local")) == {}


def test_registry_container_is_hardened(stack_runs):
    deployment = _find(layer_objects(stack_runs["local"], ["registry"]), "Deployment", "registry")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    context = container["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    assert context["seccompProfile"]["type"] == "RuntimeDefault"
    assert {"startupProbe", "readinessProbe", "livenessProbe", "resources"} <= set(container)
    assert not container.get("envFrom") and all("valueFrom" not in e for e in container["env"])


@pytest.mark.parametrize("stack", ["local", "remote"])
def test_every_namespace_denies_by_default(stack):
    settings = settings_of(stack)
    # The base layer and the conditional ones (network-policies-vault, -minio, ...) together.
    names = [layer.name for layer in layers.LAYERS if layer.name.startswith("network-policies")]
    policies = [o for o in objects_of(settings, names) if o["kind"] == "NetworkPolicy"]
    denied = {
        p["metadata"]["namespace"]
        for p in policies
        if p["metadata"]["name"] == "default-deny"
        and p["spec"]["podSelector"] == {}
        and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    }
    # Exactly the namespaces this cluster has (components/infra.py): none for a component that is absent.
    assert denied == set(app_cluster_namespaces(settings))
    # DNS is allowed out of every namespace, or nothing resolves.
    dns = {p["metadata"]["namespace"] for p in policies if p["metadata"]["name"] == "allow-dns"}
    assert dns == denied


def test_traefik_listens_on_the_configured_port_and_redirects_http():
    run = run_stack("local", {"ingress": {"httpsPort": 9443}})
    values = run.named("traefik", "kubernetes:helm.sh/v3:Release").inputs["values"]
    assert values["ports"]["websecure"]["exposedPort"] == 9443
    assert values["ports"]["web"]["http"]["redirections"]["entryPoint"]["to"] == "websecure"
    option = _find(layer_objects(run, ["ingress"]), "TLSOption", "default")
    assert option["spec"]["minVersion"] == "VersionTLS12"
    assert option["spec"]["clientAuth"]["clientAuthType"] == "RequireAndVerifyClientCert"
