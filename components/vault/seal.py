"""The Kubernetes Secret of Vault's auto-unseal seal (`vault.seal`): its token or cloud credentials and files.

Owns: Secret `<release>-seal` in Vault's namespace (cluster of `infra.vault_provider`). Needs: the seal settings
(secret config values, Pulumi secrets) and the namespace. The chart values (components/charts/vault_seal.py) read
it as environment variables and a mounted volume; nothing of it is in the HCL or the Helm values.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.charts.vault_seal import CA_FILE, seal_secret_name
from components.settings.model import Settings


def seal_secret(
    settings: Settings, provider: k8s.Provider, namespace: pulumi.Resource, parent: pulumi.Resource
) -> k8s.core.v1.Secret | None:
    """The seal Secret, or None with Shamir or a seal that needs no secret (workload identity)."""
    seal = settings.vault.seal
    if not seal.auto:
        return None
    data: dict[str, pulumi.Input[str]] = {**seal.environment, **seal.files}
    if seal.ca_cert:
        data[CA_FILE] = seal.ca_cert
    if not data:
        return None
    return k8s.core.v1.Secret(
        seal_secret_name(settings),
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=seal_secret_name(settings), namespace=settings.namespaces.vault, labels=settings.labels
        ),
        type="Opaque",
        # The whole map is a secret: the token and credentials never appear in the plain state or a preview.
        string_data=pulumi.Output.secret(data),
        opts=pulumi.ResourceOptions(provider=provider, parent=parent, depends_on=[namespace]),
    )
