"""The README's "Adding a layer" recipe, followed in a copy of the repository: a cache whose password Vault
generates and the app reads as a file, in both secret-delivery modes and both stacks.

Each of the recipe's seven files is one step below (manifest files written into the copy; the two Python
files' additions patched in, exactly as the recipe writes them). Nothing else changes, and the app receives
the new file in both modes, the app's CSI policy allows it, and Flux parity holds.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.rendering import layers
from components.rendering import variables as var
from components.rendering.layers import Layer
from components.settings import app_secrets, names
from components.settings.model import Settings
from components.vault_runtime import policies
from tests.fixtures.config import IMAGE_SOURCE
from tests.harness import flux_parity
from tests.harness.program import REPO, ProgramRun, run_stack, stack_config
from tests.harness.schemas import validate_object

# Step 1: the layer's own manifests.
CACHE_YAML = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: cache
  namespace: ${ns_app}
  labels:
    app.kubernetes.io/part-of: ${platform_name}
spec:
  replicas: 1
  selector:
    matchLabels: {app.kubernetes.io/name: cache}
  template:
    metadata:
      labels: {app.kubernetes.io/name: cache}
    spec:
      containers:
        - name: cache
          image: ${cache_image}
          ports:
            - containerPort: 6379
---
apiVersion: redhatcop.redhat.io/v1alpha1
kind: RandomSecret
metadata:
  name: cache
  namespace: ${ns_app}
  labels:
    app.kubernetes.io/part-of: ${platform_name}
spec:
  connection:
    address: ${vault_address}
  authentication:
    path: ${vault_auth_path}
    role: ${vault_config_operator_role}
    serviceAccount:
      name: ${vault_config_operator_sa}
  isKVSecretsEngineV2: true
  path: ${vault_kv2_mount}/data/${vault_app_kv_path}
  secretKey: password
  secretFormat:
    passwordPolicyName: ${vault_password_policy}
"""
# Step 5: the VSO object of the new secret.
VSO_OBJECT = """
---
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata:
  name: ${app_name}-cache
  namespace: ${ns_app}
  labels:
    app.kubernetes.io/part-of: ${platform_name}
spec:
  type: kv-v2
  mount: ${vault_kv2_mount}
  path: ${vault_app_kv_path}/cache
  refreshAfter: 1h
  destination:
    name: ${app_name}-cache
    create: true
  rolloutRestartTargets:
    - kind: Deployment
      name: ${app_name}
"""
# Step 7: the connection the app needs.
NETWORK_POLICY = """
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-cache-from-app
  namespace: ${ns_app}
spec:
  podSelector:
    matchLabels: {app.kubernetes.io/name: cache}
  policyTypes: [Ingress]
  ingress:
    - from:
        - podSelector:
            matchLabels:
              app.kubernetes.io/name: ${app_name}
      ports:
        - port: 6379
          protocol: TCP
"""
CACHE_IMAGE = "docker.io/library/redis:7.4.1"


def cache_variables(_settings: Settings) -> dict[str, str]:
    """Step 2."""
    return {"cache_image": CACHE_IMAGE}


def with_cache_source(original):
    """Step 4: one more AppSecretSource."""

    def sources(settings: Settings) -> tuple[app_secrets.AppSecretSource, ...]:
        folder = names.app_kv_path(settings)
        cache = app_secrets.AppSecretSource(
            "cache",
            f"{names.KV_V2_MOUNT}/data/{folder}/cache",
            (app_secrets.SecretFile("password", "cache-password"),),
        )
        return (*original(settings), cache)

    return sources


def recipe_layers() -> tuple[Layer, ...]:
    """Step 3: the new Layer before `app`, and `app` waits for it."""
    result: list[Layer] = []
    for layer in layers.LAYERS:
        if layer.name == "app":
            result.append(Layer("cache", depends_on=("vault-config",), variables=cache_variables))
            layer = Layer(layer.name, (*layer.depends_on, "cache"), layer.bootstrap, layer.enabled, layer.variables)
        result.append(layer)
    return tuple(result)


