"""Who logs in to Vault through VSO: (namespace, ServiceAccount, Kubernetes-auth role) for every VSO login.

Derived from what a stack renders, not from a copy: every VaultStaticSecret / VaultDynamicSecret /
VaultPKISecret, the VaultAuth it names (`spec.vaultAuthRef`, `name` or `namespace/name`; empty = the chart's
default VaultAuth `default` in the operator's namespace, from `defaultAuthMethod`), plus the VSO
controller's own login for its encrypted client cache (`controller.manager.clientCache.storageEncryption`).

VSO's rule (its VaultAuth documentation): the ServiceAccount of a Kubernetes-auth login is taken from the
namespace of the REQUESTING resource, not of the VaultAuth; a VaultAuth in another namespace may only be
used from namespaces its `allowedNamespaces` globs admit. A resource that breaks that rule could never log
in, so it is an error here rather than a login.

Use: `vso_logins_of_run(run)` for a `ProgramRun`, or `vso_logins(objects, chart_values, vso_namespace)`.
A Kubernetes-auth role covers a login when the login's ServiceAccount name is in its
`bound_service_account_names` and its namespace in `bound_service_account_namespaces`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from tests.harness.helm_values import HELM_RELEASE
from tests.harness.program import ProgramRun

VSO_SECRET_KINDS = ("VaultStaticSecret", "VaultDynamicSecret", "VaultPKISecret")
DEFAULT_AUTH = "default"
VSO_CHART = "vault-secrets-operator"


class VsoLogin(NamedTuple):
    namespace: str
    service_account: str
    role: str


class _Auth(NamedTuple):
    role: str
    service_account: str
    allowed_namespaces: tuple[str, ...] | None  # None: no restriction configured


def _auths(objects: Iterable[Mapping[str, Any]], chart_values: Mapping[str, Any], vso_namespace: str) -> dict:
    auths: dict[tuple[str, str], _Auth] = {}
    default = chart_values.get("defaultAuthMethod") or {}
    if default.get("enabled") and default.get("method", "kubernetes") == "kubernetes":
        kubernetes = default.get("kubernetes") or {}
        auths[(vso_namespace, DEFAULT_AUTH)] = _Auth(
            kubernetes.get("role", ""),
            kubernetes.get("serviceAccount", ""),
            tuple(default.get("allowedNamespaces") or ()),
        )
    for obj in objects:
        if obj.get("kind") != "VaultAuth":
            continue
        spec, meta = obj.get("spec") or {}, obj["metadata"]
        if spec.get("method", "kubernetes") != "kubernetes":
            continue
        kubernetes = spec.get("kubernetes") or {}
        allowed = spec.get("allowedNamespaces")
        auths[(meta.get("namespace") or "default", meta["name"])] = _Auth(
            kubernetes.get("role", ""),
            kubernetes.get("serviceAccount", ""),
            tuple(allowed) if allowed is not None else None,
        )
    return auths


def vso_logins(
    objects: Iterable[Mapping[str, Any]], chart_values: Mapping[str, Any], vso_namespace: str
) -> set[VsoLogin]:
    """Every (namespace, serviceAccount, role) VSO logs in with for these objects and chart values."""
    objects = list(objects)
    auths = _auths(objects, chart_values, vso_namespace)
    logins: set[VsoLogin] = set()
    for obj in objects:
        if obj.get("kind") not in VSO_SECRET_KINDS:
            continue
        meta = obj["metadata"]
        namespace = meta.get("namespace") or "default"
        label = f"{obj['kind']} {namespace}/{meta['name']}"
        ref = (obj.get("spec") or {}).get("vaultAuthRef") or ""
        if not ref:
            key = (vso_namespace, DEFAULT_AUTH)
        elif "/" in ref:
            ref_namespace, ref_name = ref.split("/", 1)
            key = (ref_namespace, ref_name)
        else:
            key = (namespace, ref)
        auth = auths.get(key)
        if auth is None:
            raise AssertionError(f"{label}: VaultAuth {key[0]}/{key[1]} is not rendered (nor the chart's default)")
        # A VaultAuth in another namespace admits only the namespaces of its allowedNamespaces globs.
        if key[0] != namespace and not any(
            fnmatch.fnmatchcase(namespace, glob) for glob in auth.allowed_namespaces or ()
        ):
            raise AssertionError(
                f"{label}: VaultAuth {key[0]}/{key[1]} does not allow namespace {namespace!r} "
                f"(allowedNamespaces {list(auth.allowed_namespaces or ())})"
            )
        if not auth.role or not auth.service_account:
            raise AssertionError(f"{label}: VaultAuth {key[0]}/{key[1]} names no role or ServiceAccount")
        logins.add(VsoLogin(namespace, auth.service_account, auth.role))
    encryption = (((chart_values.get("controller") or {}).get("manager") or {}).get("clientCache") or {}).get(
        "storageEncryption"
    ) or {}
    if encryption.get("enabled") and encryption.get("method", "kubernetes") == "kubernetes":
        kubernetes = encryption.get("kubernetes") or {}
        logins.add(VsoLogin(vso_namespace, kubernetes["serviceAccount"], kubernetes["role"]))
    return logins


def vso_release(run: ProgramRun):
    """The run's VSO Helm release registration (exactly one)."""
    (release,) = [r for r in run.of_type(HELM_RELEASE) if r.inputs.get("chart") == VSO_CHART]
    return release


def vso_logins_of_run(run: ProgramRun) -> set[VsoLogin]:
    """`vso_logins` for everything a stack applies (typed objects and every layer's objects).

    The remote stack applies the application layers through Flux: pass it a run whose layers are rendered
    locally (the local stack with the same config), as tests/unit/rendering/test_flux_parity.py does.
    """
    release = vso_release(run)
    return vso_logins(run.k8s_objects(), release.inputs.get("values") or {}, release.inputs["namespace"])


def missing_service_accounts(objects: Iterable[Mapping[str, Any]], logins: Iterable[VsoLogin]) -> set[VsoLogin]:
    """Logins whose ServiceAccount no rendered object creates (charts' own accounts are not objects here)."""
    accounts = {
        ((o["metadata"].get("namespace") or "default"), o["metadata"]["name"])
        for o in objects
        if o.get("kind") == "ServiceAccount"
    }
    return {login for login in logins if (login.namespace, login.service_account) not in accounts}


def role_covers(login: VsoLogin, role: str, service_accounts: Iterable[str], namespaces: Iterable[str]) -> bool:
    """Whether a Kubernetes-auth role (name, bound SA names, bound namespaces; `*` = any) admits the login."""
    names, spaces = set(service_accounts), set(namespaces)
    return (
        login.role == role
        and (login.service_account in names or "*" in names)
        and (login.namespace in spaces or "*" in spaces)
    )
