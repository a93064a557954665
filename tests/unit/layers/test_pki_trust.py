"""Issue 15's certificate-minting attacks, replayed on the rendered objects with real certificates.

- The root CA signs only the intermediate: its issuer is a namespaced Issuer in cert-manager's namespace.
- Traefik's mutual TLS trusts the client CA only: every rendered Certificate is issued as cert-manager would
  (tests/fixtures/cert_manager.py) and verified as a client against exactly the CA bundle Traefik reads.
- Namespace editors cannot ask the platform issuers for anything: cert-manager's aggregation into `edit`/`admin`
  is off and no rendered role that can create Certificates or CertificateRequests aggregates or binds to a user.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder, Store, VerificationError

from tests.fixtures.cert_manager import Issuance, IssuedSecret
from tests.harness.program import ProgramRun, run_stack

NAMESPACE_CERT_MANAGER = "cert-manager"
NAMESPACE_INGRESS = "traefik"


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return run_stack("local")


@pytest.fixture(scope="module")
def objects(run: ProgramRun) -> list[dict[str, Any]]:
    return run.k8s_objects()


def traefik_client_anchors(objects: list[dict[str, Any]], issuance: Issuance) -> list[x509.Certificate]:
    """The CA certificates Traefik's default TLSOption verifies client certificates with (`ca.crt` of each Secret)."""
    (option,) = [
        o
        for o in objects
        if o["kind"] == "TLSOption" and o["metadata"]["name"] == "default" and o["metadata"]["namespace"] == "traefik"
    ]
    client_auth = option["spec"]["clientAuth"]
    assert client_auth["clientAuthType"] == "RequireAndVerifyClientCert"
    return [issuance.secret(NAMESPACE_INGRESS, name).ca for name in client_auth["secretNames"]]


def accepted_as_client(secret: IssuedSecret, anchors: list[x509.Certificate]) -> bool:
    """Go's client verification (Traefik): a chain to one of `anchors`, the client-auth usage (when the leaf names
    usages). Web PKI rules otherwise, except that a client certificate needs no SAN (Go reads none; the app
    authorises by CN)."""
    leaf_policy = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.SubjectAlternativeName, Criticality.AGNOSTIC, None
    )
    verifier = (
        PolicyBuilder()
        .store(Store(anchors))
        .time(dt.datetime.now(dt.UTC))
        .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=leaf_policy)
        .build_client_verifier()
    )
    try:
        verifier.verify(secret.leaf, secret.chain[1:])
    except VerificationError:
        return False
    return True


def issued_secrets(objects: list[dict[str, Any]]) -> tuple[Issuance, dict[tuple[str, str], IssuedSecret]]:
    issuance = Issuance(objects, NAMESPACE_CERT_MANAGER)
    return issuance, {key: issuance.secret(*key) for key in issuance.certificates}


def test_only_client_app_certificates_pass_traefiks_mutual_tls(objects):
    issuance, secrets = issued_secrets(objects)
    anchors = traefik_client_anchors(objects, issuance)
    accepted = sorted(name for (_ns, name), secret in secrets.items() if accepted_as_client(secret, anchors))
    assert accepted == ["client-app-1-client-tls", "client-app-2-client-tls"]
    # Among the refused: client-auth leaves from issuer-leaf, e.g. Traefik's own upstream certificate.
    upstream = secrets[("sms-proxy", "traefik-upstream")]
    assert (
        x509.ExtendedKeyUsageOID.CLIENT_AUTH
        in upstream.leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    )


def test_traefiks_client_ca_is_not_the_platform_root(objects):
    issuance, _ = issued_secrets(objects)
    root = issuance.secret(NAMESPACE_CERT_MANAGER, "root-ca").leaf
    anchors = traefik_client_anchors(objects, issuance)
    assert root not in anchors
    assert anchors == [issuance.secret(NAMESPACE_CERT_MANAGER, "client-ca").leaf]


def test_a_leaf_of_issuer_leaf_is_refused_even_with_the_client_usage_and_a_client_apps_name(objects):
    """The attack: a Certificate with CN `client-app-1` from issuer-leaf (what a namespace editor could mint)."""
    forged = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": "forged", "namespace": "sms-proxy"},
        "spec": {
            "secretName": "forged",
            "commonName": "client-app-1",
            "usages": ["client auth"],
            "issuerRef": {"name": "issuer-leaf", "kind": "ClusterIssuer", "group": "cert-manager.io"},
        },
    }
    issuance = Issuance([*objects, forged], NAMESPACE_CERT_MANAGER)
    anchors = traefik_client_anchors(objects, issuance)
    assert not accepted_as_client(issuance.secret("sms-proxy", "forged"), anchors)
    # The same request to the old trust anchor (the platform root) would have passed: the check can fail.
    assert accepted_as_client(issuance.secret("sms-proxy", "forged"), [issuance.secret("cert-manager", "root-ca").leaf])