def follow_the_recipe(repo: Path) -> None:
    gitops = repo / "manifests" / "gitops"
    (gitops / "cache").mkdir()
    (gitops / "cache" / "cache.yaml").write_text(CACHE_YAML)  # 1
    with (gitops / "app-vso" / "secrets.yaml").open("a") as file:  # 5
        file.write(VSO_OBJECT)
    config = gitops / "app" / "config.yaml"  # 6
    config.write_text(
        config.read_text().replace(
            "  HASHING_SECRET_FILE: /mnt/secrets/hashing-secret\n",
            "  HASHING_SECRET_FILE: /mnt/secrets/hashing-secret\n  CACHE_PASSWORD_FILE: /mnt/secrets/cache-password\n",
        )
    )
    with (gitops.parent / "bootstrap" / "network-policies" / "common" / "app.yaml").open("a") as file:  # 7
        file.write(NETWORK_POLICY)


@pytest.fixture(scope="module", params=("vso", "csi"))
def runs(request, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, ProgramRun, ProgramRun]:
    repo = tmp_path_factory.mktemp("recipe") / "repo"
    shutil.copytree(REPO / "manifests", repo / "manifests")
    follow_the_recipe(repo)
    mode = request.param
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(layers, "MANIFESTS_DIR", repo / "manifests")
        patch.setattr(layers, "LAYERS", recipe_layers())
        patch.setattr(var, "app_secret_sources", with_cache_source(var.app_secret_sources))
        patch.setattr(policies, "app_secret_sources", with_cache_source(policies.app_secret_sources))
        config = {"app": {"secretsDelivery": mode}}
        remote = run_stack("remote", config)
        # On the remote stack's kind of cluster (an existing one, not the local default kind cluster); the local
        # stack copies the app's images in (app.imageSource) where the remote stack's CI pushes them.
        local_config = {
            **stack_config("remote"),
            "mode": "local",
            "kubernetes": {"cluster": {"create": False}},
            "app": {"secretsDelivery": mode, **IMAGE_SOURCE},
        }
        local = run_stack("local", local_config, replace=True)
    return mode, repo, remote, local


def objects_of(run: ProgramRun, group: str) -> list[dict[str, Any]]:
    return run.named(group, "kubernetes:yaml/v2:ConfigGroup").inputs["objs"]


def secrets_volume(run: ProgramRun, mode: str) -> dict[str, Any]:
    deployment = next(o for o in objects_of(run, f"app-{mode}") if o["kind"] == "Deployment")
    return next(v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == "secrets")


def test_the_app_receives_the_new_file(runs):
    mode, _repo, _remote, local = runs
    if mode == "vso":
        sources = secrets_volume(local, mode)["projected"]["sources"]
        assert {"name": "sms-proxy-cache", "items": [{"key": "password", "path": "cache-password"}]} in [
            s["secret"] for s in sources
        ]
    else:
        spc = next(o for o in objects_of(local, "app-csi") if o["kind"] == "SecretProviderClass")
        objects = yaml.safe_load(spc["spec"]["parameters"]["objects"])
        assert {"objectName": "cache-password", "secretPath": "kv2/data/sms-proxy/cache", "secretKey": "password"} in (
            objects
        )
        csi_policy = next(
            r for r in local.of_type("vault:index/policy:Policy") if r.inputs["name"] == "app-secrets-csi"
        )
        assert 'path "kv2/data/sms-proxy/cache"' in csi_policy.inputs["policy"]
    config = next(o for o in objects_of(local, "app") if o["metadata"]["name"] == "sms-proxy-config")
    assert config["data"]["CACHE_PASSWORD_FILE"] == "/mnt/secrets/cache-password"


def test_the_layer_is_applied_before_the_app_and_everything_is_valid(runs):
    _mode, _repo, _remote, local = runs
    cache, app = (
        local.named("cache", "kubernetes:yaml/v2:ConfigGroup"),
        local.named("app", "kubernetes:yaml/v2:ConfigGroup"),
    )
    assert cache.urn in app.dependencies
    for obj in objects_of(local, "cache"):
        validate_object(obj)


def test_flux_syncs_the_new_directory_with_parity(runs):
    _mode, repo, remote, local = runs
    kustomizations = {k["metadata"]["name"]: k for k in flux_parity.kustomizations(remote)}
    assert kustomizations["cache"]["spec"]["path"] == "./manifests/gitops/cache"
    assert flux_parity.parity_problems(remote, local, repo) == []
