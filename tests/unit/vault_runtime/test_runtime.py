"""How the program wires init -> unseal -> bootstrap -> pulumi-vault (mock runs), and the provider tunnel."""

from __future__ import annotations

import json
from pathlib import Path

from pulumi.runtime.mocks import MockResourceArgs

from components.settings.load import load_settings
from components.vault_runtime import tunnel
from components.vault_runtime.admin_policy import admin_policy_for as admin_policy
from components.vault_runtime.admin_policy import assert_least_privilege
from tests.fixtures.config import FakeConfig
from tests.fixtures.vault_placement import SEPARATE
from tests.harness.dependencies import waits_for
from tests.harness.program import PlatformMocks, ProgramRun, run_stack

pytest_plugins = ["tests.fixtures.openbao"]

INIT, UNSEAL, BOOT = (
    "pulumi-python:dynamic/vault:Init",
    "pulumi-python:dynamic/vault:Unseal",
    "pulumi-python:dynamic/vault:Bootstrap",
)


def test_steps_run_in_order_after_the_release(stack_run: ProgramRun):
    init, unseal, boot = (stack_run.of_type(t)[0] for t in (INIT, UNSEAL, BOOT))
    release = next(r for r in stack_run.of_type("kubernetes:helm.sh/v3:Release") if r.name == "vault")
    assert release.urn in init.dependencies
    assert init.urn in unseal.dependencies
    assert unseal.urn in boot.dependencies
    provider = stack_run.named("vault", "pulumi:providers:vault")
    assert boot.urn in provider.dependencies


def test_init_is_protected_and_its_keys_are_secret_outputs(stack_run: ProgramRun):
    init = stack_run.of_type(INIT)[0]
    assert init.protect
    assert {"keys", "keys_b64", "root_token"} <= set(init.additional_secret_outputs)
    boot = stack_run.of_type(BOOT)[0]
    assert "secret_id" in boot.additional_secret_outputs


def test_unseal_keys_and_root_token_travel_as_secrets(stack_run: ProgramRun):
    assert stack_run.of_type(UNSEAL)[0].is_secret("keys")
    assert stack_run.of_type(BOOT)[0].is_secret("root_token")


def test_vault_resources_use_the_approle_provider_never_a_token(stack_run: ProgramRun):
    provider = stack_run.named("vault", "pulumi:providers:vault")
    assert "token" not in provider.inputs
    assert provider.inputs["skipChildToken"] in (True, "true")
    login = provider.inputs["authLogin"]
    login = json.loads(login) if isinstance(login, str) else login
    assert login["path"] == "auth/approle/login"
    assert provider.inputs["address"] == "https://127.0.0.1:18200"
    vault_resources = [r for r in stack_run.registrations if r.type.startswith("vault:")]
    assert vault_resources and all(r.provider.split("::")[-2:][0] == "vault" for r in vault_resources)


def test_what_logs_in_to_vault_waits_for_the_configured_vault(stack_run: ProgramRun):
    """The layers whose workloads log in to Vault wait for the bootstrap and the roles. The operators' releases
    do not: both controllers start without Vault and retry per object (issue 14's dependency graph)."""
    boot = stack_run.of_type(BOOT)[0]
    role = stack_run.named("role-vault-operator")
    if stack_run.stack == "local":
        dependents = [stack_run.named(n, "kubernetes:yaml/v2:ConfigGroup") for n in ("app-vso", "migrations")]
    else:
        dependents = [
            r
            for r in stack_run.of_type("kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization")
            if r.inputs["metadata"]["name"] in ("app-vso", "migrations")
        ]
    assert len(dependents) == 2
    for dependent in dependents:
        assert waits_for(stack_run, dependent, boot) and waits_for(stack_run, dependent, role), dependent.name


def test_pgp_shares_unseal_with_the_supplied_decrypted_keys():
    run = run_stack(
        "local",
        {"vault": {"keyShares": 2, "keyThreshold": 2, "pgpKeys": ["a2V5MQ==", "a2V5Mg=="]}},
        secrets={"vaultUnsealKeys": '["s1", "s2"]'},
    )
    unseal = run.of_type(UNSEAL)[0]
    assert unseal.inputs["keys"] == '["s1", "s2"]' and unseal.is_secret("keys")
    assert run.of_type(INIT)[0].inputs["pgp_keys"] == ["a2V5MQ==", "a2V5Mg=="]


def test_pgp_shares_without_config_are_asked_for_on_demand():
    run = run_stack("local", {"vault": {"keyShares": 2, "keyThreshold": 2, "pgpKeys": ["a2V5MQ==", "a2V5Mg=="]}})
    unseal = run.of_type(UNSEAL)[0]
    assert unseal.inputs["keys"] == [] and unseal.inputs["shares_on_demand"] is True
    assert unseal.inputs["auto_unseal"] is False and unseal.inputs["live_check"] is True  # mocks: not a preview


