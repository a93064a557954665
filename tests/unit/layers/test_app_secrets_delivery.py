"""The app's secrets arrive as files in both delivery modes, and the mode is only a choice of layer directory.

- `manifests/app/`: what both modes share (ConfigMaps naming the secret files, Service, certificates,
  ServiceAccount, the hashing secret's RandomSecret).
- `manifests/app-vso/` (vso): the Deployment with a projected volume of the VSO-synced Secrets + the VSO CRs.
- `manifests/app-csi/` (csi): the Deployment with a Secrets Store CSI volume + SecretProviderClass + the Vault
  CA for the provider.
The two Deployments must be the same object apart from the `secrets` volume, and the migrations Job reads its
credentials from a VSO-rendered flyway.conf, never from environment variables.
"""

from __future__ import annotations

import copy
from pathlib import PurePosixPath
from typing import Any

import pytest
import yaml

from components.charts import secrets_csi
from components.rendering import layers
from components.settings import names as contract
from components.settings.load import load_settings
from components.vault_runtime import policies
from tests.fixtures.config import IMAGE_SOURCE, FakeConfig
from tests.harness import vso_template
from tests.harness.schemas import validate_object

SECRETS_DIR = "/mnt/secrets"
SECRET_FILES = {"hashing-secret", "db-username", "db-password"}


def settings_for(mode: str, **app: Any):
    return load_settings(FakeConfig({"app": {"secretsDelivery": mode, **IMAGE_SOURCE, **app}}), "local")


def app_objects(mode: str, **app: Any) -> list[dict[str, Any]]:
    settings = settings_for(mode, **app)
    chosen = [layer for layer in layers.active_layers(settings) if layer.name.startswith("app")]
    return [obj for layer in chosen for obj in layers.render(settings, layer)]


def one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, f"{kind} {name}: {len(found)}"
    return found[0]


def pod_spec(objects: list[dict[str, Any]], kind: str = "Deployment") -> dict[str, Any]:
    return one(objects, kind)["spec"]["template"]["spec"]


def secrets_volume(pod: dict[str, Any]) -> dict[str, Any]:
    (volume,) = [v for v in pod["volumes"] if v["name"] == "secrets"]
    (mount,) = [m for c in pod["containers"] for m in c["volumeMounts"] if m["name"] == "secrets"]
    assert mount["mountPath"] == SECRETS_DIR and mount["readOnly"] is True
    return volume


def no_secret_env(pod: dict[str, Any]) -> list[str]:
    """Containers that take a Secret as environment (checkov CKV_K8S_35)."""
    bad = []
    for container in pod.get("initContainers", []) + pod["containers"]:
        for env in container.get("env", []):
            if "secretKeyRef" in (env.get("valueFrom") or {}):
                bad.append(f"{container['name']}: env {env['name']}")
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                bad.append(f"{container['name']}: envFrom {source['secretRef']['name']}")
    return bad


@pytest.fixture(scope="module", params=("vso", "csi"))
def mode(request) -> str:
    return request.param


def test_each_mode_enables_exactly_its_app_layer(mode: str):
    names = [layer.name for layer in layers.active_layers(settings_for(mode))]
    assert "app" in names and f"app-{mode}" in names
    other = {"vso": "app-csi", "csi": "app-vso"}[mode]
    assert other not in names
    assert names.index("app") < names.index(f"app-{mode}")


def test_every_app_object_is_schema_valid(mode: str):
    for obj in app_objects(mode):
        validate_object(copy.deepcopy(obj))


def test_the_app_takes_no_secret_from_the_environment(mode: str):
    objects = app_objects(mode)
    assert no_secret_env(pod_spec(objects)) == []
    for container in pod_spec(objects)["containers"]:
        assert container["imagePullPolicy"] == "Always"


