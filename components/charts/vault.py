"""Values for the official Vault chart (pinned in components/versions.py), built from the settings.

Mode follows `vault.replicas`: 1 = standalone (single-node Raft, HA off), 3/5/7 = HA Raft with one
`retry_join` block per peer; 2 is refused by the config reader (no quorum after one loss).

TLS everywhere: the listener serves the `issuer-leaf` certificate from manifests/bootstrap/vault/ (its Secret has
`tls.crt` = leaf + intermediate, `tls.key`, `ca.crt` = root CA). The same certificate is each node's
client certificate when it joins the leader (`leader_client_cert_file`), so it carries `client auth`,
and its dnsNames (`server_dns_names()`) cover every `leader_api_addr` host below: the classic
Raft-over-TLS failure is a peer name missing from the certificate.

Why a Pulumi Helm release (components/helm.py) and not a Flux HelmRelease as the original had: Vault
is a bootstrap layer. The program itself must initialise and unseal it in the same `pulumi up`, in
both stacks, before Flux has anything to reconcile; a `helm.v3.Release` keeps these values as plain inputs
the tests validate against the chart's schema. It does not wait for the pods: they are Ready only once
unsealed (see READINESS_PATH), and unsealing is the program's next step.
"""

from __future__ import annotations

from typing import Any

from components.charts.release import ChartRelease
from components.charts.vault_seal import seal_server_values, seal_stanza
from components.settings import names, placement
from components.settings.model import AntiAffinity, Settings
from components.settings.versions import IMAGES

USERCONFIG = "/vault/userconfig"
TLS_DIR = f"{USERCONFIG}/tls"
DATA_PATH = "/vault/data"
AUDIT_PATH = "/vault/audit"
# Ready = initialised and unsealed (active 200, standby 429 made 200 by standbyok). A sealed pod (503) or an
# uninitialised one (501) is NotReady, so the PodDisruptionBudget counts it as down and a drain or a rolling
# update stops instead of sealing the next voter. Nothing in the deploy path waits for readiness: the
# release does not await its pods (RELEASE.await_ready=False), init and unseal port-forward to pods directly,
# and the chart's Services publish not-ready addresses (server.service.publishNotReadyAddresses default).
READINESS_PATH = "/v1/sys/health?standbyok=true"
# Liveness stays tolerant: a sealed or uninitialised pod is alive, and restarting it would only seal it again.
LIVENESS_PATH = "/v1/sys/health?standbyok=true&sealedcode=204&uninitcode=204"
LIVENESS_INITIAL_DELAY = 60  # the original's value: Raft replay on a big data dir takes a while


def _listener() -> str:
    return f'''listener "tcp" {{
  address         = "[::]:{names.VAULT_PORT}"
  cluster_address = "[::]:8201"
  tls_cert_file   = "{TLS_DIR}/tls.crt"
  tls_key_file    = "{TLS_DIR}/tls.key"
  tls_min_version = "tls12"
  telemetry {{
    unauthenticated_metrics_access = true
  }}
}}'''


def _retry_join(address: str) -> str:
    return f'''  retry_join {{
    leader_api_addr         = "{address}"
    leader_ca_cert_file     = "{TLS_DIR}/ca.crt"
    leader_client_cert_file = "{TLS_DIR}/tls.crt"
    leader_client_key_file  = "{TLS_DIR}/tls.key"
  }}'''


def server_config(settings: Settings) -> str:
    """The Vault server HCL. Avoid the words the chart's start script rewrites with sed (POD_IP, HOST_IP,
    HOSTNAME, API_ADDR, ...): it substitutes them anywhere in this text."""
    joins = [_retry_join(address) for address in placement.peer_addresses(settings)] if settings.vault.ha else []
    storage = "\n".join([f'storage "raft" {{\n  path = "{DATA_PATH}"', *joins, "}"])
    standalone = (
        []
        if settings.vault.ha
        # Raft needs a cluster address; in HA the chart sets it per pod, a single node never dials it.
        else [f'cluster_addr = "https://127.0.0.1:8201"\napi_addr = "https://127.0.0.1:{names.VAULT_PORT}"']
    )
    parts = [
        "ui = true",
        # mlock cannot pin Raft's memory-mapped BoltDB files (Vault's docs advise disabling it with
        # integrated storage), and Kubernetes nodes run without swap, so nothing would be paged out anyway.
        "disable_mlock = true",
        *standalone,
        _listener(),
        storage,
        # Labels pods vault-active/vault-sealed/..., which the -active/-standby Services select on.
        'service_registration "kubernetes" {}',
        'telemetry {\n  prometheus_retention_time = "30s"\n  disable_hostname = true\n}',
        # Auto-unseal (vault.seal): pods unseal themselves after every restart; "" with Shamir.
        *filter(None, [seal_stanza(settings)]),
    ]
    return "\n\n".join(parts) + "\n"


def _affinity(settings: Settings) -> dict[str, Any]:
    term = {
        "labelSelector": {
            "matchLabels": {
                "app.kubernetes.io/name": "vault",
                "app.kubernetes.io/instance": settings.vault.release_name,
                "component": "server",
            }
        },
        "topologyKey": "kubernetes.io/hostname",
    }
    if settings.vault.anti_affinity is AntiAffinity.REQUIRED:
        # One Vault pod per node: losing a node costs at most one Raft voter.
        return {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}
    # vault.antiAffinity=preferred: single-node clusters may stack pods (and lose quorum with the node).
    return {
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": term}]
        }
    }


def _image() -> dict[str, str]:
    repository, _, tag = IMAGES["vault"].rpartition(":")
    return {"repository": repository, "tag": tag}