def test_an_auto_unseal_seal_inits_with_recovery_keys_and_unseals_with_none():
    seal = {
        "type": "transit",
        "transit": {
            "address": "https://t.example.com:8200",
            "keyName": "k",
            "tlsCaCert": "-----BEGIN CERTIFICATE-----",
        },
    }
    run = run_stack("remote", {"vault": {"seal": seal}}, secrets={"vaultSealToken": "seal-token"})
    init, unseal = run.of_type(INIT)[0], run.of_type(UNSEAL)[0]
    assert init.inputs["auto_unseal"] is True and {"recovery_keys", "recovery_keys_b64"} <= set(
        init.additional_secret_outputs
    )
    assert unseal.inputs["auto_unseal"] is True and unseal.inputs["keys"] == []
    assert unseal.inputs["shares_on_demand"] is False
    shamir = run_stack("remote").of_type(UNSEAL)[0]
    assert shamir.inputs["auto_unseal"] is False and shamir.inputs["keys"] != []


def test_encrypted_root_token_keeps_the_bootstrap_registered_with_or_without_a_decrypted_one():
    """Removing vaultRootToken once bootstrap ran must not drop the bootstrap (and with it every pulumi-vault
    resource): it stays registered, with init's (encrypted) token, which its diff never looks at."""
    run = run_stack("local", {"vault": {"rootTokenPgpKey": "a2V5"}})
    assert run.of_type(INIT) and run.of_type(UNSEAL)
    assert run.of_type(BOOT) and [r for r in run.registrations if r.type.startswith("vault:")]
    with_token = run_stack("local", {"vault": {"rootTokenPgpKey": "a2V5"}}, secrets={"vaultRootToken": "t"})
    assert with_token.of_type(BOOT)[0].inputs["root_token"] == "t"


ELSEWHERE = "/home/other/.local/state/platform-kind/platform"


class ClusterCreatedElsewhere(PlatformMocks):
    """The kind cluster's state as recorded by a run from another shell ($HOME / $XDG_STATE_HOME elsewhere)."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict]:
        resource_id, outputs = super().new_resource(args)
        if args.name == "kind-cluster":
            outputs = {**outputs, "state_dir": ELSEWHERE}
        return resource_id, outputs


def test_kubectl_reaches_the_kind_cluster_through_the_directory_it_was_created_with():
    # state_dir is no replace trigger (a run from another shell keeps the cluster), so every kubectl the program
    # starts must use the kubeconfig where that cluster's files are, not one under this shell's $HOME.
    run = run_stack("local", mocks=ClusterCreatedElsewhere())
    expected = f"{ELSEWHERE}/kubeconfig"
    assert run.named("kind-cluster").inputs["state_dir"] != ELSEWHERE  # this shell's directory, as registered
    for step in (INIT, UNSEAL, BOOT):
        (registration,) = run.of_type(step)
        assert registration.inputs["connection"]["kubeconfig"] == expected, step
        assert registration.inputs["connection"]["kube_context"] == "kind-platform"
    images = run.of_type("pulumi-python:dynamic/registry:Image")
    assert images and all(image.inputs["kubeconfig"] == expected for image in images)


def test_a_named_context_or_vaults_own_cluster_is_reached_by_context():
    run = run_stack("local", {"kubernetes": {"context": "prod", "cluster": {"create": False}}})
    assert run.of_type(INIT)[0].inputs["connection"]["kube_context"] == "prod"
    assert "kubeconfig" not in run.of_type(INIT)[0].inputs["connection"]
    separate = run_stack("local", SEPARATE)
    assert separate.of_type(INIT)[0].inputs["connection"]["kube_context"] == "vault-cluster"


def test_admin_policy_covers_both_pulumi_written_kv_entries_and_stays_least_privilege():
    hcl = admin_policy(load_settings(FakeConfig({}), "local"))
    assert_least_privilege(hcl)
    assert 'path "kv/sms-proxy/s3-registry"' in hcl and 'path "kv/sms-proxy/registry-password"' in hcl


def test_ca_file_is_private(tmp_path: Path):
    path = tmp_path / ".vault" / "local-ca.pem"
    tunnel.write_ca_file(path, "-----BEGIN CERTIFICATE-----\n")
    assert path.read_text().startswith("-----BEGIN")
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_csi_mode_gives_the_app_its_own_role_and_policy():
    run = run_stack("local", {"app": {"secretsDelivery": "csi"}})
    role = run.named("role-sms-proxy")
    assert role.inputs["boundServiceAccountNames"] == ["sms-proxy"]
    assert role.inputs["boundServiceAccountNamespaces"] == ["sms-proxy"]
    assert role.inputs["tokenPolicies"] == ["app-secrets-csi"]
    policy = run.named("policy-app-secrets-csi")
    assert 'path "postgresql/creds/app"' in policy.inputs["policy"]
    assert not [r for r in run_stack("local").registrations if r.name == "role-sms-proxy"]


def test_kubernetes_auth_follows_where_vault_runs(stack_run: ProgramRun):
    same = stack_run.named("kubernetes", "vault:kubernetes/authBackendConfig:AuthBackendConfig")
    assert same.inputs["kubernetesHost"] == "https://kubernetes.default.svc:443"
    assert not same.inputs.get("tokenReviewerJwt") and same.inputs.get("disableLocalCaJwt") in (False, None)


def test_vault_in_a_second_cluster_reviews_tokens_of_the_app_cluster():
    from tests.fixtures.vault_placement import APP_API, SEPARATE

    run = run_stack("local", SEPARATE)
    config = run.named("kubernetes", "vault:kubernetes/authBackendConfig:AuthBackendConfig")
    assert config.inputs["kubernetesHost"] == APP_API
    assert config.inputs["disableLocalCaJwt"] is True
    assert "tokenReviewerJwt" in config.inputs and config.is_secret("tokenReviewerJwt")
