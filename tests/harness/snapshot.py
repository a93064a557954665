"""A canonical dump of everything one mock run registers: for the behaviour-preserving restructure test.

`snapshot(run)` keeps, per registration: type, name, URN, parent URN, provider, dependencies, inputs
(secrets unwrapped, with the secret paths), protect and the aliases it carries. Resource ids and
provider references are normalised (the mock ids are derived from names). `VARIANTS` are the config
variants the suite exercises; `python -m tests.harness.snapshot` (`make snapshot`) records
the golden file tests/unit/stacks/test_restructure.py compares every run with.
"""

from __future__ import annotations

import base64
import gzip
import json
import sys
from pathlib import Path
from typing import Any

import dill

from components.settings.load import load_settings
from components.settings.model import Settings
from tests.fixtures.config import EXTERNAL_REGISTRY_IMAGES, StackFileConfig
from tests.harness.program import ProgramRun, _merge, run_stack, stack_config

_CA = "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n"

# name -> (stack, config merged over the stack file, secret config)
VARIANTS: dict[str, tuple[str, dict[str, Any], dict[str, str]]] = {
    "local": ("local", {}, {}),
    "remote": ("remote", {}, {}),
    "local-kind": ("local", {"kubernetes": {"cluster": {"create": True}}}, {}),
    # The local stack's own kind cluster is its default; an existing cluster is opted into by its context.
    "local-existing-cluster": ("local", {"kubernetes": {"context": "kind-dev"}}, {}),
    "local-csi": ("local", {"app": {"secretsDelivery": "csi"}}, {}),
    "remote-csi": ("remote", {"app": {"secretsDelivery": "csi"}}, {}),
    "local-external-s3-registry": (
        "local",
        {
            "s3": {"backend": "external", "endpoint": "https://s3.example.com"},
            "registry": {"mode": "external", "host": "registry.example.com"},
            "app": EXTERNAL_REGISTRY_IMAGES,
        },
        {"s3AccessKeyId": "AKIAEXAMPLE", "s3SecretAccessKey": "s3-secret", "registryPassword": "registry-pw"},
    ),
    "local-vault-second-cluster": (
        "local",
        {
            "vault": {
                "kubeContext": "vault-cluster",
                "advertiseAddress": "https://vault.example.com:8200",
                "appApiAddress": "https://api.app.example.com:6443",
            }
        },
        {},
    ),
    "local-vault-existing": (
        "local",
        {
            "vault": {
                "externalAddress": "https://vault.corp.example",
                "externalCaCert": _CA,
                "appApiAddress": "https://api.app.example.com:6443",
            }
        },
        {"vaultExternalRoleId": "role-id", "vaultExternalSecretId": "secret-id"},
    ),
    "remote-vault-existing-csi": (
        "remote",
        {
            "app": {"secretsDelivery": "csi"},
            "vault": {"externalAddress": "https://vault.corp.example", "externalCaCert": _CA},
        },
        {},
    ),
    "local-standalone-vault": ("local", {"vault": {"replicas": 1}}, {}),
}


def variant_settings(name: str) -> Settings:
    """The settings a variant's run loads (its stack file with the variant's config and secrets)."""
    stack, config, secrets = VARIANTS[name]
    values = _merge(stack_config(stack), config)
    return load_settings(StackFileConfig(values, secrets), stack)


def run_variant(name: str) -> ProgramRun:
    stack, config, secrets = VARIANTS[name]
    return run_stack(stack, config, secrets)


def snapshot(run: ProgramRun) -> list[dict[str, Any]]:
    """The registrations of one run, in registration order, as plain JSON-able dicts."""
    return [
        {
            "type": r.type,
            "name": r.name,
            "urn": r.urn,
            "parent": r.parent,
            "provider": r.provider.split("::")[0] if r.provider else "",
            "dependencies": sorted(r.dependencies),
            "inputs": _normalised(r.inputs),
            "secret_paths": sorted(r.secret_paths),
            "protect": r.protect,
            "custom": r.custom,
            "aliases": r.aliases,
        }
        for r in run.registrations
    ]


def _normalised(inputs: dict[str, Any]) -> dict[str, Any]:
    """A dynamic provider's pickle embeds its module path; keep what it is (the class), not where it lives."""
    if "__provider" not in inputs:
        return inputs
    provider = dill.loads(base64.b64decode(inputs["__provider"]))  # noqa: S301 - the program's own pickle
    return {**inputs, "__provider": type(provider).__qualname__}


# Resources whose URN changed on purpose in the restructure (mock URNs; `{stack}`, `{project}` filled in).
# Each carries an alias to its old parent; tests/unit/stacks/test_restructure.py checks that the alias resolves.
URN_RENAMES: dict[str, str] = {
    **{
        f"urn:pulumi:{{stack}}::{{project}}::platform:vault:Vault$kubernetes:helm.sh/v3:Release::{name}": (
            f"urn:pulumi:{{stack}}::{{project}}::platform:vault:Operators$kubernetes:helm.sh/v3:Release::{name}"
        )
        for name in ("vault-secrets-operator", "vault-config-operator")
    },
    **{
        f"urn:pulumi:{{stack}}::{{project}}::platform:vault:Vault$kubernetes:core/v1:Secret::vault-ca-{ns}": (
            f"urn:pulumi:{{stack}}::{{project}}::platform:vault:Operators$kubernetes:core/v1:Secret::vault-ca-{ns}"
        )
        for ns in ("vault-secrets-operator-system", "vault-config-operator", "kube-system")
    },
}
GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "registrations.json.gz"


