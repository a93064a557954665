"""The `baseline` Pod Security checks (k8s.io/pod-security-admission `policy/check_*.go`, level baseline).

Each takes (pod metadata, pod spec, Kubernetes minor version) and returns the refusal text or None.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tools.chart_check.pod_security.helpers import (
    all_containers,
    containers_text,
    in_user_namespace,
    mapping_at,
    plural,
    quote,
    security_context,
    setters,
)


def host_namespaces(_meta: Mapping[str, Any], spec: Mapping[str, Any], _minor: int) -> str | None:
    """No hostNetwork, hostPID or hostIPC."""
    found = [f"{field}=true" for field in ("hostNetwork", "hostPID", "hostIPC") if spec.get(field) is True]
    return f"host namespaces ({', '.join(found)})" if found else None


def privileged(_meta: Mapping[str, Any], spec: Mapping[str, Any], _minor: int) -> str | None:
    """No privileged container."""
    bad = [c.get("name") for c in all_containers(spec) if security_context(c).get("privileged") is True]
    return f"privileged ({containers_text(bad)} must not set securityContext.privileged=true)" if bad else None


BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)


def capabilities_baseline(_meta: Mapping[str, Any], spec: Mapping[str, Any], _minor: int) -> str | None:
    """Containers add only capabilities of the container runtime's default set."""
    bad, added = [], set()
    for container in all_containers(spec):
        extra = {str(c) for c in (mapping_at(security_context(container), "capabilities") or {}).get("add") or []}
        extra -= BASELINE_CAPABILITIES
        if extra:
            bad.append(container.get("name"))
            added |= extra
    if not bad:
        return None
    return f"non-default capabilities ({containers_text(bad)} must not include {quote(added)} in capabilities.add)"


def host_path_volumes(_meta: Mapping[str, Any], spec: Mapping[str, Any], _minor: int) -> str | None:
    """No hostPath volume."""
    names = [v.get("name") for v in spec.get("volumes") or [] if isinstance(v, Mapping) and v.get("hostPath")]
    return f"hostPath volumes ({plural('volume', len(names))} {quote(names)})" if names else None


def host_ports(_meta: Mapping[str, Any], spec: Mapping[str, Any], _minor: int) -> str | None:
    """No container port with a hostPort (after defaulting: see helpers.api_defaults)."""
    bad, ports = [], set()
    for container in all_containers(spec):
        used = {str(p.get("hostPort")) for p in container.get("ports") or [] if p.get("hostPort")}
        if used:
            bad.append(container.get("name"))
            ports |= used
    if not bad:
        return None
    verb = "uses" if len(bad) == 1 else "use"
    return f"hostPort ({containers_text(bad)} {verb} {plural('hostPort', len(ports))} {', '.join(sorted(ports))})"


def _apparmor_ok(profile: Mapping[str, Any] | None) -> bool:
    return profile is None or profile.get("type") in ("RuntimeDefault", "Localhost")


def app_armor(meta: Mapping[str, Any], spec: Mapping[str, Any], _minor: int) -> str | None:
    """AppArmor profiles (fields or the beta annotations) only RuntimeDefault or Localhost."""
    pod_bad = not _apparmor_ok(mapping_at(security_context(spec), "appArmorProfile"))
    bad = [
        c.get("name")
        for c in all_containers(spec)
        if not _apparmor_ok(mapping_at(security_context(c), "appArmorProfile"))
    ]
    prefix = "container.apparmor.security.beta.kubernetes.io/"
    annotations = sorted(
        f'{key}="{value}"'
        for key, value in (meta.get("annotations") or {}).items()
        if key.startswith(prefix) and value and value != "runtime/default" and not str(value).startswith("localhost/")
    )
    if not (pod_bad or bad or annotations):
        return None
    who = " and ".join(filter(None, [setters(pod_bad, bad), ", ".join(annotations)]))
    return f"forbidden AppArmor profile ({who}: only RuntimeDefault or Localhost profiles are allowed)"


def se_linux(_meta: Mapping[str, Any], spec: Mapping[str, Any], minor: int) -> str | None:
    """SELinux type only container_t and kin (container_engine_t from 1.31); no user or role."""
    allowed = {"", "container_t", "container_init_t", "container_kvm_t"}
    if minor >= 31:
        allowed.add("container_engine_t")

    def bad(item: Mapping[str, Any]) -> bool:
        options = mapping_at(security_context(item), "seLinuxOptions")
        if options is None:
            return False
        return str(options.get("type") or "") not in allowed or bool(options.get("user")) or bool(options.get("role"))

    containers = [c.get("name") for c in all_containers(spec) if bad(c)]
    if not (bad(spec) or containers):
        return None
    return f"seLinuxOptions ({setters(bad(spec), containers)} set a forbidden type, user or role)"


