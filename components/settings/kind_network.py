"""Fixed addresses the local kind cluster and the in-cluster Services must agree on.

The kind configuration (components/local_cluster.py) maps host ports to node ports and points every
node's containerd at the registry; the Traefik values and the registry Service must use the same
numbers. Kept here, in one small module, so neither side guesses the other's values.
"""

from __future__ import annotations

# kind's own defaults, made explicit: the registry's fixed ClusterIP below must lie inside SERVICE_SUBNET.
POD_SUBNET = "10.244.0.0/16"
SERVICE_SUBNET = "10.96.0.0/16"

# The in-cluster registry gets a second Service with this fixed ClusterIP in the kind cluster
# (manifests/gitops/registry-mirror, a layer enabled only with kubernetes.cluster.create). containerd runs in each
# node's network namespace, where kube-proxy's rules make every ClusterIP reachable, so nodes pull through
# it without /etc/hosts entries, Docker host networking, or exposing the registry on a NodePort/host port.
# The registry's TLS certificate must list it as an IP SAN (containerd verifies the endpoint it dials).
REGISTRY_MIRROR_IP = "10.96.0.50"
REGISTRY_PORT = 5000

# Traefik's Service node ports; the kind cluster maps kubernetes.cluster.httpPort/httpsPort to them.
TRAEFIK_WEB_NODE_PORT = 30080
TRAEFIK_WEBSECURE_NODE_PORT = 30443


def registry_mirror_endpoint() -> str:
    """The URL containerd on every kind node uses for the registry host."""
    return f"https://{REGISTRY_MIRROR_IP}:{REGISTRY_PORT}"
