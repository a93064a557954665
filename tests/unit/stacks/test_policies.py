"""The policy pack (policy/): each policy against violating and compliant inputs, through the same
servicer `pulumi preview --policy-pack policy` talks to, and over every registration of both stacks."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from policy import platform_policies as pp
from tests.harness.policy_engine import evaluate, evaluate_registration, request
from tests.harness.program import REPO, ProgramRun

SECURE_CONTEXT = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}
LIMITS = {"limits": {"cpu": "500m", "memory": "256Mi"}}


def container(**overrides) -> dict:
    return {
        "name": "app",
        "image": "registry.local/app:1.2.3",
        "resources": LIMITS,
        "securityContext": SECURE_CONTEXT,
    } | overrides


def deployment(*containers: dict, pod_context: dict | None = None) -> dict:
    spec = {"containers": list(containers)}
    if pod_context is not None:
        spec["securityContext"] = pod_context
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "app", "namespace": "sms-proxy"},
        "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": {"spec": spec}},
    }


def messages(findings) -> list[str]:
    return [message for _, message in findings.violations]


# --- containers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (container(resources={}), "no resources.limits.cpu/memory"),
        (container(resources={"limits": {"memory": "1Gi"}}), "no resources.limits.cpu"),
        (container(securityContext={**SECURE_CONTEXT, "runAsNonRoot": False}), "runAsNonRoot"),
        ({k: v for k, v in container().items() if k != "securityContext"}, "allowPrivilegeEscalation"),
        (container(securityContext={**SECURE_CONTEXT, "allowPrivilegeEscalation": True}), "allowPrivilegeEscalation"),
        (container(securityContext={**SECURE_CONTEXT, "readOnlyRootFilesystem": False}), "readOnlyRootFilesystem"),
        (container(securityContext={**SECURE_CONTEXT, "capabilities": {"drop": ["NET_RAW"]}}), "drop must include ALL"),
        (container(securityContext={**SECURE_CONTEXT, "privileged": True}), "privileged"),
    ],
)
def test_container_policy_rejects(bad, expected):
    findings = evaluate([pp.containers_hardened], request("kubernetes:apps/v1:Deployment", deployment(bad)))
    assert any(expected in m for m in messages(findings)), messages(findings)


def test_container_policy_accepts_hardened_workloads_of_every_kind():
    pod_non_root = {k: v for k, v in SECURE_CONTEXT.items() if k != "runAsNonRoot"}
    objects = [
        deployment(container()),
        deployment(container(securityContext=pod_non_root), pod_context={"runAsNonRoot": True}),
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [container()]}},
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "c"},
            "spec": {
                "schedule": "* * * * *",
                "jobTemplate": {"spec": {"template": {"spec": {"containers": [container()]}}}},
            },
        },
    ]
    for obj in objects:
        resource_type = f"kubernetes:{'core/' if obj['apiVersion'] == 'v1' else ''}{obj['apiVersion']}:{obj['kind']}"
        assert evaluate([pp.containers_hardened], request(resource_type, obj)).clean


@pytest.mark.parametrize("kind", ["StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"])
def test_container_policy_covers_each_workload_kind_and_init_containers(kind):
    weak = container(resources={})
    pod = {"initContainers": [weak], "containers": [container()]}
    spec = {
        "Pod": pod,
        "CronJob": {"schedule": "@daily", "jobTemplate": {"spec": {"template": {"spec": pod}}}},
    }.get(kind, {"template": {"spec": pod}})
    obj = {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "w"}, "spec": spec}
    assert any("no resources.limits" in p for p in pp.container_problems(obj))


def test_container_policy_reads_config_group_objects():
    objs = [deployment(container()), deployment(container(resources={}))]
    findings = evaluate([pp.containers_hardened], request("kubernetes:yaml/v2:ConfigGroup", {"objs": objs}))
    assert messages(findings) and all("no resources.limits" in m for m in messages(findings))


# --- images ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "pinned"),
    [
        ("registry.local/app:1.2.3", True),
        ("registry.local:5000/app:1.2.3", True),
        ("ghcr.io/x/y@sha256:" + "a" * 64, True),
        ("nginx", False),
        ("registry.local:5000/app", False),
        ("nginx:latest", False),
        ("nginx:", False),
    ],
)
def test_image_pinning(image, pinned):
    findings = evaluate(
        [pp.images_pinned], request("kubernetes:apps/v1:Deployment", deployment(container(image=image)))
    )
    assert findings.clean == pinned, messages(findings)


@pytest.mark.parametrize(
    ("values", "pinned"),
    [
        ({"server": {"image": {"repository": "hashicorp/vault", "tag": "1.20.0"}}}, True),
        ({"server": {"image": {"repository": "hashicorp/vault", "tag": ""}}}, True),  # chart's appVersion
        ({"image": {"tag": "latest"}}, False),
        ({"injector": {"agentImage": {"repository": "x", "tag": "latest"}}}, False),
        ({"sidecars": [{"image": "busybox"}]}, False),
        ({"sidecars": [{"image": "busybox:1.36"}], "imagePullPolicy": "IfNotPresent"}, True),
    ],
)
def test_helm_release_image_tags(values, pinned):
    findings = evaluate([pp.images_pinned], request("kubernetes:helm.sh/v3:Release", {"chart": "c", "values": values}))
    assert findings.clean == pinned, messages(findings)


# --- cluster-admin ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["ClusterRoleBinding", "RoleBinding"])
def test_no_binding_to_cluster_admin(kind):
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": {"name": "b", "namespace": "x"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "sa", "namespace": "x"}],
    }
    bad = evaluate([pp.no_cluster_admin], request(f"kubernetes:rbac.authorization.k8s.io/v1:{kind}", binding))
    assert any("cluster-admin" in m for m in messages(bad))
    binding["roleRef"]["name"] = "system:auth-delegator"
    assert evaluate([pp.no_cluster_admin], request(f"kubernetes:rbac.authorization.k8s.io/v1:{kind}", binding)).clean
    inside = {"objs": [{**binding, "roleRef": {**binding["roleRef"], "name": "cluster-admin"}}]}
    assert not evaluate([pp.no_cluster_admin], request("kubernetes:yaml/v2:ConfigGroup", inside)).clean


# --- Vault policies -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "allowed"),
    [
        ('path "*" {\n  capabilities = ["create", "read", "update", "delete", "list", "sudo"]\n}', False),
        ('path "sys/*" { capabilities = ["sudo", "read"] }', False),
        ('# path "*" { capabilities = ["sudo"] }\npath "kv2/data/app" { capabilities = ["read"] }', True),
        ('path "*" { capabilities = ["read", "list"] }', True),  # a glob without sudo is a different question
        ('path "sys/auth/kubernetes" { capabilities = ["create", "sudo"] }', True),
        (
            'path "auth/+/role/+" {\n  capabilities = ["read"]\n  allowed_parameters = { "x" = [] }\n}\n'
            'path "sys/leases/*" {\n  capabilities = ["sudo"]\n}',
            False,
        ),
        ('{"path": {"*": {"capabilities": ["sudo"]}}}', False),
        ('{"path": {"kv/app": {"capabilities": ["read"]}}}', True),
    ],
)
def test_vault_policy_no_sudo_on_globs(document, allowed):
    findings = evaluate([pp.vault_no_glob_sudo], request(pp.VAULT_POLICY_TYPE, {"name": "p", "policy": document}))
    assert findings.clean == allowed, messages(findings)


def test_vault_config_operator_policy_objects_are_checked_too():
    obj = {
        "apiVersion": "redhatcop.redhat.io/v1alpha1",
        "kind": "Policy",
        "metadata": {"name": "admin", "namespace": "vault"},
        "spec": {"policy": 'path "*" { capabilities = ["sudo"] }'},
    }
    assert not evaluate([pp.vault_no_glob_sudo], request("kubernetes:yaml/v2:ConfigGroup", {"objs": [obj]})).clean


# --- Secret values ------------------------------------------------------------------------------------

SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "x"}}


def test_validation_cannot_see_secretness_but_remediation_can():
    """Why the Secret policy is a remediation (pulumi-policy 1.21.0): `validate` gets secret values
    unwrapped, `remediate` gets `Secret` markers. If pulumi-policy changes this, revisit the policy."""
    seen: dict[str, object] = {}

    def validate(args, _report):
        seen["validate"] = pp.reveal(args.props)["stringData"]

    def remediate(args):
        seen["remediate"] = pp.reveal(args.props)["stringData"]

    probe = pp.ResourceValidationPolicy(
        name="probe",
        description="probe",
        validate=validate,
        remediate=remediate,
        enforcement_level=pp.EnforcementLevel.REMEDIATE,
    )
    evaluate(
        [probe],
        request("kubernetes:core/v1:Secret", {**SECRET, "stringData": {"k": "v"}}, secret_paths=["stringData.k"]),
    )
    assert seen["validate"] == {"k": "v"}
    assert isinstance(seen["remediate"]["k"], pp.Secret) and seen["remediate"]["k"].value == "v"


@pytest.mark.parametrize(
    ("inputs", "secret_paths", "plaintext"),
    [
        ({**SECRET, "stringData": {"a": "1", "b": "2"}}, ["stringData.a", "stringData.b"], []),
        ({**SECRET, "stringData": {"a": "1", "b": "2"}}, ["stringData"], []),
        ({**SECRET, "data": {"a": "MQ=="}}, [], ["data.a"]),
        ({**SECRET, "stringData": {"a": "1", "b": "2"}}, ["stringData.a"], ["stringData.b"]),
    ],
    ids=["per-value", "whole-field", "plaintext-data", "one-plaintext"],
)
def test_secret_values_must_be_pulumi_secrets(inputs, secret_paths, plaintext):
    findings = evaluate(
        [pp.secret_values_are_secrets], request("kubernetes:core/v1:Secret", inputs, secret_paths=secret_paths)
    )
    if not plaintext:
        assert findings.clean
        return
    ((policy, fixed),) = findings.remediations
    assert policy == "secret-values-are-pulumi-secrets"
    for path in plaintext:
        field, key = path.split(".")
        assert fixed[field][key]["value"] == inputs[field][key]  # now wrapped in the secret signature
        assert pp.plaintext_secret_values(pp.reveal(_decode(fixed))) == []


def test_plaintext_secret_inside_a_config_group_is_remediated():
    objs = [{**SECRET, "stringData": {"password": "hunter2"}}, deployment(container())]
    findings = evaluate([pp.secret_values_are_secrets], request("kubernetes:yaml/v2:ConfigGroup", {"objs": objs}))
    ((_, fixed),) = findings.remediations
    assert fixed["objs"][0]["stringData"]["password"]["value"] == "hunter2"
    assert fixed["objs"][1] == deployment(container())
    clean = evaluate(
        [pp.secret_values_are_secrets],
        request("kubernetes:yaml/v2:ConfigGroup", {"objs": objs}, secret_paths=["objs[0].stringData.password"]),
    )
    assert clean.clean


def _decode(props: dict) -> dict:
    """Engine-encoded props (secret signature dicts) back to `Secret` markers."""
    from pulumi_policy.deserialize import deserialize_properties

    return deserialize_properties(props, proxy_secrets=True)


def test_secret_policy_ignores_other_kinds():
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}}
    assert evaluate([pp.secret_values_are_secrets], request("kubernetes:core/v1:ConfigMap", config_map)).clean


# --- the pack itself and both stacks ----------------------------------------------------------------------


def test_policy_pack_folder_is_runnable_with_pulumi():
    folder = REPO / "policy"
    project = yaml.safe_load((folder / "PulumiPolicy.yaml").read_text())
    assert project["runtime"]["name"] == "python"
    assert "pulumi-policy==1.21.0" in (folder / "requirements.txt").read_text().split()
    main = (folder / "__main__.py").read_text()
    assert "PolicyPack(" in main and "POLICIES" in main
    assert {p.name for p in pp.POLICIES} == {
        "containers-limits-and-security-context",
        "images-pinned",
        "no-cluster-admin-binding",
        "vault-policy-no-glob-sudo",
        "secret-values-are-pulumi-secrets",
    }


def test_every_registration_of_both_stacks_complies(stack_run: ProgramRun):
    failures = []
    for registration in stack_run.registrations:
        findings = evaluate_registration(pp.POLICIES, registration)
        failures += [f"{registration.type} {registration.name}: {m}" for _, m in findings.violations]
        failures += [f"{registration.type} {registration.name}: remediated by {p}" for p, _ in findings.remediations]
    assert not failures, "\n".join(failures)


def test_a_violation_in_a_stack_would_be_found(stack_run: ProgramRun):
    """The stack-wide check is not vacuous: weaken one applied object and it fails."""
    groups = [r for r in stack_run.registrations if r.type == "kubernetes:yaml/v2:ConfigGroup" and r.inputs.get("objs")]
    assert groups
    registration = copy.deepcopy(groups[0])
    registration.inputs["objs"].append({**SECRET, "stringData": {"token": "plain"}})
    registration.inputs["objs"].append(deployment(container(image="nginx:latest")))
    findings = evaluate_registration(pp.POLICIES, registration)
    assert findings.remediations and any("latest" in m for m in messages(findings))


def test_policy_module_has_no_project_imports():
    """The pack runs in its own virtualenv (policy/venv): only pulumi-policy and the stdlib."""
    source = Path(pp.__file__).read_text()
    assert "from components" not in source and "import components" not in source


@pytest.mark.parametrize("stack", ["local", "remote"])
def test_stacks_with_external_services_and_csi_secrets_comply(stack):
    """Config that adds credentials (external S3/registry) and the CSI layer: still 0 findings."""
    from tests.fixtures.variants import LAYER_SWITCHES as VARIANTS
    from tests.harness.program import run_stack

    external, csi = VARIANTS["external-s3-and-registry"][0], VARIANTS["csi-secrets"][0]
    config = {**external, **csi, "app": {**external["app"], **csi["app"]}}
    run = run_stack(stack, config, VARIANTS["external-s3-and-registry"][1])
    failures = []
    for registration in run.registrations:
        findings = evaluate_registration(pp.POLICIES, registration)
        failures += [f"{registration.type} {registration.name}: {m}" for _, m in findings.violations]
        failures += [f"{registration.type} {registration.name}: remediated by {p}" for p, _ in findings.remediations]
    assert not failures, "\n".join(failures)
