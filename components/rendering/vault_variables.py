"""The `${var}` substitution variables of the Vault layers (manifests/vault, manifests/vault-operators).

Merged into `components.rendering.layers.variables()`; names come from the modules that also build the chart
values, so a certificate and the volume that mounts it cannot drift apart.
"""

from __future__ import annotations

import json

from components.charts.vault import dns_names_variable, service_account, tls_secret
from components.charts.vault_operators import operator_ca_secret
from components.settings import names as contract
from components.settings import placement
from components.settings.model import Settings


def vault_variables(settings: Settings) -> dict[str, str]:
    return {
        "vault_server_dns_names": dns_names_variable(settings),
        "vault_tls_secret": tls_secret(settings),
        "vault_service_account": service_account(settings),
        "vault_postgres_client_secret": contract.POSTGRES_CLIENT_CERT_SECRET,
        "vault_db_root_user": contract.DB_ROOT_USER,
        "vault_ca_secret": operator_ca_secret(),
        # The port the app cluster's operators dial Vault on (network-policies-vault-external).
        "vault_client_port": str(placement.client_port(settings)),
        "vault_server_ip_addresses": json.dumps(placement.server_ip_addresses(settings)),
        "vault_token_reviewer": placement.TOKEN_REVIEWER_SERVICE_ACCOUNT,
    }
