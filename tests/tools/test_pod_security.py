"""tools/chart_check/pod_security: the Pod Security Standards checker.

1. Conformance: the admission controller's own fixtures (tests/tools/data/, 160 pods, 1732 level/version
   cases for Kubernetes 1.25-1.37): every `pass` case has no violation, every `fail` case is refused by the
   check its fixture is named after.
2. Table-driven cases for what the chart check relies on: node-exporter's pod, the levels' nesting, version
   switches, pod templates of every workload kind, and the namespace labels.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tools.chart_check.pod_security import (
    CHECKS,
    ENFORCE_LABEL,
    ENFORCE_VERSION_LABEL,
    POD_TEMPLATE_PATHS,
    checks_for,
    namespace_level,
    pod_template,
    violations,
)

DATA = Path(__file__).parent / "data" / "pod_security_conformance.jsonl"
CONFORMANCE = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
CASES = [
    (entry["pod"], level, int(version.split(".")[1]), outcome)
    for entry in CONFORMANCE
    for level, version, outcome in (case.split("/") for case in entry["cases"])
]


def _ids(found) -> set[str]:
    return {v.check for v in found}


def test_the_conformance_data_is_complete():
    assert len(CONFORMANCE) == 160 and len(CASES) == 1732
    assert {outcome for *_, outcome in CASES} == {"pass", "fail"}
    assert {minor for _, _, minor, _ in CASES} == set(range(25, 38))
    # Every check of the table is exercised by some failing fixture.
    named = {entry["pod"]["metadata"]["name"].rstrip("0123456789") for entry in CONFORMANCE}
    assert {check.id.lower() for check in CHECKS} <= named


@pytest.mark.parametrize("level", ["baseline", "restricted"])
def test_conformance_fixtures(level: str):
    wrong = []
    for pod, case_level, minor, outcome in CASES:
        if case_level != level:
            continue
        found = violations(pod, level, minor)
        name = pod["metadata"]["name"]
        if outcome == "pass" and found:
            wrong.append(f"1.{minor} {name}: expected to pass, got {[v.message for v in found]}")
        elif outcome == "fail" and not _breaks(name, found, level, minor):
            wrong.append(f"1.{minor} {name}: expected a {name.rstrip('0123456789')} refusal, got {_ids(found)}")
    assert not wrong, f"{len(wrong)} conformance cases differ:\n" + "\n".join(wrong[:40])


def _breaks(name: str, found, level: str, minor: int) -> bool:
    """The fixture's check, or the check replacing it at this level (restrictedVolumes for hostPathVolumes)."""
    expected = name.rstrip("0123456789")
    active = {check.id: check for check in checks_for(level, minor)}
    for check_id in _ids(found):
        check = active[check_id]
        if check_id.lower() == expected or expected in {o.lower() for o in check.overrides}:
            return True
    return False


# --- table-driven cases ----------------------------------------------------------------------------


def pod(spec: dict[str, Any] | None = None, **meta: Any) -> dict[str, Any]:
    """A pod that passes `restricted`, with `spec` merged over its spec."""
    base = {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {
                "name": "app",
                "image": "example/app:1",
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
            }
        ],
    }
    for key, value in (spec or {}).items():
        base[key] = value
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", **meta}, "spec": base}


def container(**security_context: Any) -> list[dict[str, Any]]:
    context = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, **security_context}
    return [{"name": "app", "image": "example/app:1", "securityContext": context}]


NODE_EXPORTER = {
    "hostNetwork": True,
    "hostPID": True,
    "volumes": [{"name": n, "hostPath": {"path": p}} for n, p in (("proc", "/proc"), ("sys", "/sys"), ("root", "/"))],
    "containers": [
        {
            "name": "node-exporter",
            "image": "quay.io/prometheus/node-exporter:v1.9.1",
            "ports": [{"name": "metrics", "containerPort": 9100, "hostPort": 9100}],
            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True},
        }
    ],
}