def _proc_mount(spec: Mapping[str, Any]) -> str | None:
    bad, kinds = [], set()
    for container in all_containers(spec):
        mount = security_context(container).get("procMount")
        if mount is not None and mount != "Default":
            bad.append(container.get("name"))
            kinds.add(str(mount))
    return f"procMount ({containers_text(bad)} must not set procMount to {quote(kinds)})" if bad else None


def proc_mount_baseline(_meta: Mapping[str, Any], spec: Mapping[str, Any], minor: int) -> str | None:
    """procMount Default (any value in a user namespace from 1.35)."""
    return None if in_user_namespace(spec, minor) else _proc_mount(spec)


def proc_mount_restricted(_meta: Mapping[str, Any], spec: Mapping[str, Any], _minor: int) -> str | None:
    """procMount Default, user namespace or not (restricted, from 1.35)."""
    return _proc_mount(spec)


SECCOMP_ALLOWED = ("RuntimeDefault", "Localhost")


def seccomp_baseline(_meta: Mapping[str, Any], spec: Mapping[str, Any], _minor: int) -> str | None:
    """A seccomp profile, where set, is RuntimeDefault or Localhost."""

    def bad(item: Mapping[str, Any]) -> bool:
        profile = mapping_at(security_context(item), "seccompProfile")
        return profile is not None and profile.get("type") not in SECCOMP_ALLOWED

    containers = [c.get("name") for c in all_containers(spec) if bad(c)]
    if not (bad(spec) or containers):
        return None
    return f"seccompProfile ({setters(bad(spec), containers)} must not set seccompProfile.type to Unconfined)"


def _safe_sysctls(minor: int) -> set[str]:
    allowed = {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start",
    }
    by_version = {
        27: ("net.ipv4.ip_local_reserved_ports",),
        29: (
            "net.ipv4.tcp_keepalive_time",
            "net.ipv4.tcp_fin_timeout",
            "net.ipv4.tcp_keepalive_intvl",
            "net.ipv4.tcp_keepalive_probes",
        ),
        32: ("net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"),
        37: ("net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat"),
    }
    for since, names in by_version.items():
        if minor >= since:
            allowed.update(names)
    return allowed


def sysctls(_meta: Mapping[str, Any], spec: Mapping[str, Any], minor: int) -> str | None:
    """Only the safe sysctls of that Kubernetes version."""
    allowed = _safe_sysctls(minor)
    names = [str(s.get("name")) for s in security_context(spec).get("sysctls") or [] if s.get("name") not in allowed]
    return f"forbidden sysctls ({', '.join(names)})" if names else None


def windows_host_process(_meta: Mapping[str, Any], spec: Mapping[str, Any], _minor: int) -> str | None:
    """No Windows hostProcess pod or container."""

    def bad(item: Mapping[str, Any]) -> bool:
        return (mapping_at(security_context(item), "windowsOptions") or {}).get("hostProcess") is True

    containers = [c.get("name") for c in all_containers(spec) if bad(c)]
    if not (bad(spec) or containers):
        return None
    return f"hostProcess ({setters(bad(spec), containers)} must not set windowsOptions.hostProcess=true)"


def host_probes(_meta: Mapping[str, Any], spec: Mapping[str, Any], _minor: int) -> str | None:
    """No `host` in probes or lifecycle handlers (from 1.34)."""
    bad, hosts = [], set()
    for container in all_containers(spec):
        handlers = [container.get(p) for p in ("livenessProbe", "readinessProbe", "startupProbe")]
        handlers += [(container.get("lifecycle") or {}).get(h) for h in ("postStart", "preStop")]
        found = {
            str(action["host"])
            for handler in handlers
            if isinstance(handler, Mapping)
            for action in (handler.get("httpGet"), handler.get("tcpSocket"))
            if isinstance(action, Mapping) and action.get("host")
        }
        if found:
            bad.append(container.get("name"))
            hosts |= found
    return f"probe or lifecycle host ({containers_text(bad)} use hosts {quote(hosts)})" if bad else None
