"""The `restricted` Pod Security checks (k8s.io/pod-security-admission `policy/check_*.go`, level restricted).

Each takes (pod metadata, pod spec, Kubernetes minor version) and returns the refusal text or None.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tools.chart_check.pod_security.baseline import SECCOMP_ALLOWED
from tools.chart_check.pod_security.helpers import (
    all_containers,
    containers_text,
    in_user_namespace,
    is_windows,
    mapping_at,
    plural,
    quote,
    security_context,
    setters,
)

_RESTRICTED_VOLUME_OK = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image")
_RESTRICTED_VOLUME_OK += ("persistentVolumeClaim", "projected", "secret")


def restricted_volumes(_meta: Mapping[str, Any], spec: Mapping[str, Any], _minor: int) -> str | None:
    """Only configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, projected, secret."""
    bad, kinds = [], set()
    for volume in spec.get("volumes") or []:
        if not isinstance(volume, Mapping) or any(volume.get(kind) is not None for kind in _RESTRICTED_VOLUME_OK):
            continue
        bad.append(volume.get("name"))
        kinds |= {key for key in volume if key != "name"} or {"unknown"}
    if not bad:
        return None
    return f"restricted volume types ({plural('volume', len(bad))} {quote(bad)} use {quote(kinds)})"


def allow_privilege_escalation(_meta: Mapping[str, Any], spec: Mapping[str, Any], _minor: int) -> str | None:
    """Every container sets `allowPrivilegeEscalation: false` (Windows pods exempt)."""
    if is_windows(spec):
        return None
    bad = [
        c.get("name") for c in all_containers(spec) if security_context(c).get("allowPrivilegeEscalation") is not False
    ]
    if not bad:
        return None
    return f"allowPrivilegeEscalation != false ({containers_text(bad)} must set allowPrivilegeEscalation=false)"


def capabilities_restricted(_meta: Mapping[str, Any], spec: Mapping[str, Any], _minor: int) -> str | None:
    """Every container drops ALL and adds nothing but NET_BIND_SERVICE (Windows pods exempt)."""
    if is_windows(spec):
        return None
    missing_drop, adding, added = [], [], set()
    for container in all_containers(spec):
        capabilities = mapping_at(security_context(container), "capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            missing_drop.append(container.get("name"))
        extra = {str(c) for c in capabilities.get("add") or []} - {"NET_BIND_SERVICE"}
        if extra:
            adding.append(container.get("name"))
            added |= extra
    details = []
    if missing_drop:
        details.append(f'{containers_text(missing_drop)} must set capabilities.drop=["ALL"]')
    if adding:
        details.append(f"{containers_text(adding)} must not include {quote(added)} in capabilities.add")
    return f"unrestricted capabilities ({'; '.join(details)})" if details else None


def run_as_non_root(_meta: Mapping[str, Any], spec: Mapping[str, Any], minor: int) -> str | None:
    """`runAsNonRoot: true` on the pod or every container, never false (user-namespace pods exempt from 1.35)."""
    if in_user_namespace(spec, minor):
        return None
    pod_value = security_context(spec).get("runAsNonRoot")
    explicit, implicit = [], []
    for container in all_containers(spec):
        value = security_context(container).get("runAsNonRoot")
        if value is False:
            explicit.append(container.get("name"))
        elif value is None and pod_value is not True:
            implicit.append(container.get("name"))
    if pod_value is False or explicit:
        return f"runAsNonRoot != true ({setters(pod_value is False, explicit)} must not set runAsNonRoot=false)"
    if implicit:
        return f"runAsNonRoot != true (pod or {containers_text(implicit)} must set runAsNonRoot=true)"
    return None


def run_as_user(_meta: Mapping[str, Any], spec: Mapping[str, Any], minor: int) -> str | None:
    """No `runAsUser: 0` on the pod or a container (user-namespace pods exempt from 1.35)."""
    if in_user_namespace(spec, minor):
        return None
    pod_bad = security_context(spec).get("runAsUser") == 0
    bad = [c.get("name") for c in all_containers(spec) if security_context(c).get("runAsUser") == 0]
    return f"runAsUser=0 ({setters(pod_bad, bad)} must not set runAsUser=0)" if pod_bad or bad else None


def seccomp_restricted(_meta: Mapping[str, Any], spec: Mapping[str, Any], _minor: int) -> str | None:
    """A RuntimeDefault or Localhost seccomp profile on the pod or every container (Windows pods exempt)."""
    if is_windows(spec):
        return None
    pod_profile = mapping_at(security_context(spec), "seccompProfile")
    pod_bad = pod_profile is not None and pod_profile.get("type") not in SECCOMP_ALLOWED
    explicit, implicit = [], []
    for container in all_containers(spec):
        profile = mapping_at(security_context(container), "seccompProfile")
        if profile is not None and profile.get("type") not in SECCOMP_ALLOWED:
            explicit.append(container.get("name"))
        elif profile is None and (pod_profile is None or pod_bad):
            implicit.append(container.get("name"))
    if pod_bad or explicit:
        return f"seccompProfile ({setters(pod_bad, explicit)} must not set seccompProfile.type to Unconfined)"
    if implicit:
        return (
            f"seccompProfile (pod or {containers_text(implicit)} must set seccompProfile.type "
            'to "RuntimeDefault" or "Localhost")'
        )
    return None
