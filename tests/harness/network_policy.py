"""Evaluate rendered NetworkPolicies: would this connection be admitted? (ingress side only)

Kubernetes semantics (networking.k8s.io/v1): a pod is isolated for ingress once any policy with `Ingress` in its
`policyTypes` selects it; it then accepts a connection if any ingress rule of any selecting policy matches both
the port (no `ports` = every port) and the source (no `from` = every source). A peer with `ipBlock` matches an
address in the CIDR outside `except`; `namespaceSelector`/`podSelector` peers match pods only (a namespace
selector alone: every pod of the matching namespaces; a pod selector alone: pods of the policy's namespace).
Traffic from a node's own network namespace (kubelet, containerd) is not a pod: only `ipBlock` or an empty
`from` admit it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: Mapping[str, str] = field(default_factory=dict)
    ip: str = ""


@dataclass(frozen=True)
class Host:
    """A source outside the pod network, e.g. a node address."""

    ip: str


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A LabelSelector against labels (an empty selector selects everything)."""
    selector = selector or {}
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def _namespace_labels(namespace: str) -> dict[str, str]:
    # Every namespace carries this label (Kubernetes >= 1.21); the platform's policies select by it.
    return {"kubernetes.io/metadata.name": namespace}


def _in_block(ip: str, block: Mapping[str, Any]) -> bool:
    if not ip:
        return False
    address = ipaddress.ip_address(ip)
    if address not in ipaddress.ip_network(block["cidr"]):
        return False
    return not any(address in ipaddress.ip_network(e) for e in block.get("except") or [])


def _peer_matches(peer: Mapping[str, Any], policy_namespace: str, source: Pod | Host) -> bool:
    if "ipBlock" in peer:
        return _in_block(source.ip, peer["ipBlock"])
    if not isinstance(source, Pod):
        return False
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], _namespace_labels(source.namespace)):
            return False
    elif source.namespace != policy_namespace:
        return False
    return selects(peer.get("podSelector"), source.labels)


def _port_matches(rule_ports: list[Mapping[str, Any]] | None, port: int, port_names: Mapping[str, int]) -> bool:
    if not rule_ports:
        return True
    for entry in rule_ports:
        if entry.get("protocol", "TCP") != "TCP":
            continue
        wanted = entry.get("port")
        if wanted is None:
            return True
        number = port_names.get(wanted) if isinstance(wanted, str) else int(wanted)
        if number is not None and number <= port <= int(entry.get("endPort") or number):
            return True
    return False


def admits(
    policies: Iterable[Mapping[str, Any]],
    target: Pod,
    port: int,
    source: Pod | Host,
    *,
    port_names: Mapping[str, int] | None = None,
) -> bool:
    """Whether `target` accepts a TCP connection on `port` from `source` under these NetworkPolicies.

    `port_names` maps the target container's named ports to numbers (a policy may name a port)."""
    selecting = [
        p
        for p in policies
        if p.get("kind") == "NetworkPolicy"
        and p["metadata"].get("namespace") == target.namespace
        and "Ingress" in (p["spec"].get("policyTypes") or ["Ingress"])
        and selects(p["spec"].get("podSelector"), target.labels)
    ]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get("ingress") or []:
            if not _port_matches(rule.get("ports"), port, port_names or {}):
                continue
            peers = rule.get("from")
            if not peers or any(_peer_matches(peer, policy["metadata"]["namespace"], source) for peer in peers):
                return True
    return False
