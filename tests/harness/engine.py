"""A stand-in for the Pulumi engine's side of a Python dynamic provider (REFERENCE §7).

Mocks never call a dynamic provider, and calling a provider object directly skips everything the engine
does to its inputs. This harness does what the engine does instead:

- starts ``python -m pulumi.dynamic`` from the project directory (so ``components`` unpickles by reference)
  and reads the gRPC port it prints on stdout; its stderr (the provider's logs) goes to a file;
- ``Configure`` (the dynamic provider answers ``acceptSecrets: false``, checked here);
- serializes inputs with ``rpc.serialize_properties`` as the SDK does when it registers the resource, with
  ``__provider`` the dill pickle of the provider (``serialize_provider``, as ``pulumi.dynamic.Resource``
  builds it), then unwraps secrets (the engine sends plain values to a provider that does not accept
  secrets) - so integers cross as floats and ``pulumi.output.Unknown`` inputs cross as the unknown sentinel;
- ``Check``, ``Diff``, ``Create``, ``Update``, ``Read``, ``Delete`` over gRPC, results deserialized; a
  provider exception comes back as :class:`ProviderError` (the text the user would see), a provider process
  that died as :class:`ProviderCrashed`.

:class:`EngineResource` keeps one resource's state the way the engine does (checked inputs, id, outputs)
and runs ``preview`` (Check + Diff, nothing written) and ``up`` (Check, then Create, or Diff then Update /
replace) on it; a failed Create or Update leaves the previous state, exactly like the engine.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import struct_pb2
from pulumi.dynamic import ResourceProvider
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

PROJECT_DIR = Path(__file__).resolve().parents[2]
PROVIDER_KEY = "__provider"
START_TIMEOUT = 30.0
CALL_TIMEOUT = 600.0


class ProviderError(RuntimeError):
    """The provider raised: ``details`` is what the engine would print (the provider's traceback text)."""

    def __init__(self, method: str, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{method}: {code.name}: {details}")
        self.method, self.code, self.details = method, code, details


class ProviderCrashed(ProviderError):
    """The provider process went away mid-call (the engine reports the resource operation as failed)."""


def _unwrap_secrets(value: struct_pb2.Value) -> struct_pb2.Value:
    """Replace every secret envelope by its plain value (what the engine sends when acceptSecrets is false)."""
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        fields = value.struct_value.fields
        sig = fields.get(rpc._special_sig_key)
        if sig is not None and sig.string_value == rpc._special_secret_sig:
            return _unwrap_secrets(fields["value"])
        return struct_pb2.Value(struct_value=unwrap_struct(value.struct_value))
    if kind == "list_value":
        return struct_pb2.Value(
            list_value=struct_pb2.ListValue(values=[_unwrap_secrets(v) for v in value.list_value.values])
        )
    return value


def unwrap_struct(struct: struct_pb2.Struct) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    for key, value in struct.fields.items():
        out.fields[key].CopyFrom(_unwrap_secrets(value))
    return out


def serialize(props: Mapping[str, Any]) -> struct_pb2.Struct:
    """Properties as the SDK serializes them for the engine, secrets unwrapped as the engine forwards them."""
    loop = asyncio.new_event_loop()
    try:
        struct = loop.run_until_complete(rpc.serialize_properties(dict(props), {}))
    finally:
        loop.close()
    return unwrap_struct(struct)


def _pristine(method: Any) -> Any:
    """The pickle method under the wrappers ``serialize_provider`` left around it (one per earlier call)."""
    while "serialize_provider" in getattr(method, "__qualname__", "") and method.__closure__:
        method = next(c.cell_contents for c in method.__closure__ if callable(c.cell_contents))
    return method


def reset_pickler() -> None:
    """Undo the wrappers ``serialize_provider`` left on the pickler (see :func:`provider_blob`): a mock run of the
    program builds every dynamic resource, so a session of many runs needs this between them."""
    pickle._Pickler._batch_setitems = _pristine(pickle._Pickler._batch_setitems)  # type: ignore[attr-defined]


def provider_blob(provider: ResourceProvider) -> str:
    """``__provider`` as ``pulumi.dynamic.Resource`` builds it (``serialize_provider``), minus an SDK leak.

    Each ``serialize_provider`` call wraps ``pickle._Pickler._batch_setitems`` once more and never restores
    it; after a few hundred calls in one process (a long test session) pickling a dict recurses too deep.
    The program makes a handful of calls per run; tests make many, so the pristine method is put back
    around each call (the pickle bytes are the same).
    """
    pristine = _pristine(pickle._Pickler._batch_setitems)  # type: ignore[attr-defined]
    pickle._Pickler._batch_setitems = pristine  # type: ignore[attr-defined]
    try:
        return serialize_provider(provider)
    finally:
        pickle._Pickler._batch_setitems = pristine  # type: ignore[attr-defined]


def deserialize(struct: struct_pb2.Struct) -> dict[str, Any]:
    """Plain Python values from a provider response (the engine's view of the outputs)."""
    return dict(rpc.deserialize_properties(struct))


def _controlling_terminal(device: str) -> Any:
    """In the child, after setsid: opening a terminal without O_NOCTTY makes it the controlling terminal, as
    a process started from an interactive shell session has one (what the share prompt needs)."""

    def attach() -> None:
        os.close(os.open(device, os.O_RDWR))

    return attach


class DynamicProviderServer:
    """One ``python -m pulumi.dynamic`` process and a gRPC stub to it (a context manager)."""

    def __init__(
        self, *, env: Mapping[str, str] | None = None, cwd: Path = PROJECT_DIR, tty: str | None = None
    ) -> None:
        self.env = {**os.environ, **(env or {})}
        self.cwd = cwd
        self.tty = tty  # a terminal device that becomes the process's controlling terminal (/dev/tty)
        log = tempfile.NamedTemporaryFile(prefix="dynamic-provider-", suffix=".log", delete=False)  # noqa: SIM115
        log.close()
        self.log_path = Path(log.name)
        self.proc: subprocess.Popen[bytes] | None = None
        self.channel: grpc.Channel | None = None
        self.stub: provider_pb2_grpc.ResourceProviderStub | None = None
        self.configure_response: provider_pb2.ConfigureResponse | None = None

    def start(self) -> DynamicProviderServer:
        with self.log_path.open("ab") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "pulumi.dynamic"],
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                start_new_session=True,
                preexec_fn=_controlling_terminal(self.tty) if self.tty else None,
            )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode().strip()  # the server prints its port first
        if not line.isdigit():
            self.stop()
            raise RuntimeError(f"python -m pulumi.dynamic printed no port ({line!r}): {self.stderr_text()[-2000:]}")
        self.channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        grpc.channel_ready_future(self.channel).result(timeout=START_TIMEOUT)
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)
        self.configure_response = self.call(
            "Configure", provider_pb2.ConfigureRequest(args=struct_pb2.Struct(), acceptSecrets=True)
        )
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def restart(self) -> DynamicProviderServer:
        """A new provider process, as the engine starts one per `pulumi up` (after a crash, for instance)."""
        self.stop()
        return self.start()

    def stop(self) -> None:
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()

    def stderr_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def call(self, method: str, request: Any) -> Any:
        assert self.stub is not None, "server not started"
        try:
            return getattr(self.stub, method)(request, timeout=CALL_TIMEOUT)
        except grpc.RpcError as exc:
            code, details = exc.code(), exc.details() or ""  # type: ignore[attr-defined]
            if code == grpc.StatusCode.UNAVAILABLE or not self.alive():
                raise ProviderCrashed(method, code, details) from None
            raise ProviderError(method, code, details) from None

    def __enter__(self) -> DynamicProviderServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.log_path.unlink(missing_ok=True)


