"""Files the cache derives from a downloaded upstream artifact (never from unverified bytes: the
artifact's own sha256 is checked first, then the derived file's).

- `crd-jsonschema`: a CustomResourceDefinition YAML to the JSON schema of one of its versions, with the
  rules of datreeio/CRDs-catalog's `Utilities/openapi2jsonschema.py` (kubeconform's script): every object
  that declares `properties` forbids unknown fields, except the root; `format: int-or-string` becomes
  `oneOf` string/integer; written as `json.dumps(schema, indent=2)`, like the catalog's files.
- `action-inputs`: a GitHub Action's `action.yml` to `{"action", "ref", "inputs": [sorted input names]}`.
- `member`: one file out of a chart package (`.tgz`).
"""

from __future__ import annotations

import copy
import io
import json
import tarfile
from pathlib import PurePosixPath
from typing import Any

import yaml


class DeriveError(Exception):
    pass


class _CatalogLoader(yaml.SafeLoader):
    """The catalog's loader: SafeLoader that reads `=` (tag:yaml.org,2002:value) as a plain string."""


_CatalogLoader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: str(node.value))


def _forbid_unknown(data: Any, skip: bool = False) -> Any:
    if isinstance(data, dict):
        if "properties" in data and not skip and "additionalProperties" not in data:
            data["additionalProperties"] = False
        for value in data.values():
            _forbid_unknown(value)
    return data


def _int_or_string(data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    new = {}
    for key, value in data.items():
        if isinstance(value, dict):
            if value.get("format") == "int-or-string":
                value = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
            else:
                value = _int_or_string(value)
        elif isinstance(value, list):
            value = [_int_or_string(item) for item in value]
        new[key] = value
    return new


def crd_schemas(text: str) -> dict[str, dict[str, Any]]:
    """`<group>/<kind>_<version>.json` (lower case) -> converted schema, for every CRD version in `text`."""
    definitions: list[dict[str, Any]] = []
    for document in yaml.load_all(text, Loader=_CatalogLoader):
        if not isinstance(document, dict):
            continue
        definitions.extend(document.get("items") or [])
        if document.get("kind") == "CustomResourceDefinition":
            definitions.append(document)
    schemas = {}
    for crd in definitions:
        spec = crd.get("spec") or {}
        for version in spec.get("versions") or []:
            schema = (version.get("schema") or {}).get("openAPIV3Schema")
            if schema is None:
                continue
            name = f"{spec['group']}/{spec['names']['kind']}_{version['name']}".lower() + ".json"
            schemas[name] = _int_or_string(_forbid_unknown(copy.deepcopy(schema), skip=True))
    return schemas


def crd_jsonschema(data: bytes, path: str) -> bytes:
    """The schema for cache path `crd/<group>/<kind>_<version>.json` out of a CRD YAML file."""
    wanted = str(PurePosixPath(path).relative_to("crd"))
    schemas = crd_schemas(data.decode())
    if wanted not in schemas:
        raise DeriveError(f"the CRD file holds no {wanted} (it holds {sorted(schemas) or 'no CRD'})")
    return json.dumps(schemas[wanted], indent=2).encode()


def action_inputs(data: bytes, action: str, ref: str) -> bytes:
    action_yml = yaml.safe_load(data.decode())
    if not isinstance(action_yml, dict) or not isinstance(action_yml.get("inputs"), dict):
        raise DeriveError("action.yml declares no inputs")
    return json.dumps({"action": action, "ref": ref, "inputs": sorted(action_yml["inputs"])}, indent=1).encode()


def tar_member(data: bytes, member: str) -> bytes:
    """One regular file out of a .tgz, read in memory (nothing is extracted to disk)."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            info = archive.getmember(member)
            extracted = archive.extractfile(info) if info.isfile() else None
            if extracted is None:
                raise DeriveError(f"{member} is not a regular file in the archive")
            return extracted.read()
    except KeyError:
        raise DeriveError(f"the archive has no {member}") from None
    except tarfile.TarError as error:
        raise DeriveError(f"not a readable archive: {error}") from None


def derive(entry: dict[str, Any], path: str, data: bytes) -> bytes:
    """The cache file for lock entry `entry` from its verified artifact `data`."""
    kind = entry.get("derive")
    if kind is None:
        return data
    if kind == "member":
        return tar_member(data, entry["member"])
    if kind == "crd-jsonschema":
        return crd_jsonschema(data, path)
    if kind == "action-inputs":
        return action_inputs(data, entry["action"], entry["ref"])
    raise DeriveError(f"unknown derive {kind!r}")
