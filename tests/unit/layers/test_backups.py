"""Backups as the program renders them: the Barman Cloud plugin release, the Cluster's WAL archiving into the
ObjectStore, the ScheduledBackup, the retention, the S3 credentials' wiring, and the Vault snapshot CronJob; all
off with `backup.enabled: false`. (The Vault side is proven on a real OpenBao:
tests/integration/test_vault_snapshot.py.)"""

from __future__ import annotations

from typing import Any

import pytest

from components.settings.versions import CHARTS
from tests.harness.dependencies import waits_for
from tests.harness.helm_values import HELM_RELEASE
from tests.harness.program import ProgramRun, run_stack

EXTERNAL_S3 = (
    {"s3": {"backend": "external", "endpoint": "https://s3.example.com"}},
    {"s3AccessKeyId": "AKIAEXAMPLE", "s3SecretAccessKey": "s3-secret"},
)


def one(run: ProgramRun, kind: str, name: str | None = None) -> dict[str, Any]:
    found = [o for o in run.k8s_objects() if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, (kind, name, len(found))
    return found[0]


def test_the_barman_cloud_plugin_is_installed_next_to_the_operator(stack_run: ProgramRun):
    release = stack_run.named("plugin-barman-cloud", HELM_RELEASE)
    assert release.inputs["version"] == CHARTS["plugin-barman-cloud"].version == "0.7.0"
    assert release.inputs["namespace"] == stack_run.named("cloudnative-pg", HELM_RELEASE).inputs["namespace"]
    for before in ("cloudnative-pg", "cert-manager"):
        assert waits_for(stack_run, release, stack_run.named(before, HELM_RELEASE)), before


def test_the_cluster_archives_wal_into_the_object_store_and_backs_up_on_schedule(stack_runs):
    run = stack_runs["local"]
    cluster, store = one(run, "Cluster"), one(run, "ObjectStore")
    (plugin,) = cluster["spec"]["plugins"]
    assert plugin == {
        "name": "barman-cloud.cloudnative-pg.io",
        "enabled": True,
        "isWALArchiver": True,
        "parameters": {"barmanObjectName": store["metadata"]["name"]},
    }
    assert store["metadata"]["namespace"] == cluster["metadata"]["namespace"]
    configuration = store["spec"]["configuration"]
    assert configuration["destinationPath"] == "s3://oci-registry/backups/postgresql"
    assert configuration["endpointCA"] == {"name": f"{cluster['metadata']['name']}-server", "key": "ca.crt"}
    assert store["spec"]["retentionPolicy"] == "14d"
    scheduled = one(run, "ScheduledBackup")
    assert scheduled["spec"]["schedule"] == "0 17 2 * * *"  # seconds first
    assert (
        scheduled["spec"]["method"] == "plugin" and scheduled["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
    )
    # The keys the ObjectStore reads are the ones VSO renders.
    credentials = one(run, "VaultStaticSecret", configuration["s3Credentials"]["accessKeyId"]["name"])
    templates = credentials["spec"]["destination"]["transformation"]["templates"]
    for ref in configuration["s3Credentials"].values():
        assert ref["name"] == credentials["spec"]["destination"]["name"] and ref["key"] in templates


def test_external_s3_is_verified_with_public_cas():
    run = run_stack("local", *EXTERNAL_S3)
    configuration = one(run, "ObjectStore")["spec"]["configuration"]
    assert configuration["endpointURL"] == "https://s3.example.com" and "endpointCA" not in configuration
    cronjob = one(run, "CronJob", "vault-snapshot")
    env = {
        e["name"]: e["value"]
        for e in cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["S3_CA_FILE"] == "" and env["S3_ENDPOINT"] == "https://s3.example.com"


def test_schedule_and_retention_follow_the_config():
    run = run_stack("local", {"backup": {"schedule": "5 4 * * 0", "retentionDays": 30}})
    assert one(run, "ScheduledBackup")["spec"]["schedule"] == "0 5 4 * * 0"
    assert one(run, "ObjectStore")["spec"]["retentionPolicy"] == "30d"
    cronjob = one(run, "CronJob", "vault-snapshot")
    assert cronjob["spec"]["schedule"] == "5 4 * * 0"
    env = {
        e["name"]: e["value"]
        for e in cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["RETENTION_DAYS"] == "30"


@pytest.mark.parametrize("stack", ["local", "remote"])
def test_backups_off_leaves_nothing_behind(stack: str):
    run = run_stack(stack, {"backup": {"enabled": False}})
    kinds = {o["kind"] for o in run.k8s_objects()}
    names = {r.name for r in run.registrations}
    assert not {"ScheduledBackup", "ObjectStore", "CronJob"} & kinds
    assert "plugin-barman-cloud" not in names and "role-vault-snapshot" not in names
    if stack == "local":
        (plugin,) = one(run, "Cluster")["spec"]["plugins"]
        assert plugin["enabled"] is False and plugin["isWALArchiver"] is False


def test_the_snapshot_job_has_only_its_projected_token_and_runs_hardened(stack_runs):
    cronjob = one(stack_runs["local"], "CronJob", "vault-snapshot")
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False and pod["serviceAccountName"] == "vault-snapshot"
    assert cronjob["metadata"]["namespace"] == "vault" and cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    (container,) = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    sources = next(v for v in pod["volumes"] if v["name"] == "token")["projected"]["sources"]
    assert sources == [{"serviceAccountToken": {"path": "token", "expirationSeconds": 600}}]


def test_minio_admits_the_backup_uploaders_and_not_their_neighbours(stack_runs):
    from tests.harness.network_policy import Pod, admits

    policies = [o for o in stack_runs["local"].k8s_objects() if o["kind"] == "NetworkPolicy"]
    minio = Pod("minio", {"v1.min.io/tenant": "minio"})
    snapshot = Pod("vault", {"app.kubernetes.io/name": "vault-snapshot"})
    postgres = Pod("sms-proxy", {"cnpg.io/cluster": "postgresql"})
    assert admits(policies, minio, 9000, snapshot)
    assert admits(policies, minio, 9000, postgres)
    # Vault's servers (same namespace as the snapshot job) and the app's pods (PostgreSQL's) get nothing new.
    assert not admits(policies, minio, 9000, Pod("vault", {"app.kubernetes.io/name": "vault", "component": "server"}))
    assert not admits(policies, minio, 9000, Pod("sms-proxy", {"app.kubernetes.io/name": "sms-proxy"}))
    assert not admits(policies, minio, 9001, snapshot)
