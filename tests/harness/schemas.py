"""Offline schema checks for every rendered Kubernetes object.

Core kinds: the strict schemas that `kubernetes-validate` ships, for the pinned Kubernetes version.
Custom resources: the JSON schemas in `$CRD_SCHEMA_DIR/<group>/<kind>_<version>.json` (set by `.ci/run`
to `../shared/schemas/crd`). Their root does not forbid unknown fields, so top-level keys are checked
here; schema defaults are filled before validating, as the API server would. A kind with no schema is
a failure, never a skip.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import referencing
from jsonschema.validators import Draft202012Validator, extend

KUBERNETES_VERSION = "1.33"
_KV_DEFINITIONS_ID = "https://kubernetes.io/api/_definitions.json"
_KV_ROOT = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"


class SchemaMissing(AssertionError):
    pass


def crd_schema_dir() -> Path:
    value = os.environ.get("CRD_SCHEMA_DIR")
    if not value:
        raise SchemaMissing("CRD_SCHEMA_DIR is not set; .ci/run sets it to ../shared/schemas/crd")
    path = Path(value)
    if not path.is_dir():
        raise SchemaMissing(f"CRD_SCHEMA_DIR={value} is not a directory")
    return path


def helm_schema_dir() -> Path:
    value = os.environ.get("HELM_SCHEMA_DIR")
    if not value or not Path(value).is_dir():
        raise SchemaMissing("HELM_SCHEMA_DIR must point at ../shared/schemas/helm (set by .ci/run)")
    return Path(value)


def _split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def _with_defaults(validator_class: type) -> type:
    """A validator that fills `default` values into the instance while it validates."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if isinstance(subschema, dict) and "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return extend(validator_class, {"properties": set_defaults})


@functools.cache
def _crd_validator(group: str, kind: str, version: str) -> tuple[Any, frozenset[str]] | None:
    path = crd_schema_dir() / group / f"{kind.lower()}_{version}.json"
    if not path.is_file():
        return None
    schema = json.loads(path.read_text())
    cls = _with_defaults(jsonschema.validators.validator_for(schema, default=Draft202012Validator))
    root = frozenset(schema.get("properties", {})) | {"apiVersion", "kind", "metadata"}
    return cls(schema), root


@functools.cache
def _kv_registry() -> referencing.Registry:
    directory = _KV_ROOT / f"v{KUBERNETES_VERSION}.0-local-strict"
    definitions = json.loads((directory / "_definitions.json").read_text())
    return referencing.Resource.from_contents(definitions) @ referencing.Registry()


@functools.cache
def _core_validator(kind: str, api_version: str) -> Draft202012Validator | None:
    directory = _KV_ROOT / f"v{KUBERNETES_VERSION}.0-local-strict"
    name = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = directory / f"{kind.lower()}-{name}.json"
    if not path.is_file():
        return None
    schema = json.loads(path.read_text())
    resource = referencing.Resource.from_contents(schema)
    return Draft202012Validator(schema, registry=resource @ _kv_registry())


def kubernetes_definition_errors(definition: str, value: Any) -> list[str]:
    """Strict-schema errors of `value` as the Kubernetes type `definition` (e.g. a pod's Affinity)."""
    validator = Draft202012Validator({"$ref": f"{_KV_DEFINITIONS_ID}#/$defs/{definition}"}, registry=_kv_registry())
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
    return [f"{''.join(f'.{p}' for p in e.path)}: {e.message}" for e in errors]


def describe(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    where = f"{meta.get('namespace')}/" if meta.get("namespace") else ""
    return f"{obj.get('apiVersion')} {obj.get('kind')} {where}{meta.get('name')}"


def validate_object(obj: dict[str, Any]) -> None:
    """Raise AssertionError naming the object when it does not match its upstream schema."""
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not api_version or not kind:
        raise AssertionError(f"object without apiVersion/kind: {obj!r:.200}")
    group, version = _split_api_version(api_version)
    if group and "." in group:
        crd = _crd_validator(group, kind, version)
        if crd is not None:
            validator, root = crd
            extra = set(obj) - root
            if extra:
                raise AssertionError(f"{describe(obj)}: unknown top-level fields {sorted(extra)}")
            errors = sorted(validator.iter_errors(copy.deepcopy(obj)), key=lambda e: list(e.path))
            if errors:
                first = errors[0]
                raise AssertionError(
                    f"{describe(obj)}: {first.message} at {'.'.join(map(str, first.path)) or '<root>'}"
                )
            return
    core = _core_validator(kind, api_version)
    if core is None:
        raise SchemaMissing(f"{describe(obj)}: no schema for this kind (neither core nor in CRD_SCHEMA_DIR)")
    errors = sorted(core.iter_errors(obj), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        raise AssertionError(f"{describe(obj)}: {first.message} at {'.'.join(map(str, first.path)) or '<root>'}")
