"""Real PostgreSQL 15 + real OpenBao: the rendered database manifests do what they claim.

Everything Vault and PostgreSQL are told comes FROM the rendered manifests of the local stack
(`run_stack('local').k8s_objects()`): the Cluster's pg_hba lines, the bootstrap SQL (ConfigMap) and the
initial-password SQL (VSO template), the DatabaseSecretEngineConfig (connection URL, user, password
policy...) and both DatabaseSecretEngineRoles (statements, TTLs), and the PasswordPolicy. They are
translated to the Vault API calls vault-config-operator makes; only the in-cluster host name and the
certificate directory are rewritten to this test's server and files. The ACL policies come from
`components/vault/policies.py` and are checked with tokens that carry nothing else.

Servers: Debian `postgresql` 15 (initdb/pg_ctl as `postgres`, TLS, 127.0.0.1 only) and a one-node
OpenBao (tests/fixtures/openbao.py, TLS on 127.0.0.1). Certificates: a throw-away CA (tests/fixtures/certificates.py).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import hvac
import hvac.exceptions
import psycopg
import pytest

from components.settings import names
from components.vault_runtime import policies
from components.vault_runtime.admin_policy import render_hcl
from tests.fixtures.certificates import ThrowawayCa
from tests.fixtures.openbao import BaoCluster, free_port, running_cluster
from tests.harness.program import run_stack

pytestmark = pytest.mark.slow

PG_BIN = Path("/usr/lib/postgresql/15/bin")
INITIAL_PASSWORD = "Initial-Passw0rd.x1"  # what the RandomSecret would hold; dead after rotate-root


# --- what the manifests say ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Rendered:
    settings_ns: str
    cluster: dict[str, Any]
    bootstrap_sql: str
    initial_sql_template: str
    engine_config: dict[str, Any]
    engine_roles: dict[str, dict[str, Any]]
    password_policy: str


def _one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, f"{kind} {name}: {len(found)} rendered"
    return found[0]


@pytest.fixture(scope="module")
def rendered() -> Rendered:
    objects = run_stack("local").k8s_objects()
    initial = _one(objects, "VaultStaticSecret", f"{names.DB_ROOT_INITIAL_SECRET}-sql")
    return Rendered(
        settings_ns=_one(objects, "Cluster")["metadata"]["namespace"],
        cluster=_one(objects, "Cluster"),
        bootstrap_sql=_one(objects, "ConfigMap", f"{names.POSTGRES_CLUSTER}-bootstrap-sql")["data"]["bootstrap.sql"],
        initial_sql_template=initial["spec"]["destination"]["transformation"]["templates"]["init.sql"]["text"],
        engine_config=_one(objects, "DatabaseSecretEngineConfig"),
        engine_roles={o["metadata"]["name"]: o for o in objects if o["kind"] == "DatabaseSecretEngineRole"},
        password_policy=_one(objects, "PasswordPolicy")["spec"]["passwordPolicy"],
    )


# --- PostgreSQL -----------------------------------------------------------------------------------------
@dataclass
class Postgres:
    datadir: Path
    port: int
    database: str

    def psql_as_superuser(self, sql: str, database: str = "postgres") -> str:
        """Run SQL as `postgres` over the Unix socket; the SQL goes through stdin (never argv)."""
        result = subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / "psql"), "-v", "ON_ERROR_STOP=1",
             "-X", "-q", "-A", "-t", "-h", str(self.datadir), "-p", str(self.port), "-d", database, "-f", "-"],
            input=sql.encode(), capture_output=True, check=False, timeout=30,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr.decode()
        return result.stdout.decode()


@pytest.fixture(scope="module")
def ca() -> ThrowawayCa:
    return ThrowawayCa.create("db-test-ca")


@pytest.fixture(scope="module")
def postgres(rendered: Rendered, ca: ThrowawayCa) -> Iterator[Postgres]:
    assert (PG_BIN / "initdb").exists(), "Debian postgresql 15 missing: run .ci/install-system-packages"
    # pytest's tmp dirs are 0700 root: the postgres user could not traverse them.
    root = Path(tempfile.mkdtemp(prefix="pg-db-engine-", dir="/tmp"))
    root.chmod(0o755)
    datadir = root / "data"
    port = free_port()
    database = rendered.cluster["spec"]["bootstrap"]["initdb"]["database"]
    try:
        shutil.chown(root, "postgres", "postgres")
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / "initdb"), "-D", str(datadir), "-A", "reject",
             "--auth-local=peer", "-U", "postgres"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        server = ca.issue("localhost", dns_names=("localhost",), ip_addresses=("127.0.0.1",))
        for name, text in (("server.crt", server.cert_pem), ("server.key", server.key_pem), ("ca.crt", ca.ca_pem)):
            path = datadir / name
            path.write_text(text)
            shutil.chown(path, "postgres", "postgres")
            path.chmod(0o600)
        # The Cluster's own parameters, plus what CloudNativePG sets itself (TLS files, listen address).
        params = dict(rendered.cluster["spec"]["postgresql"]["parameters"])
        params.update(
            {
                "listen_addresses": "'127.0.0.1'",
                "port": str(port),
                "unix_socket_directories": f"'{datadir}'",
                "ssl": "on",
                "ssl_cert_file": "'server.crt'",
                "ssl_key_file": "'server.key'",
                "ssl_ca_file": "'ca.crt'",
            }
        )
        with (datadir / "postgresql.conf").open("a") as conf:
            for key, value in params.items():
                quoted = value if value.startswith("'") or value.isdigit() or value in ("on", "off") else f"'{value}'"
                conf.write(f"{key} = {quoted}\n")
        # CloudNativePG's local rule first (peer for the instance manager), then the Cluster's rules verbatim.
        hba = ["local all postgres peer", *rendered.cluster["spec"]["postgresql"]["pg_hba"]]
        (datadir / "pg_hba.conf").write_text("\n".join(hba) + "\n")
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(datadir), "-w", "-t", "30",
             "-l", str(root / "server.log"), "start"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        pg = Postgres(datadir=datadir, port=port, database=database)
        # What CloudNativePG's initdb does: the owner role (login off: its managed role says so) owns the DB.
        owner = rendered.cluster["spec"]["bootstrap"]["initdb"]["owner"]
        pg.psql_as_superuser(f"CREATE ROLE {owner} NOLOGIN;\nCREATE DATABASE {database} OWNER {owner};\n")
        # postInitApplicationSQLRefs: the Secret (VSO template with the RandomSecret value) before the ConfigMap.
        initial_sql = rendered.initial_sql_template.replace('{{ get .Secrets "password" }}', INITIAL_PASSWORD)
        assert "{{" not in initial_sql
        pg.psql_as_superuser(initial_sql + rendered.bootstrap_sql, database)
        yield pg
    finally:
        if (datadir / "postmaster.pid").exists():
            subprocess.run(
                ["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(datadir), "-m", "fast",
                 "-w", "stop"],
                check=False, capture_output=True, timeout=60,
            )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


# --- OpenBao --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BaoCluster, str]]:
    with running_cluster(tmp_path_factory.mktemp("bao-db"), size=1) as cluster:
        client = cluster.client(0)
        init = client.sys.initialize(secret_shares=1, secret_threshold=1)
        client.sys.submit_unseal_key(init["keys"][0])
        deadline = time.monotonic() + 30
        while cluster.health(0).get("standby", True) or cluster.health(0).get("sealed", True):
            assert time.monotonic() < deadline, "OpenBao did not become active"
            time.sleep(0.1)
        yield cluster, init["root_token"]


def _vault_api(spec: dict[str, Any], mapping: dict[str, str], operator_only: set[str]) -> dict[str, Any]:
    """Translate a vault-config-operator spec to the Vault API body; an unmapped field fails the test."""
    unknown = set(spec) - set(mapping) - operator_only
    assert not unknown, f"spec fields this test does not translate (update it): {sorted(unknown)}"
    return {api: spec[field] for field, api in mapping.items() if field in spec}


CONFIG_FIELDS = {
    "pluginName": "plugin_name",
    "connectionURL": "connection_url",
    "username": "username",
    "allowedRoles": "allowed_roles",
    "passwordPolicy": "password_policy",
    "passwordAuthentication": "password_authentication",
    "verifyConnection": "verify_connection",
    "rootRotationStatements": "root_rotation_statements",
}
ROLE_FIELDS = {
    "dBName": "db_name",
    "creationStatements": "creation_statements",
    "revocationStatements": "revocation_statements",
    "renewStatements": "renew_statements",
    "rollbackStatements": "rollback_statements",
    "defaultTTL": "default_ttl",
    "maxTTL": "max_ttl",
}
OPERATOR_ONLY = {"connection", "authentication", "path", "name", "rootCredentials", "rootPasswordRotation"}


@dataclass
class Engine:
    client: hvac.Client
    cluster: BaoCluster
    mount: str
    connection: str
    vault_cert_dir: Path
    app_cert_dir: Path
    host_url: str  # the rewritten connection URL (for the root-password check)

    def creds(self, role: str) -> dict[str, Any]:
        return self.client.secrets.database.generate_credentials(role, mount_point=self.mount)


@pytest.fixture(scope="module")
def engine(rendered: Rendered, postgres: Postgres, bao, ca: ThrowawayCa, tmp_path_factory) -> Engine:
    cluster, root_token = bao
    client = cluster.client(0, token=root_token)
    certs = tmp_path_factory.mktemp("db-client-certs")
    # clientAuth leaves from the server's CA; clientcert=verify-full also needs CN = the role (vault's root user).
    vault_dir, app_dir = certs / "vault", certs / "app"
    ca.issue(names.DB_ROOT_USER, server=False, client=True).write(vault_dir)
    ca.issue("sms-proxy", server=False, client=True).write(app_dir)

    # The policy vault-config-operator would write (PasswordPolicy) -- the engine config names it.
    client.write(f"sys/policies/password/{names.PASSWORD_POLICY}", policy=rendered.password_policy)
    spec = rendered.engine_config["spec"]
    mount = spec["path"]
    client.sys.enable_secrets_engine("database", path=mount)
    body = _vault_api(spec, CONFIG_FIELDS, OPERATOR_ONLY)
    # Only the in-cluster address and the mount directory of the Vault pods differ here.
    url = urlsplit(body["connection_url"])
    assert url.hostname == f"{names.POSTGRES_CLUSTER}-rw.{rendered.settings_ns}.svc"
    rewritten = body["connection_url"].replace(f"{url.hostname}:{url.port}", f"localhost:{postgres.port}")
    rewritten = rewritten.replace(names.POSTGRES_CLIENT_CERT_DIR, str(vault_dir))
    assert "sslmode=verify-full" in rewritten and str(vault_dir) in rewritten
    body["connection_url"] = rewritten
    body["password"] = INITIAL_PASSWORD  # rootCredentials.randomSecret, read once by the operator
    connection = rendered.engine_config["metadata"]["name"]
    # verify_connection=true: Vault logs in right now (client certificate CN=vault + initial password).
    client.write(f"{mount}/config/{connection}", **body)
    for name, role in rendered.engine_roles.items():
        client.write(f"{mount}/roles/{name}", **_vault_api(role["spec"], ROLE_FIELDS, OPERATOR_ONLY))
    return Engine(client, cluster, mount, connection, vault_dir, app_dir, rewritten)


def connect(pg: Postgres, user: str, password: str, cert_dir: Path | None, *, sslmode: str = "verify-full"):
    params: dict[str, Any] = {
        "host": "localhost",
        "port": pg.port,
        "dbname": pg.database,
        "user": user,
        "password": password,
        "sslmode": sslmode,
        "connect_timeout": 5,
    }
    if cert_dir is not None:
        params.update(
            sslrootcert=str(cert_dir / "ca.crt"), sslcert=str(cert_dir / "tls.crt"), sslkey=str(cert_dir / "tls.key")
        )
    else:
        params.update(sslcert="", sslkey="")
    return psycopg.connect(**params, autocommit=True)


def login_fails(pg: Postgres, user: str, password: str, cert_dir: Path | None, **kwargs: Any) -> str:
    with pytest.raises(psycopg.OperationalError) as error:
        connect(pg, user, password, cert_dir, **kwargs).close()
    return str(error.value)


# --- the claims -----------------------------------------------------------------------------------------
def test_engine_root_login_needs_the_vault_certificate(engine: Engine, postgres: Postgres):
    # Right password, certificate from the right CA but CN != vault: clientcert=verify-full refuses.
    message = login_fails(postgres, names.DB_ROOT_USER, INITIAL_PASSWORD, engine.app_cert_dir)
    assert "certificate" in message or "authentication failed" in message
    # Sanity: with its own certificate the same login works (so the refusal above is the CN check).
    connect(postgres, names.DB_ROOT_USER, INITIAL_PASSWORD, engine.vault_cert_dir).close()


def test_migrations_credentials_can_create_tables_owned_by_the_owner_role(engine: Engine, postgres: Postgres, rendered):
    creds = engine.creds(names.DB_MIGRATIONS_ROLE)
    assert creds["lease_duration"] == 300
    user, password = creds["data"]["username"], creds["data"]["password"]
    with connect(postgres, user, password, engine.app_cert_dir) as conn:
        conn.execute("CREATE TABLE messages (id serial PRIMARY KEY, body text NOT NULL)")
        conn.execute("INSERT INTO messages (body) VALUES ('seed')")
        conn.execute("CREATE INDEX messages_body ON messages (body)")
        owner = conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'messages'").fetchone()[0]
    assert owner == rendered.cluster["spec"]["bootstrap"]["initdb"]["owner"]


def test_app_credentials_read_write_but_no_delete_and_no_ddl(engine: Engine, postgres: Postgres):
    creds = engine.creds(names.DB_APP_ROLE)
    assert creds["lease_duration"] == 12 * 3600
    user, password = creds["data"]["username"], creds["data"]["password"]
    with connect(postgres, user, password, engine.app_cert_dir) as conn:
        conn.execute("INSERT INTO messages (body) VALUES ('hello')")
        conn.execute("UPDATE messages SET body = 'hello again' WHERE body = 'hello'")
        assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 2
        for statement in (
            "DELETE FROM messages",
            "CREATE TABLE intruder (id int)",
            "DROP TABLE messages",
            "TRUNCATE messages",
            "ALTER TABLE messages ADD COLUMN x int",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 2


def test_revoking_a_lease_drops_the_role(engine: Engine, postgres: Postgres):
    for role in (names.DB_APP_ROLE, names.DB_MIGRATIONS_ROLE):
        creds = engine.creds(role)
        user = creds["data"]["username"]
        connect(postgres, user, creds["data"]["password"], engine.app_cert_dir).close()
        engine.client.sys.revoke_lease(creds["lease_id"])
        exists = postgres.psql_as_superuser(f"SELECT count(*) FROM pg_roles WHERE rolname = '{user}';")  # noqa: S608
        assert exists.strip() == "0", f"{role}: {user} still exists after revocation"
        # PostgreSQL does not tell a missing user from a wrong password.
        assert "password authentication failed" in login_fails(
            postgres, user, creds["data"]["password"], engine.app_cert_dir
        )


def test_connections_without_client_certificate_or_tls_are_refused(engine: Engine, postgres: Postgres):
    creds = engine.creds(names.DB_APP_ROLE)
    user, password = creds["data"]["username"], creds["data"]["password"]
    connect(postgres, user, password, engine.app_cert_dir).close()  # the same credentials work with one
    no_cert = login_fails(postgres, user, password, None, sslmode="require")
    assert "certificate" in no_cert
    plain = login_fails(postgres, user, password, None, sslmode="disable")
    assert "rejects connection" in plain or "no encryption" in plain
    engine.client.sys.revoke_lease(creds["lease_id"])


def test_rotate_root_makes_the_initial_password_fail(engine: Engine, postgres: Postgres, rendered):
    # rootPasswordRotation.enable: the operator calls rotate-root right after writing the config.
    assert rendered.engine_config["spec"]["rootPasswordRotation"]["enable"] is True
    engine.client.write(f"{engine.mount}/rotate-root/{engine.connection}")
    message = login_fails(postgres, names.DB_ROOT_USER, INITIAL_PASSWORD, engine.vault_cert_dir)
    assert "password authentication failed" in message
    # Vault still holds a working password: new dynamic credentials are issued and work.
    creds = engine.creds(names.DB_APP_ROLE)
    connect(postgres, creds["data"]["username"], creds["data"]["password"], engine.app_cert_dir).close()
    # And the scram verifier Vault set is not the initial password's.
    stored = postgres.psql_as_superuser(
        f"SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = '{names.DB_ROOT_USER}';"  # noqa: S608
    )
    assert stored.strip() == "t"


# --- the operators' ACL policies -------------------------------------------------------------------------
def _token_with(engine: Engine, policy_name: str, hcl: str) -> hvac.Client:
    engine.client.sys.create_or_update_acl_policy(policy_name, hcl)
    token = engine.client.auth.token.create(policies=[policy_name], no_default_policy=False, ttl="10m")
    return engine.cluster.client(0, token=token["auth"]["client_token"])


def _denied(call) -> None:
    with pytest.raises(hvac.exceptions.Forbidden):
        call()


@pytest.fixture(scope="module")
def settings():
    from tests.fixtures.config import stack_settings

    return stack_settings("local")


def test_vso_policy_reads_what_the_app_needs_and_nothing_else(engine: Engine, settings):
    root = engine.client
    folder = names.app_kv_path(settings)
    for path, kind in ((names.KV_V1_MOUNT, "1"), (names.KV_V2_MOUNT, "2")):
        if f"{path}/" not in root.sys.list_mounted_secrets_engines()["data"]:
            root.sys.enable_secrets_engine("kv", path=path, options={"version": kind})
    root.sys.enable_secrets_engine("transit", path=names.TRANSIT_MOUNT)
    root.secrets.transit.create_key(names.VSO_CACHE_KEY, mount_point=names.TRANSIT_MOUNT)
    registry = f"{folder}/{names.REGISTRY_PASSWORD_SECRET}"
    root.secrets.kv.v1.create_or_update_secret(registry, {"password": "x"}, mount_point="kv")
    root.secrets.kv.v1.create_or_update_secret("other-ns/secret", {"password": "x"}, mount_point="kv")
    for attempt in range(50):  # the first KV v2 write after mounting can fail while it upgrades
        try:
            root.secrets.kv.v2.create_or_update_secret(
                f"{folder}/{names.APP_HASHING_SECRET}", {"k": "v"}, mount_point="kv2"
            )
            break
        except hvac.exceptions.VaultError:
            assert attempt < 49
            time.sleep(0.1)

    vso = _token_with(engine, names.VSO_POLICY, policies.vso_policy_hcl(settings))
    assert vso.secrets.kv.v1.read_secret(registry, mount_point="kv")["data"]["password"] == "x"
    assert vso.secrets.kv.v2.read_secret_version(
        f"{folder}/{names.APP_HASHING_SECRET}", mount_point="kv2", raise_on_deleted_version=True
    )
    for role in (names.DB_APP_ROLE, names.DB_MIGRATIONS_ROLE):
        creds = vso.secrets.database.generate_credentials(role, mount_point=engine.mount)
        vso.sys.renew_lease(creds["lease_id"])  # VSO renews leases (default policy)
        root.sys.revoke_lease(creds["lease_id"])
    cache = _token_with(engine, names.VSO_CACHE_POLICY, render_hcl(policies.vso_cache_rules(settings)))
    ciphertext = cache.secrets.transit.encrypt_data(names.VSO_CACHE_KEY, "aGk=", mount_point="transit")["data"][
        "ciphertext"
    ]
    assert (
        cache.secrets.transit.decrypt_data(names.VSO_CACHE_KEY, ciphertext, mount_point="transit")["data"]["plaintext"]
        == "aGk="
    )
    # The app namespace's policy no longer reaches the cache key (the controller's own role does).
    _denied(lambda: vso.secrets.transit.encrypt_data(names.VSO_CACHE_KEY, "aGk=", mount_point="transit"))

    _denied(lambda: vso.secrets.kv.v1.read_secret("other-ns/secret", mount_point="kv"))
    _denied(lambda: vso.secrets.kv.v1.create_or_update_secret(registry, {"p": "y"}, mount_point="kv"))
    _denied(lambda: vso.read(f"{engine.mount}/config/{engine.connection}"))
    _denied(lambda: vso.write(f"{engine.mount}/rotate-root/{engine.connection}"))
    _denied(lambda: vso.write(f"{engine.mount}/roles/{names.DB_APP_ROLE}", db_name="x"))
    _denied(lambda: vso.secrets.transit.read_key(names.VSO_CACHE_KEY, mount_point="transit"))
    _denied(lambda: vso.sys.list_mounted_secrets_engines())
    _denied(lambda: vso.sys.read_policy("default"))


def test_config_operator_policy_writes_engine_config_and_generated_secrets_only(engine: Engine, settings, rendered):
    root = engine.client
    folder = names.app_kv_path(settings)
    operator = _token_with(engine, names.CONFIG_OPERATOR_POLICY, policies.config_operator_policy_hcl(settings))
    # PasswordPolicy, then RandomSecret (generate + write v1/v2), then the engine's config, roles, rotation.
    operator.write(f"sys/policies/password/{names.PASSWORD_POLICY}", policy=rendered.password_policy)
    generated = operator.read(f"sys/policies/password/{names.PASSWORD_POLICY}/generate")["data"]["password"]
    assert len(generated) == 20 and re.search(r"[a-z]", generated) and re.search(r"[A-Z]", generated)
    assert re.search(r"\d", generated) and not re.search(r"['\"\\$]", generated)
    operator.write(f"kv/{folder}/{names.DB_ROOT_INITIAL_SECRET}", password=generated)
    assert operator.read(f"kv/{folder}/{names.DB_ROOT_INITIAL_SECRET}")["data"]["password"] == generated
    operator.write_data(f"kv2/data/{folder}/{names.APP_HASHING_SECRET}", data={"data": {"hashing-secret": generated}})
    operator.delete(f"kv2/metadata/{folder}/{names.APP_HASHING_SECRET}")
    config = operator.read(f"{engine.mount}/config/{engine.connection}")["data"]
    assert config["connection_details"]["username"] == names.DB_ROOT_USER
    for name, role in rendered.engine_roles.items():
        operator.write(f"{engine.mount}/roles/{name}", **_vault_api(role["spec"], ROLE_FIELDS, OPERATOR_ONLY))
    operator.write(f"{engine.mount}/rotate-root/{engine.connection}")

    _denied(lambda: operator.read(f"{engine.mount}/creds/{names.DB_APP_ROLE}"))
    _denied(lambda: operator.write(f"{engine.mount}/config/other", plugin_name="postgresql-database-plugin"))
    _denied(lambda: operator.write(f"{engine.mount}/roles/superuser", db_name=engine.connection))
    _denied(lambda: operator.read("kv/other-ns/secret"))
    _denied(lambda: operator.read(f"kv2/data/{folder}/{names.APP_HASHING_SECRET}x/y"))
    _denied(lambda: operator.write("sys/policies/password/other", policy=rendered.password_policy))
    _denied(lambda: operator.sys.create_or_update_acl_policy("escalate", 'path "*" { capabilities = ["sudo"] }'))
    _denied(lambda: operator.secrets.transit.encrypt_data(names.VSO_CACHE_KEY, "aGk=", mount_point="transit"))
    _denied(lambda: operator.sys.enable_secrets_engine("kv", path="mine"))
    # After its rotation the engine still works (the operator never needs the password again).
    creds = root.secrets.database.generate_credentials(names.DB_APP_ROLE, mount_point=engine.mount)
    root.sys.revoke_lease(creds["lease_id"])


def test_no_process_argument_carries_a_secret(postgres: Postgres, engine: Engine):
    # The initial password and the SQL went through stdin / HTTP bodies only.
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                argv = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            assert INITIAL_PASSWORD.encode() not in argv
