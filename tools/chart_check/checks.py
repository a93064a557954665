"""The checks the program's own objects get, run over chart-rendered objects.

- Pod Security: each pod-bearing object against the level its namespace enforces (pod_security/);
  an object in a namespace nothing creates is a `namespace` finding.
- Schema: tests/harness/schemas.py (kubernetes-validate strict for built-in kinds, `$CRD_SCHEMA_DIR` for
  custom resources; a kind without a schema is a finding).
- Policy pack: policy/platform_policies.py, driven through tests/harness/policy_engine.py as the engine
  would for a `kubernetes:yaml/v2:ConfigGroup` holding the object. Violations only: the pack's one
  remediation wraps plaintext Secret values as Pulumi secrets, which means nothing for objects Helm applies.
- checkov: tests/harness/checkov.py (its own virtualenv), once over all objects of all releases.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tests.harness import checkov, policy_engine, schemas
from tools.chart_check import pod_security
from tools.chart_check.render import RenderedObject
from tools.chart_check.report import Finding, finding
from tools.chart_check.scope import NamespaceLevels

CONFIG_GROUP = "kubernetes:yaml/v2:ConfigGroup"
CHECKOV_MESSAGE = "failed (checkov's Kubernetes check of that id)"


def namespace_and_pod_security(item: RenderedObject, levels: NamespaceLevels) -> list[Finding]:
    """A missing namespace, or what Pod Security admission refuses in the object's pods."""
    namespace = (item.obj.get("metadata") or {}).get("namespace")
    if not namespace:
        return []
    enforced = levels.level(item.release.cluster, namespace)
    if enforced is None:
        message = f"namespace {namespace!r} is created neither by the program nor by a chart"
        return [finding(item.release, item.obj, "namespace", message)]
    level, minor = enforced
    return [
        finding(item.release, item.obj, f"pod-security/{level}:{v.check}", f"{v.message} [{item.template}]")
        for v in pod_security.violations(item.obj, level, minor)
    ]


def without_nulls(value: Any) -> Any:
    """The object as the API server stores it: a field set to null is a field not set (built-in kinds decode
    null as unset; custom resources prune nulls the schema does not mark nullable). Charts render
    `key: {{ .Values.unset }}` as `key: null` (vault-secrets-operator's default VaultAuth `spec.namespace`)."""
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def schema(item: RenderedObject) -> list[Finding]:
    """The object, as the API server would store it, against its upstream schema."""
    try:
        schemas.validate_object(without_nulls(item.obj))
    except AssertionError as error:  # SchemaMissing included: a kind without a schema is a failure
        return [finding(item.release, item.obj, "schema", f"{error} [{item.template}]")]
    return []


def policy(item: RenderedObject, policies: Sequence[object]) -> list[Finding]:
    """The policy pack's violations for the object."""
    name = f"{item.obj.get('kind')}-{(item.obj.get('metadata') or {}).get('name')}"
    request = policy_engine.request(CONFIG_GROUP, {"objs": [item.obj]}, name=name)
    result = policy_engine.evaluate(list(policies), request)
    # A diagnostic is "<policy description>\n<the violation>": the violation alone makes the line.
    return [
        finding(item.release, item.obj, f"policy:{name}", message.rsplit("\n", 1)[-1])
        for name, message in result.violations
    ]


def checkov_findings(items: Sequence[RenderedObject]) -> list[Finding]:
    """checkov once over every object; each failure reported for every object of that checkov name."""
    if not items:
        return []
    by_name: dict[str, list[RenderedObject]] = {}
    for item in items:
        by_name.setdefault(checkov.resource_name(item.obj), []).append(item)
    found = []
    for failure in checkov.run_checkov([item.obj for item in items]):
        for item in by_name.get(failure.resource, []):
            found.append(finding(item.release, item.obj, f"checkov:{failure.check}", CHECKOV_MESSAGE))
    return found
