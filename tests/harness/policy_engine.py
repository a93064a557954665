"""Run policy-pack policies the way `pulumi preview --policy-pack` does, without the CLI.

`PolicyPack(...)` starts a gRPC server and blocks, so this drives the same servicer it serves
(`pulumi_policy.policy._PolicyAnalyzerServicer`) with real `AnalyzeRequest` protobufs: properties are
encoded like the engine encodes them (secret values wrapped in the secret signature, numbers as
doubles), then `Remediate` and `Analyze` run exactly as for a real preview, remediation first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel, Policy
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY
from pulumi_policy.policy import _PolicyAnalyzerServicer

from tests.harness.program import Registration

PACK_NAME = "platform-guardrails"


@dataclass
class Findings:
    """What the pack said about one resource."""

    urn: str
    violations: list[tuple[str, str]] = field(default_factory=list)  # (policy, message)
    remediations: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (policy, new inputs)

    @property
    def clean(self) -> bool:
        return not self.violations and not self.remediations


def encode(inputs: Mapping[str, Any], secret_paths: Iterable[str] = ()) -> dict[str, Any]:
    """Inputs as the engine marshals them for analyzers: values at `secret_paths` (the harness's dotted
    paths, `a.b[0].c`) wrapped in the secret signature."""
    secrets = set(secret_paths)

    def walk(value: Any, path: str) -> Any:
        if isinstance(value, Mapping):
            value = {k: walk(v, f"{path}.{k}" if path else k) for k, v in value.items()}
        elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
            value = [walk(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if path in secrets:
            return {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": value}
        return value

    return walk(dict(inputs), "")


def request(
    resource_type: str,
    inputs: Mapping[str, Any],
    *,
    name: str = "resource",
    urn: str | None = None,
    secret_paths: Iterable[str] = (),
    additional_secret_outputs: Sequence[str] = (),
) -> analyzer_pb2.AnalyzeRequest:
    properties = struct_pb2.Struct()
    json_format.ParseDict(encode(inputs, secret_paths), properties)
    return analyzer_pb2.AnalyzeRequest(
        type=resource_type,
        name=name,
        urn=urn or f"urn:pulumi:test::platform::{resource_type}::{name}",
        properties=properties,
        options=analyzer_pb2.AnalyzerResourceOptions(additionalSecretOutputs=list(additional_secret_outputs)),
    )


def servicer(policies: list[Policy]) -> _PolicyAnalyzerServicer:
    return _PolicyAnalyzerServicer(PACK_NAME, "0.0.1", policies, EnforcementLevel.MANDATORY)


def evaluate(policies: list[Policy], analyze_request: analyzer_pb2.AnalyzeRequest) -> Findings:
    """Remediate, then analyze the (remediated) resource, as the engine's step generator does."""
    pack = servicer(policies)
    findings = Findings(urn=analyze_request.urn)
    remediated = pack.Remediate(analyze_request, None)
    for remediation in remediated.remediations:
        if remediation.diagnostic:
            findings.violations.append((remediation.policyName, remediation.diagnostic))
        if remediation.HasField("properties"):
            findings.remediations.append((remediation.policyName, json_format.MessageToDict(remediation.properties)))
            analyze_request = remediated_request(analyze_request, remediation.properties)
    analyzed = pack.Analyze(analyze_request, None)
    findings.violations.extend((d.policyName, d.message) for d in analyzed.diagnostics)
    return findings


def remediated_request(
    original: analyzer_pb2.AnalyzeRequest, properties: struct_pb2.Struct
) -> analyzer_pb2.AnalyzeRequest:
    updated = analyzer_pb2.AnalyzeRequest()
    updated.CopyFrom(original)
    updated.properties.CopyFrom(properties)
    return updated


def evaluate_registration(policies: list[Policy], registration: Registration) -> Findings:
    return evaluate(
        policies,
        request(
            registration.type,
            registration.inputs,
            name=registration.name,
            urn=registration.urn,
            secret_paths=registration.secret_paths,
            additional_secret_outputs=registration.additional_secret_outputs,
        ),
    )
