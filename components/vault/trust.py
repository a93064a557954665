"""What the application cluster trusts and hands to Vault when Vault runs outside it.

Same cluster (default): nothing here. The operators' CA Secrets are cert-manager Certificates
(manifests/bootstrap/vault-operators/ca-certificates.yaml, and manifests/gitops/app-csi-vault-ca/ for the CSI
provider) and Vault reviews tokens with its own pod token.

Vault elsewhere:
  - the operators' CA Secrets (`names.VAULT_CA_SECRET` in the VSO and vault-config-operator namespaces, and
    with `app.secretsDelivery: csi` the Vault CSI provider's in kube-system) are written by Pulumi with the
    CA that signed Vault's certificate: `vault.externalCaCert` for an existing Vault, or the `ca.crt` of
    Vault's TLS Secret read from the second cluster (`vault.kubeContext`), whose own cert-manager and PKI
    issue it (components/vault/cluster_pki.py);
  - Kubernetes auth reviews this cluster's tokens with the token reviewer of
    manifests/bootstrap/vault-operators-external/: `kubernetes_auth()` creates its token Secret and returns the token
    and this cluster's API CA for `vault.kubernetes.AuthBackendConfig`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.kube.read import decoded, secret_data_after
from components.layers.infra import InfraComponent
from components.settings import names, placement
from components.settings.model import Settings


@dataclass(frozen=True)
class KubernetesAuthConfig:
    """Arguments of `vault.kubernetes.AuthBackendConfig` for this placement (see placement.py).

    `token_reviewer_jwt` (a Pulumi secret) and `kubernetes_ca_cert` are None when Vault runs in the app
    cluster (it uses its pod's own token and CA then).
    """

    kubernetes_host: str
    disable_local_ca_jwt: bool
    token_reviewer_jwt: pulumi.Output[str] | None
    kubernetes_ca_cert: pulumi.Output[str] | None


def vault_ca_pem(
    settings: Settings, infra: InfraComponent, release: pulumi.Resource | None, parent: pulumi.Resource
) -> pulumi.Output[str]:
    """The PEM CA that verifies Vault's certificate (a Pulumi secret only so the policy pack's
    secret-values rule holds; a CA certificate is public)."""
    if settings.vault.external:
        return pulumi.Output.secret(settings.vault.external_ca_cert)
    assert settings.vault.separate_cluster and release is not None
    # The Vault cluster's root CA, as cert-manager keeps it in Vault's TLS Secret next to the certificate.
    server_tls = secret_data_after(
        "vault-cluster-ca",
        settings.namespaces.vault,
        placement.tls_secret(settings),
        release,
        infra.vault_provider,
        parent,
        preview=settings.preview,
    )
    return pulumi.Output.secret(server_tls.apply(decoded("ca.crt")))


def ca_secret_namespaces(settings: Settings) -> list[str]:
    """Where Vault's clients in the app cluster read the CA Secret `names.VAULT_CA_SECRET`: both operators' namespaces
    and, in csi mode, the Vault CSI provider's (a VaultConnection's `caCertSecretRef` and a pod volume only read
    Secrets of their own namespace)."""
    ns = settings.namespaces
    csi = [names.SECRETS_STORE_CSI_NAMESPACE] if settings.app.csi else []
    return [ns.vault_secrets_operator, ns.vault_config_operator, *csi]


def operator_ca_secrets(
    settings: Settings,
    infra: InfraComponent,
    ca_pem: pulumi.Output[str],
    *,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource],
    opts: pulumi.ResourceOptions | None = None,
) -> list[k8s.core.v1.Secret]:
    """The CA Secrets of Vault's clients in the app cluster, one per namespace of `ca_secret_namespaces()`
    (the same Secret the same-cluster layers have cert-manager issue)."""
    secrets = []
    for namespace in ca_secret_namespaces(settings):
        # kube-system is the cluster's own, not one the program creates.
        created = [infra.namespaces[namespace]] if namespace in infra.namespaces else []
        secrets.append(
            k8s.core.v1.Secret(
                f"{names.VAULT_CA_SECRET}-{namespace}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=names.VAULT_CA_SECRET,
                    namespace=namespace,
                    labels={**settings.labels, "app.kubernetes.io/component": "vault-ca"},
                ),
                type="Opaque",
                string_data={"ca.crt": ca_pem},
                opts=pulumi.ResourceOptions.merge(
                    pulumi.ResourceOptions(parent=parent, provider=infra.provider, depends_on=[*depends_on, *created]),
                    opts,
                ),
            )
        )
    return secrets


def kubernetes_auth(
    settings: Settings, infra: InfraComponent, reviewer_objects: pulumi.Resource | None, parent: pulumi.Resource
) -> tuple[KubernetesAuthConfig, k8s.core.v1.Secret | None]:
    """Kubernetes auth config for this placement, and the reviewer's token Secret when Vault is elsewhere.

    `reviewer_objects` is the layer that creates the reviewer ServiceAccount and its TokenReview binding
    (manifests/bootstrap/vault-operators-external/). The token Secret is a typed resource: the provider waits until the
    token controller has filled `token` and `ca.crt`, and its `data` output is a Pulumi secret.
    """
    inputs = placement.kubernetes_auth_inputs(settings)
    if inputs.reviewer_secret is None:
        return KubernetesAuthConfig(inputs.kubernetes_host, inputs.disable_local_ca_jwt, None, None), None
    assert reviewer_objects is not None
    namespace, name = inputs.reviewer_secret
    token = k8s.core.v1.Secret(
        name,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=name,
            namespace=namespace,
            labels=settings.labels,
            annotations={"kubernetes.io/service-account.name": placement.TOKEN_REVIEWER_SERVICE_ACCOUNT},
        ),
        type="kubernetes.io/service-account-token",
        opts=pulumi.ResourceOptions(parent=parent, provider=infra.provider, depends_on=[reviewer_objects]),
    )
    config = KubernetesAuthConfig(
        kubernetes_host=inputs.kubernetes_host,
        disable_local_ca_jwt=inputs.disable_local_ca_jwt,
        token_reviewer_jwt=pulumi.Output.secret(token.data.apply(decoded("token"))),
        kubernetes_ca_cert=token.data.apply(decoded("ca.crt")),
    )
    return config, token
