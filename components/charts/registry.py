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


def active(settings: Settings, releases: tuple[ChartRelease, ...] = ALL) -> list[ChartRelease]:
    """The releases these settings install, in registry order."""
    return [release for release in releases if release.enabled(settings)]
