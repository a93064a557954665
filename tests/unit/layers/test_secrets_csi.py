"""app.secretsDelivery csi: a SecretProviderClass for the app's secrets, files only, no Secret objects."""

from __future__ import annotations

import yaml

from components.rendering.layers import LAYERS, active_layers, render
from components.settings import names, placement
from components.settings.load import load_settings
from tests.fixtures.config import IMAGE_SOURCE, FakeConfig
from tests.harness.schemas import validate_object


def layer_named(name: str):
    return next(layer for layer in LAYERS if layer.name == name)


def csi_settings():
    return load_settings(FakeConfig({"app": {"secretsDelivery": "csi", **IMAGE_SOURCE}}), "local")


def test_the_layer_is_active_only_for_csi():
    assert "app-csi" in [layer.name for layer in active_layers(csi_settings())]
    assert "app-csi" not in [layer.name for layer in active_layers(load_settings(FakeConfig({}), "local"))]


def test_secret_provider_class_is_valid_and_syncs_no_secret():
    settings = csi_settings()
    (spc,) = [o for o in render(settings, layer_named("app-csi")) if o["kind"] == "SecretProviderClass"]
    validate_object(spc)
    assert spc["kind"] == "SecretProviderClass" and spc["metadata"]["namespace"] == settings.namespaces.app
    assert spc["spec"]["provider"] == "vault"
    assert "secretObjects" not in spc["spec"], "syncing to a Secret defeats the csi mode"
    params = spc["spec"]["parameters"]
    assert params["vaultAddress"] == placement.vault_address(settings)
    assert params["roleName"] == settings.app.name
    objects = {o["objectName"]: o for o in yaml.safe_load(params["objects"])}
    assert set(objects) == {"hashing-secret", "db-username", "db-password"}
    assert (
        objects["db-username"]["secretPath"]
        == objects["db-password"]["secretPath"]
        == (f"{names.DATABASE_MOUNT}/creds/{names.DB_APP_ROLE}")
    )
    assert objects["hashing-secret"]["secretPath"].startswith(f"{names.KV_V2_MOUNT}/data/")


def test_external_vault_address_reaches_the_provider_class():
    settings = load_settings(
        FakeConfig(
            {
                "app": {"secretsDelivery": "csi"},
                "vault": {
                    "externalAddress": "https://vault.corp.example:8200",
                    "externalCaCert": "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----",
                },
            }
        ),
        "local",
    )
    (spc,) = [o for o in render(settings, layer_named("app-csi")) if o["kind"] == "SecretProviderClass"]
    assert spc["spec"]["parameters"]["vaultAddress"] == "https://vault.corp.example:8200"
