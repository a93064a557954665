"""Run the real Pulumi program under `pulumi.runtime.set_mocks` and record what it registers.

Each `run_stack()` is a fresh engine: new mocks, new monitor, root resource reset (REFERENCE §4),
so registrations never leak between runs. The recording monitor keeps what `MockResourceArgs` drops:
parent, dependencies, provider and which inputs were sent as secrets.
"""

from __future__ import annotations

import json
import runpy
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime.settings as runtime_settings
import yaml
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks

from tests.harness.engine import reset_pickler

REPO = Path(__file__).resolve().parents[2]
PROJECT = yaml.safe_load((REPO / "Pulumi.yaml").read_text())["name"]


@dataclass
class Registration:
    """One resource the program registered."""

    type: str
    name: str
    urn: str
    parent: str
    provider: str
    dependencies: list[str]
    inputs: dict[str, Any]  # secrets unwrapped
    secret_paths: list[str]  # dotted paths of inputs that were sent as Pulumi secrets
    custom: bool
    additional_secret_outputs: list[str] = field(default_factory=list)
    protect: bool = False
    retain_on_delete: bool = False
    aliases: list[dict[str, Any]] = field(default_factory=list)  # alias specs as sent (name/type/parent/urn)

    def is_secret(self, path: str) -> bool:
        return any(path == p or path.startswith(p + ".") for p in self.secret_paths)


def _unwrap(value: Any, path: str, secrets: list[str]) -> Any:
    if rpc.is_rpc_secret(value):
        secrets.append(path)
        return _unwrap(rpc.unwrap_rpc_secret(value), path, secrets)
    if isinstance(value, dict):
        return {k: _unwrap(v, f"{path}.{k}" if path else k, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v, f"{path}[{i}]", secrets) for i, v in enumerate(value)]
    return value


def _alias(alias: Any) -> dict[str, Any]:
    """An `alias_pb2.Alias` as a dict: `{"urn": ...}` or the spec fields that were set."""
    if alias.WhichOneof("alias") == "urn":
        return {"urn": alias.urn}
    spec = alias.spec
    found: dict[str, Any] = {
        key: getattr(spec, key) for key in ("name", "type", "stack", "project") if getattr(spec, key)
    }
    parent = spec.WhichOneof("parent")
    if parent == "parentUrn":
        found["parentUrn"] = spec.parentUrn
    elif parent == "noParent":
        found["noParent"] = True
    return found


@dataclass
class Read:
    """One existing resource the program read (`<Resource>.get`): what a preview's credentials must allow."""

    type: str
    name: str
    id: str


class RecordingMonitor(MockMonitor):
    def __init__(self, mocks: Mocks):
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.reads: list[Read] = []

    def ReadResource(self, request):
        self.reads.append(Read(type=request.type, name=request.name, id=request.id))
        return super().ReadResource(request)

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            secrets: list[str] = []
            inputs = _unwrap(rpc.deserialize_properties(request.object), "", secrets)
            self.registrations.append(
                Registration(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent=request.parent,
                    provider=request.provider,
                    dependencies=list(request.dependencies),
                    inputs=inputs,
                    secret_paths=secrets,
                    custom=request.custom,
                    additional_secret_outputs=list(request.additionalSecretOutputs),
                    protect=bool(request.protect),
                    retain_on_delete=bool(request.retainOnDelete),
                    aliases=[_alias(alias) for alias in request.aliases],
                )
            )
        return response