def test_the_config_map_names_the_secret_files_both_modes_provide(mode: str):
    objects = app_objects(mode)
    data = one(objects, "ConfigMap", "sms-proxy-config")["data"]
    named = {data[key] for key in ("DB_USERNAME_FILE", "DB_PASSWORD_FILE", "HASHING_SECRET_FILE")}
    assert named == {f"{SECRETS_DIR}/{name}" for name in SECRET_FILES}
    volume = secrets_volume(pod_spec(objects))
    if mode == "vso":
        provided = {item["path"] for source in volume["projected"]["sources"] for item in source["secret"]["items"]}
    else:
        spc = one(objects, "SecretProviderClass")
        provided = {o["objectName"] for o in yaml.safe_load(spc["spec"]["parameters"]["objects"])}
    assert provided == SECRET_FILES


def test_the_two_deployments_differ_only_in_the_secrets_volume():
    deployments = []
    for mode in ("vso", "csi"):
        deployment = copy.deepcopy(one(app_objects(mode), "Deployment"))
        pod = deployment["spec"]["template"]["spec"]
        pod["volumes"] = [v for v in pod["volumes"] if v["name"] != "secrets"]
        deployments.append(deployment)
    assert deployments[0] == deployments[1]


def test_vso_mode_mounts_the_synced_secrets_and_restarts_on_rotation():
    objects = app_objects("vso")
    deployment = one(objects, "Deployment")["metadata"]["name"]
    synced = {o["spec"]["destination"]["name"]: o for o in objects if o["kind"].startswith("Vault")}
    volume = secrets_volume(pod_spec(objects))
    assert {s["secret"]["name"] for s in volume["projected"]["sources"]} == set(synced)
    for obj in synced.values():
        assert obj["spec"]["rolloutRestartTargets"] == [{"kind": "Deployment", "name": deployment}]
    assert not [o for o in objects if o["kind"] == "SecretProviderClass"]


def test_csi_mode_has_no_synced_secret_and_mounts_the_provider_class():
    settings = settings_for("csi")
    objects = app_objects("csi")
    assert not [o for o in objects if o["kind"] in ("VaultStaticSecret", "VaultDynamicSecret", "Secret")]
    spc = one(objects, "SecretProviderClass")
    csi = secrets_volume(pod_spec(objects))["csi"]
    assert csi == {
        "driver": "secrets-store.csi.k8s.io",
        "readOnly": True,
        "volumeAttributes": {"secretProviderClass": spc["metadata"]["name"]},
    }
    # The provider logs in as the pod's ServiceAccount with the role named like the app.
    assert pod_spec(objects)["serviceAccountName"] == settings.app.name == spc["spec"]["parameters"]["roleName"]


def test_the_csi_provider_finds_the_vault_ca_where_the_provider_class_says():
    objects = app_objects("csi")
    spc = one(objects, "SecretProviderClass")
    ca_path = PurePosixPath(spc["spec"]["parameters"]["vaultCACertPath"])
    values = secrets_csi.provider_values()["csi"]
    (mount,) = values["volumeMounts"]
    (volume,) = values["volumes"]
    assert ca_path == PurePosixPath(mount["mountPath"]) / "ca.crt" and mount["name"] == volume["name"]
    certificate = one(objects, "Certificate", volume["secret"]["secretName"])
    assert certificate["metadata"]["namespace"] == secrets_csi.NAMESPACE
    assert certificate["spec"]["secretName"] == volume["secret"]["secretName"]


def test_the_csi_policy_grants_exactly_what_the_provider_class_reads():
    settings = settings_for("csi")
    spc = one(app_objects("csi"), "SecretProviderClass")
    read = {o["secretPath"] for o in yaml.safe_load(spc["spec"]["parameters"]["objects"])}
    rules = policies.app_csi_rules(settings)
    assert set(rules) == read
    assert all(capabilities == ("read",) for capabilities in rules.values())
    assert f"{contract.DATABASE_MOUNT}/creds/{contract.DB_MIGRATIONS_ROLE}" not in rules
    hcl = policies.app_csi_policy_hcl(settings)
    assert "*" not in hcl and "sudo" not in hcl