def variant_stack(name: str) -> str:
    return VARIANTS[name][0]


def new_to_old(stack: str, project: str) -> dict[str, str]:
    return {
        new.format(stack=stack, project=project): old.format(stack=stack, project=project)
        for old, new in URN_RENAMES.items()
    }


def effective_run(name: str, run: ProgramRun, project: str) -> dict[str, dict[str, Any]]:
    return effective(snapshot(run), new_to_old(variant_stack(name), project))


def write_golden(project: str) -> None:
    """Record what the program deploys now, for every variant (after a deliberate change of behaviour)."""
    golden = {name: effective_run(name, run_variant(name), project) for name in VARIANTS}
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_bytes(gzip.compress(json.dumps(golden, sort_keys=True, default=str).encode(), mtime=0))


def read_golden() -> dict[str, dict[str, dict[str, Any]]]:
    return json.loads(gzip.decompress(GOLDEN.read_bytes()))


# --- Comparing two dumps across deliberate URN changes -------------------------------------------------
# ConfigGroups are remote components: what they apply is their input (`objs`), so they count as leaves.
LEAF_COMPONENTS = {"kubernetes:yaml/v2:ConfigGroup"}


def is_leaf(record: dict[str, Any]) -> bool:
    return bool(record["custom"]) or record["type"] in LEAF_COMPONENTS


def effective(dump: list[dict[str, Any]], to_old: dict[str, str]) -> dict[str, dict[str, Any]]:
    """What one run deploys, keyed by the URN each resource had before the restructure.

    Only leaves (resources that act: custom resources and ConfigGroups) are compared. A dependency on a
    component means a dependency on every leaf below it (as the engine orders them), so dependencies are
    expanded to leaves before they are compared; a moved resource's parent is the one its alias names.
    """
    by_urn = {record["urn"]: record for record in dump}
    children: dict[str, list[str]] = {}
    for record in dump:
        children.setdefault(record["parent"], []).append(record["urn"])

    def leaves(urn: str) -> set[str]:
        record = by_urn.get(urn)
        if record is None:
            return {urn}
        found = {urn} if is_leaf(record) else set()
        for child in children.get(urn, []):
            found |= leaves(child)
        return found

    result: dict[str, dict[str, Any]] = {}
    for record in dump:
        if not is_leaf(record):
            continue
        parents = [alias["parentUrn"] for alias in record.get("aliases", []) if "parentUrn" in alias]
        dependencies = set().union(*(leaves(d) for d in record["dependencies"])) if record["dependencies"] else set()
        result[to_old.get(record["urn"], record["urn"])] = {
            **{key: record[key] for key in ("type", "name", "provider", "inputs", "secret_paths", "protect")},
            "parent": parents[0] if parents else to_old.get(record["parent"], record["parent"]),
            "dependencies": sorted(to_old.get(d, d) for d in dependencies),
        }
    return result


def engine_urns(dump: list[dict[str, Any]], stack: str, project: str) -> dict[str, str]:
    """Mock URN -> the URN the Pulumi engine gives the same resource.

    The mock monitor keeps only the parent's last type in a URN; the engine keeps the whole chain of parent
    types (the root stack excluded). Aliases are resolved by the engine, so they are checked on its URNs.
    """
    by_urn = {record["urn"]: record for record in dump}
    qualified: dict[str, str] = {}

    def chain(urn: str) -> str:
        if urn not in qualified:
            record = by_urn[urn]
            parent = record["parent"]
            prefix = chain(parent) + "$" if parent in by_urn else ""
            qualified[urn] = prefix + record["type"]
        return qualified[urn]

    return {urn: f"urn:pulumi:{stack}::{project}::{chain(urn)}::{by_urn[urn]['name']}" for urn in by_urn}


def resolve_alias(
    alias: dict[str, Any], record: dict[str, Any], dump: list[dict[str, Any]], stack: str, project: str
) -> str:
    """The engine URN an alias spec names: unset fields keep the resource's own name, type and parent."""
    if "urn" in alias:
        return alias["urn"]
    urns = engine_urns(dump, stack, project)
    parent = "" if alias.get("noParent") else alias.get("parentUrn") or record["parent"]
    parent_chain = urns[parent].split("::")[2] + "$" if parent in urns else ""
    name, type_ = alias.get("name") or record["name"], alias.get("type") or record["type"]
    return f"urn:pulumi:{alias.get('stack') or stack}::{alias.get('project') or project}::{parent_chain}{type_}::{name}"


if __name__ == "__main__":
    from tests.harness.program import PROJECT

    write_golden(PROJECT)
    print(f"wrote {GOLDEN}", file=sys.stderr)