class PlatformMocks(Mocks):
    """Resources echo their inputs as outputs; invokes answer empty."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: MockCallArgs) -> dict:
        # A dict, not (dict, None): the mock monitor iterates the failures of a tuple.
        return {}


@dataclass
class ProgramRun:
    """What one mock run of the program registered and exported."""

    stack: str
    registrations: list[Registration]
    outputs: dict[str, Any]
    reads: list[Read] = field(default_factory=list)

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def named(self, name: str, type_: str | None = None) -> Registration:
        found = [r for r in self.registrations if r.name == name and (type_ is None or r.type == type_)]
        assert len(found) == 1, f"expected one registration named {name!r}, found {len(found)}"
        return found[0]

    def by_urn(self, urn: str) -> Registration:
        return next(r for r in self.registrations if r.urn == urn)

    def ancestors(self, registration: Registration) -> Iterator[Registration]:
        urn = registration.parent
        while urn:
            try:
                parent = self.by_urn(urn)
            except StopIteration:
                return
            yield parent
            urn = parent.parent

    def k8s_objects(self) -> list[dict[str, Any]]:
        """Every Kubernetes object the program would apply (typed resources and ConfigGroup objs)."""
        from tests.harness.k8s_objects import objects_of

        return objects_of(self.registrations)


# Pulumi.remote.yaml names no Git URL (each user sets their repository's); the tests deploy the remote
# stack as if this one had been set (the URL tests/golden/registrations.json.gz was recorded with).
TEST_GIT_URL = "https://github.com/example/platform"


# The image files the local stack copies into its registry (app.imageSource); preview needs them to exist,
# which the mock engine never checks.
TEST_IMAGE_SOURCE = {"app": "images/sms-proxy.tar", "migrations": "images/sms-proxy-migrations.tar"}


def stack_config(stack: str) -> dict[str, Any]:
    """The `config:` block of Pulumi.<stack>.yaml, keys without the project prefix, plus what a user adds
    before the first `up` (remote: the Git URL; local: the app's image files, README "Configuration")."""
    data = yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text()) or {}
    prefix = f"{PROJECT}:"
    config = {key.removeprefix(prefix): value for key, value in (data.get("config") or {}).items()}
    if stack == "remote":
        config["flux"] = {"gitUrl": TEST_GIT_URL, **(config.get("flux") or {})}
    if stack == "local":
        config["app"] = {"imageSource": dict(TEST_IMAGE_SOURCE), **(config.get("app") or {})}
    return config


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def run_stack(
    stack: str,
    config: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
    *,
    replace: bool = False,
    preview: bool = False,
    mocks: Mocks | None = None,
) -> ProgramRun:
    """Run `__main__.py` for `stack` with its stack file's config, `config` deep-merged over it
    (or instead of it with `replace=True`), and `secrets` as secret config values; as `pulumi preview`
    with `preview=True`, and with other `mocks` than `PlatformMocks` (what resources and reads return)."""
    values = dict(config or {}) if replace else _merge(stack_config(stack), config or {})
    raw: dict[str, str] = {}
    for key, value in {**values, **(secrets or {})}.items():
        raw[f"{PROJECT}:{key}"] = value if isinstance(value, str) else json.dumps(value)
    secret_keys = [f"{PROJECT}:{key}" for key in (secrets or {})]

    runtime_settings.ROOT.set(None)
    mocks = mocks or PlatformMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor)
    pulumi.runtime.set_all_config(raw, secret_keys)

    exported: dict[str, Any] = {}
    original_export = pulumi.export

    def record_export(name: str, value: Any) -> None:
        exported[name] = value
        original_export(name, value)

    @pulumi.runtime.test
    def program() -> None:
        if str(REPO) not in sys.path:
            sys.path.insert(0, str(REPO))
        pulumi.export = record_export
        try:
            runpy.run_path(str(REPO / "__main__.py"), run_name="__main__")
        finally:
            pulumi.export = original_export

    reset_pickler()
    try:
        program()
    finally:
        reset_pickler()  # each dynamic resource's serialize_provider wraps the pickler once more
    outputs = {name: _resolve(value) for name, value in exported.items()}
    return ProgramRun(stack=stack, registrations=list(monitor.registrations), outputs=outputs, reads=monitor.reads)


def _resolve(value: Any) -> Any:
    """Plain value of an export (Outputs resolved through the mock engine)."""
    if isinstance(value, pulumi.Output):
        from pulumi.runtime.sync_await import _sync_await

        return _sync_await(value.future())
    if isinstance(value, dict):
        return {k: _resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    return value
