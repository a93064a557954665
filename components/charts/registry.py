"""Every Helm release the program installs, in one list: where to find any chart's values and switch.

Each chart module declares its `ChartRelease` beside its values; the layer that installs it loops over its
part of this registry: the operators layer over `OPERATORS` (in order: a release only follows releases
listed before it), the Vault server layer over `VAULT_SERVER`, the Vault operators layer over
`VAULT_OPERATORS`. Versions are pinned in components/settings/versions.py.
"""

from __future__ import annotations

from components.charts import (
    cert_manager,
    cloudnative_pg,
    flux,
    minio,
    monitoring,
    secrets_csi,
    traefik,
    vault,
    vault_operators,
)
from components.charts.release import ChartRelease
from components.settings.model import Settings

OPERATORS: tuple[ChartRelease, ...] = (
    cert_manager.RELEASE,
    monitoring.RELEASE,
    flux.RELEASE,
    cloudnative_pg.RELEASE,
    cloudnative_pg.BARMAN_CLOUD,
    minio.RELEASE,
    traefik.RELEASE,
    # The Secrets Store CSI driver and the Vault CSI provider (app.secretsDelivery: csi), in kube-system.
    secrets_csi.DRIVER,
    secrets_csi.PROVIDER,
)
VAULT_SERVER = vault.RELEASE
VAULT_OPERATORS: tuple[ChartRelease, ...] = (vault_operators.SECRETS_OPERATOR, vault_operators.CONFIG_OPERATOR)
ALL: tuple[ChartRelease, ...] = (*OPERATORS, VAULT_SERVER, *VAULT_OPERATORS)


# API group (exact, or a suffix after a dot) -> the release whose chart installs its CRDs: a manifest layer with
# an object of that group waits for that release (components/layers/app_layers.py), and for no other.
CRD_GROUPS: dict[str, str] = {
    "cert-manager.io": cert_manager.RELEASE.name,
    "monitoring.coreos.com": monitoring.RELEASE.name,
    "toolkit.fluxcd.io": flux.RELEASE.name,
    "secrets.hashicorp.com": vault_operators.SECRETS_OPERATOR.name,
    "redhatcop.redhat.io": vault_operators.CONFIG_OPERATOR.name,
    "postgresql.cnpg.io": cloudnative_pg.RELEASE.name,
    "barmancloud.cnpg.io": cloudnative_pg.BARMAN_CLOUD.name,
    "minio.min.io": minio.RELEASE.name,
    "traefik.io": traefik.RELEASE.name,
    "secrets-store.csi.x-k8s.io": secrets_csi.DRIVER.name,
}


def crd_release(api_version: str) -> str | None:
    """The release installing the CRD of this apiVersion; None for built-in kinds (core, apps, *.k8s.io)."""
    group = api_version.rpartition("/")[0]
    if "." not in group or (group.endswith(".k8s.io") and not group.endswith(".x-k8s.io")):
        return None
    for provided, release in CRD_GROUPS.items():
        if group == provided or group.endswith("." + provided):
            return release
    raise ValueError(f"{api_version}: no release known to install this API group; add it to CRD_GROUPS")


def active(settings: Settings, releases: tuple[ChartRelease, ...] = ALL) -> list[ChartRelease]:
    """The releases these settings install, in registry order."""
    return [release for release in releases if release.enabled(settings)]