def test_the_root_ca_signs_only_the_intermediate(objects):
    issuers = {
        (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objects if "Issuer" in o["kind"]
    }
    assert ("Issuer", NAMESPACE_CERT_MANAGER, "root-ca") in issuers
    assert not any(name in {"root-ca", "selfsigned"} for kind, _ns, name in issuers if kind == "ClusterIssuer")
    by_root = [
        (o["metadata"]["namespace"], o["metadata"]["name"])
        for o in objects
        if o["kind"] == "Certificate" and o["spec"]["issuerRef"]["name"] == "root-ca"
    ]
    assert by_root == [(NAMESPACE_CERT_MANAGER, "intermediate-ca")]
    # A Certificate elsewhere cannot reach a namespaced Issuer of cert-manager's namespace.
    stray = {
        "kind": "Certificate",
        "metadata": {"name": "x", "namespace": "sms-proxy"},
        "spec": {"secretName": "x", "isCA": True, "issuerRef": {"name": "root-ca", "kind": "Issuer"}},
    }
    with pytest.raises(LookupError, match="no Issuer 'root-ca'"):
        Issuance([*objects, stray], NAMESPACE_CERT_MANAGER).secret("sms-proxy", "x")


# --- who may create Certificates / CertificateRequests ---

MINTING = {"certificates", "certificaterequests"}
AGGREGATE_LABELS = ("rbac.authorization.k8s.io/aggregate-to-edit", "rbac.authorization.k8s.io/aggregate-to-admin")


def cert_manager_chart_roles(values: dict[str, Any]) -> list[dict[str, Any]]:
    """The user-facing ClusterRole `cert-manager-edit` of the pinned chart (v1.21.1 templates/rbac.yaml): it grants
    create on Certificates and CertificateRequests and carries the aggregate-to-edit/admin labels exactly when
    `global.rbac.aggregateClusterRoles` is true (the chart default, values.yaml)."""
    aggregate = values.get("global", {}).get("rbac", {}).get("aggregateClusterRoles", chart_default_aggregation())
    labels = dict.fromkeys(AGGREGATE_LABELS, "true") if aggregate else {}
    return [
        {
            "kind": "ClusterRole",
            "metadata": {"name": "cert-manager-edit", "labels": labels},
            "rules": [
                {
                    "apiGroups": ["cert-manager.io"],
                    "resources": ["certificates", "certificaterequests", "issuers"],
                    "verbs": ["create", "delete", "deletecollection", "patch", "update"],
                }
            ],
        }
    ]


def chart_default_aggregation() -> bool:
    import os

    values = yaml.safe_load((Path(os.environ["HELM_SCHEMA_DIR"]) / "cert-manager" / "values.yaml").read_text())
    return values["global"]["rbac"]["aggregateClusterRoles"]


def grants_minting(role: dict[str, Any]) -> bool:
    for rule in role.get("rules") or []:
        groups, resources, verbs = (set(rule.get(k) or ()) for k in ("apiGroups", "resources", "verbs"))
        if groups & {"cert-manager.io", "*"} and resources & (MINTING | {"*"}) and verbs & {"create", "*"}:
            return True
    return False


def minting_roles_reachable_by_namespace_users(objects: list[dict[str, Any]]) -> list[str]:
    """Roles that can create Certificates/CertificateRequests and reach users outside the platform: aggregated
    into edit/admin, or bound to anything but the program's own deployers (Flux's per-layer ServiceAccounts)."""
    roles = {(o["kind"], o["metadata"]["name"]): o for o in objects if o["kind"] in ("Role", "ClusterRole")}
    minting = {key for key, role in roles.items() if grants_minting(role)}
    problems = [
        f"{kind} {name} aggregates into edit/admin"
        for kind, name in sorted(minting)
        if any(roles[(kind, name)]["metadata"].get("labels", {}).get(label) == "true" for label in AGGREGATE_LABELS)
    ]
    for binding in (o for o in objects if o["kind"] in ("RoleBinding", "ClusterRoleBinding")):
        if (binding["roleRef"]["kind"], binding["roleRef"]["name"]) not in minting:
            continue
        for subject in binding.get("subjects") or []:
            if subject["kind"] != "ServiceAccount" or subject.get("namespace") != "flux-system":
                problems.append(f"{binding['kind']} {binding['metadata']['name']} grants minting to {subject}")
    return problems


def test_aggregation_of_certificate_rights_into_edit_and_admin_is_off(run, objects):
    values = run.named("cert-manager", "kubernetes:helm.sh/v3:Release").inputs["values"]
    assert values["global"]["rbac"]["aggregateClusterRoles"] is False
    assert minting_roles_reachable_by_namespace_users([*objects, *cert_manager_chart_roles(values)]) == []


def test_the_chart_default_would_let_namespace_editors_mint(objects):
    assert chart_default_aggregation() is True
    problems = minting_roles_reachable_by_namespace_users([*objects, *cert_manager_chart_roles({})])
    assert problems == ["ClusterRole cert-manager-edit aggregates into edit/admin"]


def test_a_binding_to_a_namespace_user_is_caught(objects):
    role = {
        "kind": "Role",
        "metadata": {"name": "issuer-user", "namespace": "sms-proxy"},
        "rules": [{"apiGroups": ["cert-manager.io"], "resources": ["certificaterequests"], "verbs": ["create"]}],
    }
    binding = {
        "kind": "RoleBinding",
        "metadata": {"name": "dev", "namespace": "sms-proxy"},
        "roleRef": {"kind": "Role", "name": "issuer-user"},
        "subjects": [{"kind": "User", "name": "dev"}],
    }
    assert len(minting_roles_reachable_by_namespace_users([*objects, role, binding])) == 1


def test_in_the_remote_stack_only_flux_layer_accounts_may_mint():
    """Flux's per-layer Roles create the Certificates their layers hold; nobody else gets that right."""
    remote = run_stack("remote")
    values = remote.named("cert-manager", "kubernetes:helm.sh/v3:Release").inputs["values"]
    objects = remote.k8s_objects()
    assert any(grants_minting(o) for o in objects if o["kind"] == "Role")  # the check sees Flux's Roles
    assert minting_roles_reachable_by_namespace_users([*objects, *cert_manager_chart_roles(values)]) == []