def _secret_volume(name: str, secret: str, mount_path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    # 0440 with the pod's fsGroup: readable by Vault (gid 1000), by nobody else.
    volume = {"name": name, "secret": {"secretName": secret, "defaultMode": 0o440}}
    return volume, {"name": name, "mountPath": mount_path, "readOnly": True}


TMP_VOLUME = {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}
TMP_MOUNT = {"name": "tmp", "mountPath": "/tmp"}  # noqa: S108 (a path inside the container, an emptyDir)
_POD_SECURITY = {
    "pod": {
        "runAsNonRoot": True,
        "runAsUser": 100,
        "runAsGroup": 1000,
        "fsGroup": 1000,
        "seccompProfile": {"type": "RuntimeDefault"},
    },
    # Read-only root: the only path the chart's start command writes is /tmp (the rendered HCL), an emptyDir
    # (server.volumes below); data and audit are PVCs.
    "container": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": True},
}


def _server(settings: Settings) -> dict[str, Any]:
    """`server:` without its mode (standalone or HA Raft, see `_mode`)."""
    vault = settings.vault
    tls_volume, tls_mount = _secret_volume("tls", placement.tls_secret(settings), TLS_DIR)
    pg_volume, pg_mount = _secret_volume(
        "postgres-client", names.POSTGRES_CLIENT_CERT_SECRET, names.POSTGRES_CLIENT_CERT_DIR
    )
    probe = {"enabled": True, "port": names.VAULT_PORT}
    seal = seal_server_values(settings)
    return {
        "image": _image(),
        # Requests sized for a small production cluster; no CPU limit (throttling stalls Raft heartbeats).
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
        "readinessProbe": {**probe, "path": READINESS_PATH, "initialDelaySeconds": 5, "periodSeconds": 5},
        "livenessProbe": {
            **probe,
            "path": LIVENESS_PATH,
            "initialDelaySeconds": LIVENESS_INITIAL_DELAY,
            "periodSeconds": 10,
        },
        "affinity": _affinity(settings),
        "volumes": [tls_volume, pg_volume, TMP_VOLUME, *seal.get("volumes", [])],
        "volumeMounts": [tls_mount, pg_mount, TMP_MOUNT, *seal.get("volumeMounts", [])],
        # The seal's token / credentials, from the Secret components/vault/seal.py creates (never in the HCL).
        **({"extraSecretEnvironmentVars": seal["extraSecretEnvironmentVars"]} if seal else {}),
        # The CLI inside the pods (`kubectl exec ... vault status`) trusts the platform CA.
        "extraEnvironmentVars": {"VAULT_CACERT": f"{TLS_DIR}/ca.crt"},
        "dataStorage": {"enabled": True, "size": vault.storage_size, "mountPath": DATA_PATH},
        # The file audit device (enabled through the API by the bootstrap) writes here.
        "auditStorage": {"enabled": True, "size": vault.audit_storage_size, "mountPath": AUDIT_PATH},
        # Our own binding in manifests/bootstrap/vault-operators/ instead: visible, reviewed and tested there.
        "authDelegator": {"enabled": False},
        "serviceAccount": {
            "create": True,
            "name": placement.service_account(settings),
            "serviceDiscovery": {"enabled": True},
            # Workload identity for a cloud KMS seal (IRSA, GKE/Azure workload identity), when configured.
            **(
                {"annotations": vault.seal.service_account_annotations}
                if vault.seal.service_account_annotations
                else {}
            ),
        },
        "statefulSet": {"securityContext": _POD_SECURITY},
    }


def _mode(settings: Settings) -> dict[str, Any]:
    """Standalone (1 replica) or HA Raft with a PodDisruptionBudget that keeps quorum."""
    vault = settings.vault
    if not vault.ha:
        return {"standalone": {"enabled": True, "config": server_config(settings)}, "ha": {"enabled": False}}
    return {
        "standalone": {"enabled": False},
        "ha": {
            "enabled": True,
            "replicas": vault.replicas,
            "raft": {"enabled": True, "setNodeId": True, "config": server_config(settings)},
            # Raft keeps quorum while a minority is down: 1 of 3, 2 of 5.
            "disruptionBudget": {"enabled": True, "maxUnavailable": (vault.replicas - 1) // 2},
        },
    }


def vault_values(settings: Settings) -> dict[str, Any]:
    """The chart values for this stack's settings."""
    vault = settings.vault
    return {
        # Names = release name whatever it is (the chart appends "-vault" otherwise), so pods are
        # `<release>-N` as VaultSettings.pods and the certificate assume.
        "fullnameOverride": vault.release_name,
        "global": {"tlsDisable": False},
        # Secrets reach workloads through the Vault Secrets Operator (or the CSI driver), not the injector.
        "injector": {"enabled": False},
        "server": {**_server(settings), **_mode(settings)},
        "ui": {"enabled": True, "serviceType": "ClusterIP"},
        "serverTelemetry": {
            "serviceMonitor": {
                # kube-prometheus-stack (the CRD and the Prometheus) runs in the application cluster only; a
                # second Vault cluster (vault.kubeContext) is scraped by that cluster's own monitoring.
                "enabled": settings.vault.in_app_cluster,
                "tlsConfig": {
                    "ca": {"secret": {"name": placement.tls_secret(settings), "key": "ca.crt"}},
                    "serverName": f"{vault.release_name}.{settings.namespaces.vault}.svc",
                },
            }
        },
    }


RELEASE = ChartRelease(
    name="vault",
    chart="vault",
    namespace=lambda s: s.namespaces.vault,
    values=vault_values,
    enabled=lambda s: s.vault.deployed,
    configured_name=lambda s: s.vault.release_name,
    # Pods are NotReady until the program initialises and unseals them, which runs after the release: awaiting
    # readiness here (Helm --wait, atomic) would hang until the timeout and then roll the release back.
    await_ready=False,
)
