"""The Kubernetes Pod Security Standards (`baseline`, `restricted`) over plain pod specs.

A transcription of the admission controller's checks (k8s.io/pod-security-admission, `policy/check_*.go`)
into one table: each row is a check with its level, the first Kubernetes minor version it applies to, and
the checks of a lower level it replaces at its own level (e.g. `restrictedVolumes` replaces
`hostPathVolumes`). Version differences inside a check (allowed sysctls, SELinux types, the user-namespace
relaxations of 1.35) are handled by the check itself from the minor version it is given.

The pod spec is first given the API server's defaults that change the outcome (helpers.api_defaults:
under `hostNetwork` every containerPort is also a hostPort), since admission sees the defaulted object.
`violations(obj, level, minor)` answers for any pod-bearing object (a Pod, a workload's pod template, a
CronJob's job template) what the admission controller would refuse at that level; `namespace_level`
reads a Namespace's `pod-security.kubernetes.io/enforce` (and `-version`) labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tools.chart_check.pod_security import baseline, restricted
from tools.chart_check.pod_security.helpers import PodCheck, api_defaults

LEVELS = ("privileged", "baseline", "restricted")
ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
ENFORCE_VERSION_LABEL = "pod-security.kubernetes.io/enforce-version"

# Where each kind keeps its pod template (an object with `metadata` and `spec`); a Pod is its own template.
POD_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": (),
    "PodTemplate": ("template",),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


@dataclass(frozen=True)
class Check:
    """One Pod Security check: `run(pod_metadata, pod_spec, minor)` returns the refusal text or None."""

    id: str
    level: str
    since: int  # first Kubernetes 1.x minor version the check applies to
    run: PodCheck
    overrides: tuple[str, ...] = ()  # lower-level checks this one replaces at its level


@dataclass(frozen=True)
class Violation:
    check: str
    message: str


# --- the table and its evaluation --------------------------------------------------------------------

CHECKS: tuple[Check, ...] = (
    Check("hostNamespaces", "baseline", 0, baseline.host_namespaces),
    Check("privileged", "baseline", 0, baseline.privileged),
    Check("capabilities_baseline", "baseline", 0, baseline.capabilities_baseline),
    Check("hostPathVolumes", "baseline", 0, baseline.host_path_volumes),
    Check("hostPorts", "baseline", 0, baseline.host_ports),
    Check("appArmorProfile", "baseline", 0, baseline.app_armor),
    Check("seLinuxOptions", "baseline", 0, baseline.se_linux),
    Check("procMount", "baseline", 0, baseline.proc_mount_baseline),
    Check("seccompProfile_baseline", "baseline", 19, baseline.seccomp_baseline),
    Check("sysctls", "baseline", 0, baseline.sysctls),
    Check("windowsHostProcess", "baseline", 0, baseline.windows_host_process),
    Check("hostProbesAndHostLifecycle", "baseline", 34, baseline.host_probes),
    Check("restrictedVolumes", "restricted", 0, restricted.restricted_volumes, ("hostPathVolumes",)),
    Check("allowPrivilegeEscalation", "restricted", 8, restricted.allow_privilege_escalation),
    Check("runAsNonRoot", "restricted", 0, restricted.run_as_non_root),
    Check("runAsUser", "restricted", 23, restricted.run_as_user),
    Check("seccompProfile_restricted", "restricted", 19, restricted.seccomp_restricted, ("seccompProfile_baseline",)),
    Check("capabilities_restricted", "restricted", 22, restricted.capabilities_restricted, ("capabilities_baseline",)),
    Check("procMount_restricted", "restricted", 35, baseline.proc_mount_restricted, ("procMount",)),
)


def checks_for(level: str, minor: int) -> list[Check]:
    """The checks the admission controller runs at `level` for Kubernetes 1.`minor`."""
    if level not in LEVELS:
        raise ValueError(f"unknown Pod Security level {level!r} (expected one of {', '.join(LEVELS)})")
    rank = LEVELS.index(level)
    active = [c for c in CHECKS if LEVELS.index(c.level) <= rank and c.since <= minor]
    replaced = {overridden for check in active for overridden in check.overrides}
    return [check for check in active if check.id not in replaced]


def pod_template(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The pod template (metadata + spec) of a pod-bearing object, or None for any other kind."""
    path = POD_TEMPLATE_PATHS.get(str(obj.get("kind")))
    if path is None:
        return None
    node: Any = obj
    for step in path:
        node = node.get(step) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) and isinstance(node.get("spec"), Mapping) else None


def violations(obj: Mapping[str, Any], level: str, minor: int) -> list[Violation]:
    """What Pod Security admission at `level` (Kubernetes 1.`minor`) refuses in this object's pods."""
    template = pod_template(obj)
    if template is None:
        return []
    meta = template.get("metadata") if isinstance(template.get("metadata"), Mapping) else {}
    spec = api_defaults(template["spec"])
    found = []
    for check in checks_for(level, minor):
        message = check.run(meta, spec, minor)
        if message:
            found.append(Violation(check.id, message))
    return found


def namespace_level(labels: Mapping[str, Any] | None, cluster_minor: int) -> tuple[str, int]:
    """(level, minor version) a namespace enforces: no label means `privileged` (the cluster default without
    an admission configuration); an unparsable label is evaluated as `restricted`, as the controller does."""
    labels = labels or {}
    level = labels.get(ENFORCE_LABEL) or "privileged"
    if level not in LEVELS:
        level = "restricted"
    version = str(labels.get(ENFORCE_VERSION_LABEL) or "latest")
    minor = cluster_minor
    if version != "latest":
        try:
            minor = min(cluster_minor, int(version.removeprefix("v").split(".")[1]))
        except (IndexError, ValueError):
            level, minor = "restricted", cluster_minor
    return level, minor
