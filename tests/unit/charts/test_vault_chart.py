"""Vault chart values, certificates and operators: HA/standalone, TLS coverage of every Raft peer, scheduling,
probes, and who may call TokenReview."""

from __future__ import annotations

import fnmatch
from typing import Any
from urllib.parse import urlsplit

import pytest

from components.charts.vault import LIVENESS_PATH, READINESS_PATH, vault_values
from components.charts.vault_operators import config_operator_values, secrets_operator_values
from components.rendering.layers import layer_named, render
from components.settings import names as contract
from components.settings import placement
from components.settings.load import load_settings
from components.settings.model import Settings
from components.settings.placement import server_dns_names
from components.settings.reader import ConfigError
from components.settings.versions import IMAGES
from tests.fixtures.config import FakeConfig
from tests.harness.dependencies import waits_for
from tests.harness.hcl import parse
from tests.harness.helm_values import HELM_RELEASE, check_values
from tests.harness.k8s_objects import CONFIG_GROUP
from tests.harness.program import ProgramRun, run_stack


def settings(vault: dict[str, Any] | None = None, namespaces: dict[str, str] | None = None) -> Settings:
    return load_settings(FakeConfig({"vault": vault or {}, "namespaces": namespaces or {}}), "local")


def hcl_of(values: dict[str, Any]):
    server = values["server"]
    config = server["ha"]["raft"]["config"] if server["ha"]["enabled"] else server["standalone"]["config"]
    return parse(config)


def leader_hosts(values: dict[str, Any]) -> list[str]:
    """Every host `retry_join` dials, read back from the rendered HCL."""
    raft = hcl_of(values).one("storage", "raft").body
    return [urlsplit(join.body.attributes["leader_api_addr"]).hostname or "" for join in raft.all("retry_join")]


def covers(dns_names: list[str], host: str) -> bool:
    """RFC 6125 matching: exact, or a wildcard for exactly the left-most label."""
    for name in dns_names:
        if name == host:
            return True
        if name.startswith("*.") and "." in host and fnmatch.fnmatchcase(host.split(".", 1)[1], name[2:]):
            return True
    return False


def vault_certificate(objects: list[dict[str, Any]], namespace: str = "vault") -> dict[str, Any]:
    [cert] = [
        o
        for o in objects
        if o["kind"] == "Certificate"
        and o["metadata"]["namespace"] == namespace
        and "server auth" in o["spec"].get("usages", [])
    ]
    return cert


# --- HA vs standalone ------------------------------------------------------------------------------


def test_one_replica_is_standalone_raft_without_joins():
    values = vault_values(settings({"replicas": 1}))
    server = values["server"]
    assert server["standalone"]["enabled"] is True
    assert server["ha"] == {"enabled": False}
    config = hcl_of(values)
    assert config.one("storage", "raft").body.all("retry_join") == []
    assert config.attributes["cluster_addr"].startswith("https://")  # raft needs one even alone


