"""The platform's guardrails as pulumi-policy resource policies, plus the pure checks they run.

Every check is a pure function over plain dicts (one Kubernetes object, Helm values, a Vault policy
document) returning problem strings, so tests can call them directly; the `ResourceValidationPolicy`
objects at the bottom only find the objects in a resource's inputs and report the problems.

Where objects come from: typed Kubernetes resources (`kubernetes:apps/v1:Deployment`, their inputs are
the object), custom resources, and the `objs` of `kubernetes:yaml/v2:ConfigGroup` (the program applies
every manifest layer that way, so each object is an input the engine passes to this pack).

How secret inputs reach a policy (pulumi-policy 1.21.0, Python): the engine sends secret values wrapped,
but `validate` callbacks get them already unwrapped (Analyze deserialises without `proxy_secrets`), so a
validation cannot tell a Pulumi secret from plaintext. Remediations get the wrapped form
(`pulumi_policy.Secret`). The Secret-values policy is therefore a remediation: it wraps every plaintext
Secret value in a Pulumi secret before the engine stores or shows it, and the preview lists the
remediation so the offending code is visible.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Secret,
)
from pulumi_policy.proxy import (
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
)

CONFIG_GROUP = "kubernetes:yaml/v2:ConfigGroup"
# Resource types whose objects a policy cannot see (file paths or YAML text resolved by the provider).
OPAQUE_MANIFEST_TYPES = {
    "kubernetes:yaml:ConfigFile",
    "kubernetes:yaml:ConfigGroup",
    "kubernetes:yaml/v2:ConfigFile",
    "kubernetes:helm.sh/v4:Chart",
    "kubernetes:kustomize:Directory",
    "kubernetes:kustomize/v2:Directory",
}
HELM_RELEASE_TYPES = {"kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart"}
VAULT_POLICY_TYPE = "vault:index/policy:Policy"
UNKNOWNS = {
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
}

# Where each workload kind keeps its pod spec.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
CORE_API_VERSIONS = {"v1", "apps/v1", "batch/v1"}


# --- reading policy inputs -------------------------------------------------------------------------


def reveal(value: Any) -> Any:
    """Plain dicts/lists from pulumi-policy's proxies, keeping `Secret` markers (remediation inputs carry
    them; validation inputs never do). Never raises on unknown values: they stay sentinel strings."""
    if isinstance(value, Secret):
        return Secret(reveal(value.value))
    if isinstance(value, Mapping):
        target = _target(value)
        return {k: reveal(target[k]) for k in target}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        target = _target(value)
        return [reveal(item) for item in target]
    return value


def _target(proxy: Any) -> Any:
    # pulumi-policy's proxies expose their wrapped container under the "__target" key.
    if isinstance(proxy, dict | list):
        return proxy
    try:
        return proxy["__target"]
    except (KeyError, IndexError, TypeError):
        return list(proxy) if isinstance(proxy, Sequence) else dict(proxy)


def plain(value: Any) -> Any:
    """`reveal` without the secret markers: what a validation reasons about."""
    value = reveal(value)

    def strip(item: Any) -> Any:
        if isinstance(item, Secret):
            return strip(item.value)
        if isinstance(item, dict):
            return {k: strip(v) for k, v in item.items()}
        if isinstance(item, list):
            return [strip(v) for v in item]
        return item

    return strip(value)


def is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value in UNKNOWNS


def kubernetes_objects(resource_type: str, props: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The Kubernetes objects a resource applies, as plain dicts (secret markers kept)."""
    if resource_type == CONFIG_GROUP:
        objs = props.get("objs")
        return [o for o in (objs if isinstance(objs, list) else []) if isinstance(o, dict)]
    if not resource_type.startswith("kubernetes:") or resource_type.startswith("kubernetes:helm.sh/"):
        return []
    if resource_type in OPAQUE_MANIFEST_TYPES or resource_type.startswith("pulumi:providers:"):
        return []
    obj = dict(props)
    # Typed resources always carry apiVersion/kind; derive them from the type token if not.
    _, module_version, kind = resource_type.split(":", 2)
    obj.setdefault("kind", kind)
    obj.setdefault("apiVersion", module_version.replace("core/", "", 1))
    return [obj]


def _get(obj: Any, *path: str) -> Any:
    for step in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(step)
    return obj


