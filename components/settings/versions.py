"""Every chart version and image tag the platform deploys: the one place to bump them.

Chart versions match the reference data in `shared/schemas/helm/SOURCES.md`, so the tests can check
every values override against the chart it is meant for.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chart:
    """A Helm chart pinned to one version in one repository."""

    name: str
    version: str
    repo: str
    # The folder name under shared/schemas/helm/ holding this chart's values.yaml (and schema).
    schema_dir: str


CHARTS: dict[str, Chart] = {
    "flux2": Chart("flux2", "2.18.3", "https://fluxcd-community.github.io/helm-charts", "flux2"),
    "cert-manager": Chart("cert-manager", "v1.21.1", "https://charts.jetstack.io", "cert-manager"),
    "kube-prometheus-stack": Chart(
        "kube-prometheus-stack",
        "88.5.3",
        "https://prometheus-community.github.io/helm-charts",
        "kube-prometheus-stack",
    ),
    "vault": Chart("vault", "0.34.1", "https://helm.releases.hashicorp.com", "vault"),
    "vault-secrets-operator": Chart(
        "vault-secrets-operator", "1.4.1", "https://helm.releases.hashicorp.com", "vault-secrets-operator"
    ),
    "vault-config-operator": Chart(
        "vault-config-operator",
        "v0.8.52",
        "https://redhat-cop.github.io/vault-config-operator",
        "vault-config-operator",
    ),
    "cloudnative-pg": Chart("cloudnative-pg", "0.29.0", "https://cloudnative-pg.github.io/charts", "cloudnative-pg"),
    # backup.enabled: CloudNativePG 1.30's backup mechanism (Barman Cloud as a CNPG-I plugin; the in-tree
    # barmanObjectStore is deprecated). Same repository as the operator's chart.
    "plugin-barman-cloud": Chart(
        "plugin-barman-cloud", "0.7.0", "https://cloudnative-pg.github.io/charts", "plugin-barman-cloud"
    ),
    "minio-operator": Chart("operator", "7.1.1", "https://operator.min.io", "minio-operator"),
    "traefik": Chart("traefik", "41.3.0", "https://traefik.github.io/charts", "traefik"),
    # app.secretsDelivery csi only. No reference data under shared/schemas/helm (the values check exempts it
    # explicitly, tests/unit/charts/test_helm_values.py); the Vault CSI provider reuses the `vault` chart above.
    "secrets-store-csi-driver": Chart(
        "secrets-store-csi-driver",
        "1.5.6",
        "https://kubernetes-sigs.github.io/secrets-store-csi-driver/charts",
        "secrets-store-csi-driver",
    ),
}

# Images the manifests use directly (charts pin their own images through their version).
IMAGES: dict[str, str] = {
    "vault": "hashicorp/vault:2.0.4",
    "registry": "docker.io/library/registry:3.0.0",
    "postgresql": "ghcr.io/cloudnative-pg/postgresql:17.6",
    "minio": "quay.io/minio/minio:RELEASE.2025-04-08T15-41-24Z",
    "app": "registry.local/sms-proxy:0.1.0",
    "migrations": "registry.local/sms-proxy-migrations:0.1.0",
    "kubectl": "docker.io/bitnami/kubectl:1.33.4",
    # The Vault Raft snapshot CronJob (manifests/gitops/vault-backup/): sh + curl (SigV4 uploads since 7.75).
    "curl": "docker.io/curlimages/curl:8.11.1",
    # kind's node image for Kubernetes 1.33 (kind v0.29.0's default, by digest): the local kind cluster.
    "kind-node": "kindest/node:v1.33.1@sha256:050072256b9a903bd914c0b2866828150cb229cea0efe5892e2b644d5dd3b34f",
}


@dataclass(frozen=True)
class Tool:
    """A command-line tool CI downloads: one release URL and the sha256 it must have."""

    version: str
    url: str
    sha256: str


# Tools the preview workflow installs (.github/workflows/preview.yml reads them with
# `python -m components.settings.versions <tool>`). kubectl matches the kubectl image above; the checksum is
# the one dl.k8s.io publishes for that release (kubectl.sha256).
TOOLS: dict[str, Tool] = {
    "kubectl": Tool(
        "1.33.4",
        "https://dl.k8s.io/release/v1.33.4/bin/linux/amd64/kubectl",
        "c2ba72c115d524b72aaee9aab8df8b876e1596889d2f3f27d68405262ce86ca1",
    ),
}


def main(argv: list[str]) -> str:
    """`python -m components.settings.versions TOOL`: `<url> <sha256>` of a pinned tool, for CI."""
    (name,) = argv
    tool = TOOLS[name]
    return f"{tool.url} {tool.sha256}"


if __name__ == "__main__":
    import sys

    print(main(sys.argv[1:]))