@pytest.mark.parametrize("replicas", [3, 5, 7])
def test_odd_replicas_are_ha_raft_with_one_join_per_peer(replicas: int):
    values = vault_values(settings({"replicas": replicas}))
    ha = values["server"]["ha"]
    assert values["server"]["standalone"] == {"enabled": False}
    assert ha["enabled"] is True and ha["replicas"] == replicas
    assert ha["raft"]["enabled"] is True and ha["raft"]["setNodeId"] is True
    assert leader_hosts(values) == [f"vault-{i}.vault-internal" for i in range(replicas)]
    joins = hcl_of(values).one("storage", "raft").body.all("retry_join")
    for join in joins:
        attributes = join.body.attributes
        assert attributes["leader_ca_cert_file"].endswith("/ca.crt")
        assert attributes["leader_client_cert_file"].endswith("/tls.crt")
        assert attributes["leader_client_key_file"].endswith("/tls.key")
    # A PDB that keeps quorum: at most a minority down.
    assert ha["disruptionBudget"] == {"enabled": True, "maxUnavailable": (replicas - 1) // 2}


def test_two_replicas_are_refused():
    with pytest.raises(ConfigError, match=r"platform:vault\.replicas.*odd"):
        settings({"replicas": 2})


def test_the_stack_switches_mode_with_replicas():
    run = run_stack("local", {"vault": {"replicas": 1}})
    values = run.named("vault", HELM_RELEASE).inputs["values"]
    assert values["server"]["standalone"]["enabled"] is True
    assert values["server"]["ha"]["enabled"] is False
    assert "disruptionBudget" not in values["server"]["ha"]


def test_config_keeps_the_listener_tls_and_kubernetes_registration():
    config = hcl_of(vault_values(settings()))
    listener = config.one("listener", "tcp").body.attributes
    assert listener["tls_cert_file"] == "/vault/userconfig/tls/tls.crt"
    assert "tls_disable" not in listener
    assert config.one("service_registration", "kubernetes")
    assert config.attributes["ui"] is True
    assert config.attributes["disable_mlock"] is True


@pytest.mark.parametrize("replicas", [1, 3])
def test_config_avoids_the_words_the_chart_rewrites(replicas: int):
    # The chart's start script runs `sed s|HOSTNAME|$HOSTNAME|g` (and others) over the whole file.
    values = vault_values(settings({"replicas": replicas}))
    server = values["server"]
    text = server["ha"]["raft"]["config"] if replicas > 1 else server["standalone"]["config"]
    for word in ("HOST_IP", "POD_IP", "HOSTNAME", "API_ADDR", "TRANSIT_ADDR", "RAFT_ADDR"):
        assert word not in text


# --- the certificate covers every peer ------------------------------------------------------------


@pytest.mark.parametrize(
    "vault,namespaces",
    [
        ({}, {}),
        ({"replicas": 1}, {}),
        ({"replicas": 5, "releaseName": "bank"}, {"vault": "secrets"}),
        ({"replicas": 7}, {}),
    ],
)
def test_certificate_covers_every_retry_join_address(vault: dict, namespaces: dict):
    current = settings(vault, namespaces)
    values = vault_values(current)
    certificate = vault_certificate(render(current, layer_named("vault")), current.namespaces.vault)
    dns_names = certificate["spec"]["dnsNames"]
    hosts = leader_hosts(values)
    assert len(hosts) == (current.vault.replicas if current.vault.ha else 0)
    for host in hosts:
        assert host in dns_names, f"{host} is not listed explicitly"
        assert covers(dns_names, host)
    # and the names the program and clients use
    release, ns = current.vault.release_name, current.namespaces.vault
    for name in ("localhost", release, f"{release}.{ns}.svc", f"{release}-internal.{ns}.svc.cluster.local"):
        assert covers(dns_names, name), name
    assert urlsplit(placement.in_cluster_address(current)).hostname in dns_names
    assert certificate["spec"]["ipAddresses"] == ["127.0.0.1"]
    assert {"server auth", "client auth"} <= set(certificate["spec"]["usages"])  # retry_join presents it too


def test_the_coverage_check_catches_a_missing_peer():
    names = [n for n in server_dns_names(settings()) if n not in ("vault-2.vault-internal", "*.vault-internal")]
    assert not covers(names, "vault-2.vault-internal")
    assert covers(["*.vault-internal"], "vault-2.vault-internal")
    assert not covers(["*.vault-internal"], "a.vault-2.vault-internal")


def test_the_deployed_release_and_certificate_agree(stack_run: ProgramRun):
    values = stack_run.named("vault", HELM_RELEASE).inputs["values"]
    certificate = vault_certificate(stack_run.k8s_objects())
    for host in leader_hosts(values):
        assert host in certificate["spec"]["dnsNames"]


def test_the_pods_mount_the_certificates_they_use(stack_run: ProgramRun):
    values = stack_run.named("vault", HELM_RELEASE).inputs["values"]
    server = values["server"]
    mounts = {m["mountPath"]: m["name"] for m in server["volumeMounts"]}
    secrets = {v["name"]: v["secret"]["secretName"] for v in server["volumes"] if "secret" in v}
    certificates = {
        o["spec"]["secretName"]: o
        for o in stack_run.k8s_objects()
        if o["kind"] == "Certificate" and o["metadata"]["namespace"] == "vault"
    }
    tls_dir = hcl_of(values).one("listener", "tcp").body.attributes["tls_cert_file"].rsplit("/", 1)[0]
    assert secrets[mounts[tls_dir]] in certificates
    client = certificates[secrets[mounts[contract.POSTGRES_CLIENT_CERT_DIR]]]
    assert client["spec"]["secretName"] == contract.POSTGRES_CLIENT_CERT_SECRET
    assert client["spec"]["commonName"] == contract.DB_ROOT_USER
    assert "client auth" in client["spec"]["usages"] and "server auth" not in client["spec"]["usages"]
    assert all(v["secret"]["defaultMode"] == 0o440 for v in server["volumes"] if "secret" in v)
    # The only other volume: /tmp, where the chart's start command writes the rendered config (read-only root).
    assert [v for v in server["volumes"] if "secret" not in v] == [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]
    assert mounts["/tmp"] == "tmp"


# --- scheduling, probes, hardening ----------------------------------------------------------------


def test_anti_affinity_is_required_across_nodes_by_default():
    """Required on a cluster the program does not know; preferred by default only on its own one-node kind
    cluster, where required would leave pods Pending."""
    on_kind = load_settings(FakeConfig({}), "local")
    assert on_kind.vault.anti_affinity == "preferred"
    existing = load_settings(FakeConfig({"kubernetes": {"context": "prod"}}), "local")
    affinity = vault_values(existing)["server"]["affinity"]["podAntiAffinity"]
    [term] = affinity["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "vault",
        "app.kubernetes.io/instance": "vault",
        "component": "server",
    }
    assert "preferredDuringSchedulingIgnoredDuringExecution" not in affinity


def test_anti_affinity_is_relaxed_only_by_config():
    affinity = vault_values(settings({"antiAffinity": "preferred"}))["server"]["affinity"]["podAntiAffinity"]
    assert "requiredDuringSchedulingIgnoredDuringExecution" not in affinity
    [preferred] = affinity["preferredDuringSchedulingIgnoredDuringExecution"]
    assert preferred["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"


def test_the_stacks_follow_their_anti_affinity_setting():
    # Pulumi.local.yaml relaxes it (one-node clusters); the remote stack keeps the default.
    local = run_stack("local").named("vault", HELM_RELEASE).inputs["values"]["server"]["affinity"]
    remote = run_stack("remote").named("vault", HELM_RELEASE).inputs["values"]["server"]["affinity"]
    assert "preferredDuringSchedulingIgnoredDuringExecution" in local["podAntiAffinity"]
    assert "requiredDuringSchedulingIgnoredDuringExecution" in remote["podAntiAffinity"]


def test_sealed_pods_are_not_ready_but_alive():
    # Readiness: no sealedcode/uninitcode override, so a sealed (503) or uninitialised (501) pod is NotReady and the
    # PDB counts it as down (tests/integration/test_vault_readiness.py asks a real OpenBao with this path).
    server = vault_values(settings())["server"]
    assert server["readinessProbe"]["path"] == READINESS_PATH == "/v1/sys/health?standbyok=true"
    assert server["livenessProbe"]["enabled"] is True
    assert server["livenessProbe"]["path"] == LIVENESS_PATH
    assert "sealedcode=204" in LIVENESS_PATH and "uninitcode=204" in LIVENESS_PATH
    assert server["livenessProbe"]["initialDelaySeconds"] >= 30


def test_the_vault_release_does_not_wait_for_readiness_but_the_others_do(stack_run: ProgramRun):
    # Its pods are Ready only after the program unseals them (the next step): Helm --wait or atomic would hang.
    releases = stack_run.of_type(HELM_RELEASE)
    vault = stack_run.named("vault", HELM_RELEASE).inputs
    assert vault["skipAwait"] is True and vault["atomic"] is False
    others = [r.inputs for r in releases if r.name != "vault"]
    assert others and all(r["atomic"] is True and not r.get("skipAwait") for r in others)


def test_init_and_unseal_follow_the_release_and_vault_clients_follow_the_unseal(stack_run: ProgramRun):
    # Without a readiness wait in the release, ordering is the runtime's: init after the release, unseal after init,
    # and everything that talks to Vault after the unseal (its own wait for an active leader and unsealed standbys
    # is the readiness wait: READINESS_PATH answers 200 exactly then).
    release = stack_run.named("vault", HELM_RELEASE)
    init = stack_run.named("vault-init")
    unseal = stack_run.named("vault-unseal")
    assert waits_for(stack_run, init, release)
    assert waits_for(stack_run, unseal, init)
    # The bootstrap is the first client (everything configured through Vault waits for it). The operators'
    # releases and identities do not wait: they install without Vault and retry until it answers.
    assert waits_for(stack_run, stack_run.named("vault-bootstrap"), unseal)


def test_storage_sizes_tls_ui_image_and_no_injector():
    values = vault_values(settings({"storageSize": "20Gi", "auditStorageSize": "5Gi"}))
    server = values["server"]
    assert server["dataStorage"]["size"] == "20Gi"
    assert server["auditStorage"] == {**server["auditStorage"], "enabled": True, "size": "5Gi"}
    assert values["global"]["tlsDisable"] is False
    assert values["injector"]["enabled"] is False
    assert values["ui"]["enabled"] is True
    assert f"{server['image']['repository']}:{server['image']['tag']}" == IMAGES["vault"]
    assert values["fullnameOverride"] == "vault"
    pod = server["statefulSet"]["securityContext"]["pod"]
    container = server["statefulSet"]["securityContext"]["container"]
    assert pod["runAsNonRoot"] is True and pod["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
    }
    assert server["resources"]["requests"] and server["resources"]["limits"]["memory"]


@pytest.mark.parametrize("vault", [{}, {"replicas": 1}, {"replicas": 5, "antiAffinity": "preferred"}])
def test_values_pass_the_chart_check_in_every_mode(vault: dict):
    assert check_values("vault", vault_values(settings(vault))) == []


# --- TokenReview: only Vault ---------------------------------------------------------------------


def test_only_vaults_service_account_may_review_tokens(stack_run: ProgramRun):
    values = stack_run.named("vault", HELM_RELEASE).inputs["values"]
    assert values["server"]["authDelegator"]["enabled"] is False  # the chart's binding is off: ours is the one
    vault_sa = {"kind": "ServiceAccount", "name": values["server"]["serviceAccount"]["name"], "namespace": "vault"}
    bindings = [
        o
        for o in stack_run.k8s_objects()
        if o["kind"] in ("ClusterRoleBinding", "RoleBinding") and o["roleRef"]["name"] == "system:auth-delegator"
    ]
    assert len(bindings) == 1
    assert bindings[0]["subjects"] == [vault_sa]
    assert vault_sa["name"] == "vault"  # = fullnameOverride: the StatefulSet's ServiceAccount


def test_operator_service_accounts_exist_in_the_app_namespace(stack_run: ProgramRun):
    accounts = {
        (o["metadata"]["namespace"], o["metadata"]["name"])
        for o in stack_run.k8s_objects()
        if o["kind"] == "ServiceAccount"
    }
    assert ("sms-proxy", "vault-operator-sa") in accounts
    assert ("sms-proxy", contract.CONFIG_OPERATOR_SERVICE_ACCOUNT) in accounts


# --- operators ------------------------------------------------------------------------------------


def _ca_secrets(objects: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {
        (o["metadata"]["namespace"], o["spec"]["secretName"])
        for o in objects
        if o["kind"] == "Certificate" and o["spec"]["issuerRef"]["name"] == "issuer-leaf"
    }


def test_secrets_operator_connects_with_tls_kubernetes_auth_and_an_encrypted_cache(stack_run: ProgramRun):
    values = stack_run.named("vault-secrets-operator", HELM_RELEASE).inputs["values"]
    connection = values["defaultVaultConnection"]
    assert connection["enabled"] is True
    assert connection["address"] == "https://vault-active.vault.svc:8200"
    assert connection["skipTLSVerify"] is False
    # the CA Secret exists in the operator's own namespace (where the VaultConnection lives)
    assert ("vault-secrets-operator-system", connection["caCertSecret"]) in _ca_secrets(stack_run.k8s_objects())
    auth = values["defaultAuthMethod"]
    assert auth["enabled"] is True and auth["method"] == "kubernetes" and auth["mount"] == "kubernetes"
    assert auth["kubernetes"] == {"role": "vault-operator", "serviceAccount": "vault-operator-sa"}
    cache = values["controller"]["manager"]["clientCache"]
    assert cache["persistenceModel"] == "direct-encrypted"
    encryption = cache["storageEncryption"]
    assert encryption["enabled"] is True
    assert encryption["transitMount"] == contract.TRANSIT_MOUNT
    assert encryption["keyName"] == contract.VSO_CACHE_KEY
    assert encryption["kubernetes"]["serviceAccount"] == contract.VSO_CONTROLLER_SERVICE_ACCOUNT


def test_config_operator_gets_the_address_and_a_mounted_ca(stack_run: ProgramRun):
    values = stack_run.named("vault-config-operator", HELM_RELEASE).inputs["values"]
    env = {e["name"]: e["value"] for e in values["env"]}
    assert env["VAULT_ADDR"] == "https://vault-active.vault.svc:8200"
    [mount] = values["volumeMounts"]
    assert env["VAULT_CACERT"] == f"{mount['mountPath']}/ca.crt"
    [volume] = [v for v in values["volumes"] if v["name"] == mount["name"]]
    assert ("vault-config-operator", volume["secret"]["secretName"]) in _ca_secrets(stack_run.k8s_objects())
    assert values["enableCertManager"] is True


def test_standalone_operators_use_the_main_service():
    current = settings({"replicas": 1})
    assert secrets_operator_values(current)["defaultVaultConnection"]["address"] == "https://vault.vault.svc:8200"
    env = {e["name"]: e["value"] for e in config_operator_values(current)["env"]}
    assert env["VAULT_ADDR"] == "https://vault.vault.svc:8200"


# --- order ----------------------------------------------------------------------------------------


def test_vault_layers_run_in_order(stack_run: ProgramRun):
    certificates = stack_run.named("vault", CONFIG_GROUP)
    release = stack_run.named("vault", HELM_RELEASE)
    operator_objects = stack_run.named("vault-operators", CONFIG_GROUP)
    pki = stack_run.named("pki", CONFIG_GROUP)
    cert_manager = stack_run.named("cert-manager", HELM_RELEASE)
    # The Certificate objects need only their CRD (they apply beside the PKI); the pods mount the issued Secrets,
    # so the release waits for both.
    assert waits_for(stack_run, certificates, cert_manager)
    assert not waits_for(stack_run, certificates, pki)
    assert waits_for(stack_run, release, certificates) and waits_for(stack_run, release, pki)
    # ServiceAccounts and CA Certificates talk to no Vault: they apply while Vault starts.
    assert waits_for(stack_run, operator_objects, pki)
    assert not waits_for(stack_run, operator_objects, release)
    for name in ("vault-secrets-operator", "vault-config-operator"):
        assert waits_for(stack_run, stack_run.named(name, HELM_RELEASE), operator_objects), name
    for name in ("cert-manager", "kube-prometheus-stack"):  # CRDs for Certificates and the ServiceMonitor
        assert waits_for(stack_run, release, stack_run.named(name, HELM_RELEASE)), name


def test_layer_declarations():
    assert layer_named("vault").depends_on == ("pki",) and layer_named("vault").bootstrap
    assert layer_named("vault-operators").depends_on == ("pki",) and layer_named("vault-operators").bootstrap