# --- migrations: Flyway reads a mounted config file ------------------------------------------------------


def migrations_objects() -> list[dict[str, Any]]:
    settings = settings_for("vso")
    return layers.render(settings, layers.layer_named("migrations"))


def test_flyway_reads_its_credentials_from_the_vso_rendered_file():
    objects = migrations_objects()
    pod = pod_spec(objects, "Job")
    assert no_secret_env(pod) == []
    (container,) = pod["containers"]
    assert container["imagePullPolicy"] == "Always"
    config_file = PurePosixPath(one(objects, "ConfigMap", "sms-proxy-migrations")["data"]["FLYWAY_CONFIG_FILES"])
    (mount,) = [m for m in container["volumeMounts"] if PurePosixPath(m["mountPath"]) == config_file.parent]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    dynamic = one(objects, "VaultDynamicSecret")
    assert volume["secret"]["secretName"] == dynamic["spec"]["destination"]["name"]
    assert dynamic["spec"]["path"] == f"creds/{contract.DB_MIGRATIONS_ROLE}"
    transformation = dynamic["spec"]["destination"]["transformation"]
    assert transformation["excludeRaw"] is True and transformation["excludes"] == [".*"]
    assert set(transformation["templates"]) == {config_file.name}
    rendered = vso_template.render(
        transformation["templates"][config_file.name]["text"], {"username": "v-mig-x1", "password": "Pw0rd-x#y"}
    )
    assert rendered.splitlines() == ["flyway.user=v-mig-x1", "flyway.password=Pw0rd-x#y"]


def test_a_vault_role_admits_the_csi_login_with_exactly_the_csi_policy():
    from components.vault.configuration import policies as managed_policies
    from components.vault.configuration import roles

    settings = settings_for("csi")
    objects = app_objects("csi")
    spc = one(objects, "SecretProviderClass")
    namespace, account = spc["metadata"]["namespace"], pod_spec(objects)["serviceAccountName"]
    (role,) = [r for r in roles(settings) if r.name == spc["spec"]["parameters"]["roleName"]]
    assert account in role.service_accounts and namespace in role.namespaces
    assert role.policy == contract.APP_CSI_POLICY
    assert managed_policies(settings)[role.policy] == policies.app_csi_policy_hcl(settings)
    # vso mode has no such role.
    assert settings.app.name not in {r.name for r in roles(settings_for("vso"))}


def test_every_declared_secret_reaches_the_app_in_both_modes():
    """components/settings/app_secrets.py is the one declaration: each source has its VSO object (the one
    hand-written part of adding a secret), and each file is named by a *_FILE key of the app's config."""
    from components.settings.app_secrets import SECRETS_DIR as DECLARED_DIR
    from components.settings.app_secrets import app_secret_sources

    settings = settings_for("vso")
    sources = app_secret_sources(settings)
    assert DECLARED_DIR == SECRETS_DIR
    synced = {o["spec"]["destination"]["name"] for o in app_objects("vso") if o["kind"].startswith("Vault")}
    missing = {f"{settings.app.name}-{s.name}" for s in sources} - synced
    assert not missing, (
        f"add a VaultStaticSecret/VaultDynamicSecret to manifests/gitops/app-vso/secrets.yaml: {missing}"
    )
    config_files = set(one(app_objects("vso"), "ConfigMap", "sms-proxy-config")["data"].values())
    declared = {f"{SECRETS_DIR}/{f.file}" for s in sources for f in s.files}
    assert declared <= config_files, declared - config_files
    assert {f.file for s in sources for f in s.files} == SECRET_FILES
    csi_policy = policies.app_csi_rules(settings_for("csi"))
    assert set(csi_policy) == {s.secret_path for s in sources}