TABLE = [
    # (case, pod, level, minor, expected check ids)
    ("restricted pod passes restricted", pod(), "restricted", 33, set()),
    ("anything passes privileged", pod(NODE_EXPORTER), "privileged", 33, set()),
    (
        "node-exporter vs baseline",
        pod(NODE_EXPORTER),
        "baseline",
        33,
        {"hostNamespaces", "hostPathVolumes", "hostPorts"},
    ),
    (
        "node-exporter vs restricted",
        pod(NODE_EXPORTER),
        "restricted",
        33,
        {"hostNamespaces", "hostPorts", "restrictedVolumes", "capabilities_restricted"},
    ),
    ("hostIPC", pod({"hostIPC": True}), "baseline", 33, {"hostNamespaces"}),
    ("hostNetwork false is fine", pod({"hostNetwork": False}), "restricted", 33, set()),
    ("privileged container", pod({"containers": container(privileged=True)}), "baseline", 33, {"privileged"}),
    (
        "SYS_ADMIN",
        pod({"containers": container(capabilities={"add": ["SYS_ADMIN"]})}),
        "baseline",
        33,
        {"capabilities_baseline"},
    ),
    (
        "default caps are baseline",
        pod({"containers": container(capabilities={"add": ["CHOWN"]})}),
        "baseline",
        33,
        set(),
    ),
    (
        "restricted adds only NET_BIND_SERVICE",
        pod({"containers": container(capabilities={"drop": ["ALL"], "add": ["CHOWN"]})}),
        "restricted",
        33,
        {"capabilities_restricted"},
    ),
    ("procMount Unmasked", pod({"containers": container(procMount="Unmasked")}), "baseline", 33, {"procMount"}),
    (
        "procMount Unmasked in a user namespace (1.35)",
        pod({"hostUsers": False, "containers": container(procMount="Unmasked")}),
        "baseline",
        35,
        set(),
    ),
    (
        "seccomp Unconfined",
        pod({"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "Unconfined"}}}),
        "baseline",
        33,
        {"seccompProfile_baseline"},
    ),
    (
        "sysctl unsafe",
        pod(
            {
                "securityContext": {
                    "runAsNonRoot": True,
                    "seccompProfile": {"type": "RuntimeDefault"},
                    "sysctls": [{"name": "kernel.msgmax", "value": "1"}],
                }
            }
        ),
        "baseline",
        33,
        {"sysctls"},
    ),
    (
        "sysctl tcp_rmem safe since 1.32",
        pod(
            {
                "securityContext": {
                    "runAsNonRoot": True,
                    "seccompProfile": {"type": "RuntimeDefault"},
                    "sysctls": [{"name": "net.ipv4.tcp_rmem", "value": "1"}],
                }
            }
        ),
        "baseline",
        31,
        {"sysctls"},
    ),
    (
        "sysctl tcp_rmem at 1.33",
        pod(
            {
                "securityContext": {
                    "runAsNonRoot": True,
                    "seccompProfile": {"type": "RuntimeDefault"},
                    "sysctls": [{"name": "net.ipv4.tcp_rmem", "value": "1"}],
                }
            }
        ),
        "baseline",
        33,
        set(),
    ),
    (
        "SELinux user",
        pod({"containers": container(seLinuxOptions={"user": "system_u"})}),
        "baseline",
        33,
        {"seLinuxOptions"},
    ),
    (
        "AppArmor unconfined",
        pod({"containers": container(appArmorProfile={"type": "Unconfined"})}),
        "baseline",
        33,
        {"appArmorProfile"},
    ),
    (
        "AppArmor annotation",
        pod(annotations={"container.apparmor.security.beta.kubernetes.io/app": "unconfined"}),
        "baseline",
        33,
        {"appArmorProfile"},
    ),
    (
        "Windows hostProcess",
        pod({"containers": container(windowsOptions={"hostProcess": True})}),
        "baseline",
        33,
        {"windowsHostProcess"},
    ),
    (
        "NFS volume",
        pod({"volumes": [{"name": "n", "nfs": {"server": "s", "path": "/"}}]}),
        "restricted",
        33,
        {"restrictedVolumes"},
    ),
    (
        "NFS volume is baseline",
        pod({"volumes": [{"name": "n", "nfs": {"server": "s", "path": "/"}}]}),
        "baseline",
        33,
        set(),
    ),
    ("runAsUser 0", pod({"containers": container(runAsUser=0)}), "restricted", 33, {"runAsUser"}),
    (
        "escalation unset",
        pod({"containers": [{"name": "a", "image": "i", "securityContext": {"capabilities": {"drop": ["ALL"]}}}]}),
        "restricted",
        33,
        {"allowPrivilegeEscalation"},
    ),
]


@pytest.mark.parametrize(("case", "obj", "level", "minor", "expected"), TABLE, ids=[row[0] for row in TABLE])
def test_table(case: str, obj: dict[str, Any], level: str, minor: int, expected: set[str]):
    assert _ids(violations(obj, level, minor)) == expected


def test_host_network_ports_are_host_ports():
    """The API server defaults `hostPort` to `containerPort` under `hostNetwork` before admission: node-exporter's
    chart sets no hostPort, yet its pods use hostPort 9100."""
    spec = copy.deepcopy(NODE_EXPORTER)
    del spec["containers"][0]["ports"][0]["hostPort"]
    messages = {v.check: v.message for v in violations(pod(spec), "baseline", 33)}
    assert messages["hostPorts"] == 'hostPort (container "node-exporter" uses hostPort 9100)'
    spec["hostNetwork"] = False
    assert "hostPorts" not in _ids(violations(pod(spec), "baseline", 33))
    assert spec["containers"][0]["ports"][0].get("hostPort") is None  # the object itself is left alone


def test_probe_host_is_refused_from_1_34_only():
    spec = {"containers": container()}
    spec["containers"][0]["readinessProbe"] = {"httpGet": {"host": "10.0.0.1", "port": 80}}
    assert _ids(violations(pod(spec), "baseline", 33)) == set()
    assert _ids(violations(pod(spec), "baseline", 34)) == {"hostProbesAndHostLifecycle"}


def test_node_exporter_messages_name_what_is_refused():
    messages = {v.check: v.message for v in violations(pod(NODE_EXPORTER), "baseline", 33)}
    assert messages["hostNamespaces"] == "host namespaces (hostNetwork=true, hostPID=true)"
    assert messages["hostPathVolumes"] == 'hostPath volumes (volumes "proc", "sys", "root")'
    assert messages["hostPorts"] == 'hostPort (container "node-exporter" uses hostPort 9100)'


@pytest.mark.parametrize("kind", sorted(POD_TEMPLATE_PATHS))
def test_every_workload_kind_is_checked_through_its_pod_template(kind: str):
    template = {"metadata": {}, "spec": copy.deepcopy(NODE_EXPORTER)}
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": kind, "metadata": {"name": "w"}}
    path = POD_TEMPLATE_PATHS[kind]
    if not path:
        obj.update(template)
    else:
        node = obj
        for step in path[:-1]:
            node = node.setdefault(step, {})
        node[path[-1]] = template
    assert pod_template(obj) is not None
    assert "hostNamespaces" in _ids(violations(obj, "baseline", 33))


def test_objects_without_pods_have_no_violation():
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"hostNetwork": True}}
    assert pod_template(service) is None and violations(service, "restricted", 33) == []


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (None, ("privileged", 33)),
        ({ENFORCE_LABEL: "baseline"}, ("baseline", 33)),
        ({ENFORCE_LABEL: "restricted", ENFORCE_VERSION_LABEL: "v1.30"}, ("restricted", 30)),
        ({ENFORCE_LABEL: "baseline", ENFORCE_VERSION_LABEL: "latest"}, ("baseline", 33)),
        ({ENFORCE_LABEL: "baseline", ENFORCE_VERSION_LABEL: "v1.40"}, ("baseline", 33)),
        ({ENFORCE_LABEL: "nonsense"}, ("restricted", 33)),
        ({ENFORCE_LABEL: "baseline", ENFORCE_VERSION_LABEL: "soon"}, ("restricted", 33)),
    ],
)
def test_namespace_level(labels, expected):
    assert namespace_level(labels, 33) == expected


def test_unknown_level_is_an_error():
    with pytest.raises(ValueError, match="unknown Pod Security level"):
        checks_for("strict", 33)