def describe(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    where = f"{meta.get('namespace')}/" if isinstance(meta, dict) and meta.get("namespace") else ""
    name = meta.get("name") if isinstance(meta, dict) else None
    return f"{obj.get('kind')} {where}{name}"


def pod_spec(obj: Mapping[str, Any]) -> dict[str, Any] | None:
    path = POD_SPEC_PATHS.get(str(obj.get("kind")))
    spec = _get(obj, *path) if path else None
    return spec if isinstance(spec, dict) else None


def containers(spec: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for field in ("initContainers", "containers"):
        for container in spec.get(field) or []:
            if isinstance(container, dict):
                yield container


# --- pure checks -----------------------------------------------------------------------------------


def container_problems(obj: Mapping[str, Any]) -> list[str]:
    """Every container of a workload has CPU and memory limits and a restrictive securityContext:
    non-root, no privilege escalation, read-only root filesystem, all capabilities dropped."""
    spec = pod_spec(obj)
    if spec is None:
        return []
    pod_context = spec.get("securityContext") or {}
    problems = []
    for container in containers(spec):
        where = f"{describe(obj)} container {container.get('name')}"
        limits = _get(container, "resources", "limits") or {}
        missing = [r for r in ("cpu", "memory") if not (isinstance(limits, dict) and limits.get(r))]
        if missing:
            problems.append(f"{where}: no resources.limits.{'/'.join(missing)}")
        context = container.get("securityContext") or {}
        non_root = context.get("runAsNonRoot", pod_context.get("runAsNonRoot"))
        if non_root is not True and not is_unknown(non_root):
            problems.append(f"{where}: securityContext.runAsNonRoot must be true (container or pod)")
        if context.get("privileged") is True:
            problems.append(f"{where}: securityContext.privileged must not be true")
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: securityContext.allowPrivilegeEscalation must be false")
        if context.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{where}: securityContext.readOnlyRootFilesystem must be true")
        drop = _get(context, "capabilities", "drop") or []
        if "ALL" not in drop:
            problems.append(f"{where}: securityContext.capabilities.drop must include ALL")
    return problems


_DIGEST = re.compile(r"@sha256:[a-f0-9]{64}$")


def image_problem(image: Any) -> str | None:
    """None when the reference is pinned: a digest, or a tag that is not `latest`."""
    if not isinstance(image, str) or is_unknown(image) or _DIGEST.search(image):
        return None
    if not image:
        return "empty image reference"
    last = image.rsplit("/", 1)[-1]  # a registry port (`host:5000/x`) is not a tag
    if ":" not in last:
        return f"image {image!r} has no tag (pin a version or a digest)"
    if last.rsplit(":", 1)[1] in ("", "latest"):
        return f"image {image!r} uses the mutable tag 'latest'"
    return None


def image_problems(obj: Mapping[str, Any]) -> list[str]:
    spec = pod_spec(obj)
    if spec is None:
        return []
    problems = []
    for container in containers(spec):
        problem = image_problem(container.get("image"))
        if problem:
            problems.append(f"{describe(obj)} container {container.get('name')}: {problem}")
    return problems


def helm_values_image_problems(values: Any, path: str = "values") -> list[str]:
    """Image settings in Helm values: a `tag` under an `image`-like key is never `latest` (empty means the
    chart's own pinned appVersion), and a full reference string under an `image` key is pinned."""
    problems: list[str] = []
    if isinstance(values, dict):
        for key, value in values.items():
            where = f"{path}.{key}"
            imageish = "image" in str(key).lower()
            if imageish and isinstance(value, dict):
                tag = value.get("tag")
                if isinstance(tag, str) and tag.strip().lower() == "latest":
                    problems.append(f"{where}.tag: the mutable tag 'latest'")
            elif (key == "image" or str(key).endswith("Image")) and isinstance(value, str) and value:
                problem = image_problem(value)
                if problem:
                    problems.append(f"{where}: {problem}")
            problems.extend(helm_values_image_problems(value, where))
    elif isinstance(values, list):
        for index, item in enumerate(values):
            problems.extend(helm_values_image_problems(item, f"{path}[{index}]"))
    return problems


def cluster_admin_problems(obj: Mapping[str, Any]) -> list[str]:
    if obj.get("kind") not in ("RoleBinding", "ClusterRoleBinding"):
        return []
    role = obj.get("roleRef") or {}
    if isinstance(role, dict) and role.get("kind") == "ClusterRole" and role.get("name") == "cluster-admin":
        return [f"{describe(obj)} binds cluster-admin; grant a narrow ClusterRole instead"]
    return []


def plaintext_secret_values(obj: Any) -> list[str]:
    """Paths of `data`/`stringData` values of a Kubernetes Secret that are not Pulumi secrets. `obj` is the
    remediation view: Pulumi secrets appear as `Secret` markers at any level."""
    if isinstance(obj, Secret) or not isinstance(obj, dict) or obj.get("kind") != "Secret":
        return []
    if str(obj.get("apiVersion", "v1")) != "v1":
        return []
    paths = []
    for field in ("data", "stringData"):
        values = obj.get(field)
        if isinstance(values, Secret) or not isinstance(values, dict):
            continue
        paths.extend(f"{field}.{key}" for key, value in values.items() if not isinstance(value, Secret))
    return paths


def wrap_plaintext_secret_values(obj: dict[str, Any]) -> dict[str, Any]:
    """The same Secret object with every plaintext data/stringData value wrapped as a Pulumi secret."""
    fixed = dict(obj)
    for field in ("data", "stringData"):
        values = fixed.get(field)
        if isinstance(values, dict):
            fixed[field] = {k: v if isinstance(v, Secret) else Secret(v) for k, v in values.items()}
    return fixed


_PATH_BLOCK = re.compile(r'path\s+"([^"]+)"\s*\{')
_CAPABILITIES = re.compile(r"capabilities\s*=\s*\[([^\]]*)\]")


def vault_policy_rules(document: str) -> dict[str, list[str]]:
    """Path -> capabilities of a Vault ACL policy in HCL or JSON."""
    text = document.strip()
    if text.startswith("{"):
        parsed = json.loads(text)
        paths = parsed.get("path") or {}
        return {p: list((rule or {}).get("capabilities") or []) for p, rule in paths.items()}
    text = re.sub(r"(?m)^\s*(#|//).*$", "", text)
    rules: dict[str, list[str]] = {}
    for match in _PATH_BLOCK.finditer(text):
        depth, index = 1, match.end()
        while index < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[index], 0)
            index += 1
        body = text[match.end() : index - 1]
        found = _CAPABILITIES.search(body)
        capabilities = re.findall(r'"([^"]*)"', found.group(1)) if found else []
        rules.setdefault(match.group(1), []).extend(capabilities)
    return rules


def vault_policy_problems(document: Any, name: str = "policy") -> list[str]:
    """No glob (`*`) path may carry `sudo`: that is root-equivalent over everything the glob matches."""
    if not isinstance(document, str) or is_unknown(document):
        return []
    try:
        rules = vault_policy_rules(document)
    except (ValueError, AttributeError) as error:
        return [f"Vault policy {name}: cannot be parsed ({error})"]
    return [
        f"Vault policy {name}: path {path!r} grants sudo through a '*' glob"
        for path, capabilities in rules.items()
        if "*" in path and "sudo" in capabilities
    ]


def vault_policy_documents(resource_type: str, props: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(name, HCL) of pulumi-vault policies and vault-config-operator `Policy` objects."""
    if resource_type == VAULT_POLICY_TYPE:
        return [(str(props.get("name")), props.get("policy"))]
    return [
        (describe(obj), _get(obj, "spec", "policy"))
        for obj in kubernetes_objects(resource_type, props)
        if obj.get("kind") == "Policy" and str(obj.get("apiVersion", "")).startswith("redhatcop.redhat.io/")
    ]


# --- policies --------------------------------------------------------------------------------------


def _object_validation(check: Callable[[Mapping[str, Any]], list[str]]):
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for obj in kubernetes_objects(args.resource_type, plain(args.props)):
            for problem in check(obj):
                report_violation(problem, None)

    return validate


def _validate_helm_images(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type in HELM_RELEASE_TYPES:
        for problem in helm_values_image_problems(plain(args.props).get("values") or {}):
            report_violation(problem, None)


def _validate_images(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    _object_validation(image_problems)(args, report_violation)
    _validate_helm_images(args, report_violation)


def _validate_vault_policies(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    for name, document in vault_policy_documents(args.resource_type, plain(args.props)):
        for problem in vault_policy_problems(document, name):
            report_violation(problem, None)


def _remediate_secret_values(args: ResourceValidationArgs) -> dict[str, Any] | None:
    props = reveal(args.props)
    if args.resource_type == CONFIG_GROUP:
        objs = props.get("objs")
        if not isinstance(objs, list) or not any(plaintext_secret_values(o) for o in objs):
            return None
        props["objs"] = [wrap_plaintext_secret_values(o) if plaintext_secret_values(o) else o for o in objs]
        return props
    (obj,) = kubernetes_objects(args.resource_type, props) or [None]
    if obj is None or not plaintext_secret_values(obj):
        return None
    fixed = wrap_plaintext_secret_values(obj)
    return {k: fixed[k] for k in props}


containers_hardened = ResourceValidationPolicy(
    name="containers-limits-and-security-context",
    description="Containers have CPU/memory limits and run non-root, without privilege escalation, "
    "with a read-only root filesystem and all capabilities dropped.",
    validate=_object_validation(container_problems),
)
images_pinned = ResourceValidationPolicy(
    name="images-pinned",
    description="Container images and Helm image tags are pinned: a version tag or digest, never 'latest'.",
    validate=_validate_images,
)
no_cluster_admin = ResourceValidationPolicy(
    name="no-cluster-admin-binding",
    description="No RoleBinding or ClusterRoleBinding grants cluster-admin.",
    validate=_object_validation(cluster_admin_problems),
)
vault_no_glob_sudo = ResourceValidationPolicy(
    name="vault-policy-no-glob-sudo",
    description="Vault policies grant sudo on no path containing a '*' glob.",
    validate=_validate_vault_policies,
)
secret_values_are_secrets = ResourceValidationPolicy(
    name="secret-values-are-pulumi-secrets",
    description="Every data/stringData value of a Kubernetes Secret is a Pulumi secret; plaintext values "
    "are wrapped as secrets before the engine stores them (a remediation: validations cannot see "
    "secret-ness in pulumi-policy's Python SDK).",
    remediate=_remediate_secret_values,
    enforcement_level=EnforcementLevel.REMEDIATE,
)

POLICIES: list[ResourceValidationPolicy] = [
    containers_hardened,
    images_pinned,
    no_cluster_admin,
    vault_no_glob_sudo,
    secret_values_are_secrets,
]