@dataclass
class Diff:
    changes: bool | None  # None = DIFF_UNKNOWN
    replaces: list[str]
    delete_before_replace: bool


@dataclass
class Preview:
    failures: list[tuple[str, str]]
    diff: Diff | None  # None: the resource would be created


@dataclass
class EngineResource:
    """One dynamic resource as the engine tracks it: the provider pickle, checked inputs, id, outputs."""

    server: DynamicProviderServer
    provider: ResourceProvider
    name: str
    type_: str = "pulumi-python:dynamic:Resource"
    id: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)  # with __provider, as stored in the state
    blob: str = ""

    def __post_init__(self) -> None:
        self.blob = provider_blob(self.provider)

    @property
    def urn(self) -> str:
        return f"urn:pulumi:test::platform::{self.type_}::{self.name}"

    @property
    def outs(self) -> dict[str, Any]:
        """The outputs without the pickled provider."""
        return {k: v for k, v in self.outputs.items() if k != PROVIDER_KEY}

    def _news(self, props: Mapping[str, Any]) -> struct_pb2.Struct:
        return serialize({**props, PROVIDER_KEY: self.blob})

    # --- the gRPC calls, one each --------------------------------------------------------------------------
    def check(self, props: Mapping[str, Any]) -> tuple[struct_pb2.Struct, list[tuple[str, str]]]:
        olds = serialize(self.inputs) if self.inputs else struct_pb2.Struct()
        request = provider_pb2.CheckRequest(urn=self.urn, olds=olds, news=self._news(props), randomSeed=b"0" * 32)
        response = self.server.call("Check", request)
        return response.inputs, [(f.property, f.reason) for f in response.failures]

    def diff(self, news: struct_pb2.Struct) -> Diff:
        request = provider_pb2.DiffRequest(id=self.id or "", urn=self.urn, olds=serialize(self.outputs), news=news)
        response = self.server.call("Diff", request)
        changes = {provider_pb2.DiffResponse.DIFF_SOME: True, provider_pb2.DiffResponse.DIFF_NONE: False}
        return Diff(changes.get(response.changes), list(response.replaces), response.deleteBeforeReplace)

    def create(self, news: struct_pb2.Struct) -> None:
        response = self.server.call("Create", provider_pb2.CreateRequest(urn=self.urn, properties=news, timeout=600))
        self.id, self.outputs, self.inputs = response.id, deserialize(response.properties), deserialize(news)

    def update(self, news: struct_pb2.Struct) -> None:
        request = provider_pb2.UpdateRequest(
            id=self.id or "", urn=self.urn, olds=serialize(self.outputs), news=news, timeout=600
        )
        response = self.server.call("Update", request)
        self.outputs, self.inputs = deserialize(response.properties), deserialize(news)

    def read(self) -> dict[str, Any]:
        request = provider_pb2.ReadRequest(
            id=self.id or "", urn=self.urn, properties=serialize(self.outputs), inputs=serialize(self.inputs)
        )
        response = self.server.call("Read", request)
        return {k: v for k, v in deserialize(response.properties).items() if k != PROVIDER_KEY}

    def delete(self) -> None:
        request = provider_pb2.DeleteRequest(id=self.id or "", urn=self.urn, properties=serialize(self.outputs))
        self.server.call("Delete", request)
        self.id, self.inputs, self.outputs = None, {}, {}

    # --- what `pulumi preview` and `pulumi up` do with one resource ----------------------------------------
    def preview(self, props: Mapping[str, Any]) -> Preview:
        """Check + Diff with the given (possibly unknown) inputs; nothing is created or updated."""
        checked, failures = self.check(props)
        if failures or self.id is None:
            return Preview(failures, None)
        return Preview(failures, self.diff(checked))

    def up(self, props: Mapping[str, Any]) -> str:
        """Check, then Create (no state) or Diff and Update/replace; returns what happened."""
        checked, failures = self.check(props)
        if failures:
            raise ProviderError("Check", grpc.StatusCode.INVALID_ARGUMENT, f"check failures: {failures}")
        if self.id is None:
            self.create(checked)
            return "created"
        diff = self.diff(checked)
        if not diff.changes:
            return "same"
        if diff.replaces:
            if diff.delete_before_replace:
                self.delete()
            self.create(checked)
            return "replaced"
        self.update(checked)
        return "updated"


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """Run ``fn`` and return (result, seconds)."""
    start = time.monotonic()
    result = fn(*args, **kwargs)
    return result, time.monotonic() - start
