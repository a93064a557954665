"""(5) PGP init: shares and root token come back encrypted; the holder decrypts them and they work.

A throw-away GnuPG home (python-gnupg, Debian gnupg) holds one unprotected key; every share is encrypted to it
(in production each share goes to a different holder). The encrypted shares cannot unseal; the decrypted ones,
given the way the config secret ``vaultUnsealKeys`` carries them (a JSON list string), do. All through the
engine path (tests/harness/engine.py).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from components.vault_runtime.providers import (
    VaultBootstrapProvider,
    VaultInitProvider,
    VaultRootTokenRevokeProvider,
    VaultUnsealProvider,
    bootstrap_inputs,
    init_inputs,
    revoke_inputs,
    unseal_inputs,
)
from components.vault_runtime.steps.share_source import ENV_VAR
from tests.fixtures.openbao import BaoCluster
from tests.harness.engine import DynamicProviderServer, EngineResource, ProviderError

# Registers the OpenBao fixtures even when tests/conftest.py does not list the plugin (idempotent if it does).
pytest_plugins = ["tests.fixtures.openbao"]
pytestmark = pytest.mark.slow


@dataclass
class Holder:
    gpg: object  # gnupg.GPG
    public_key_b64: str  # what Vault's pgp_keys takes: base64 of the binary (non-armoured) public key

    def decrypt(self, ciphertext_b64: str) -> str:
        result = self.gpg.decrypt(base64.b64decode(ciphertext_b64))  # type: ignore[attr-defined]
        assert result.ok, result.status
        return str(result)


@pytest.fixture
def holder() -> Iterator[Holder]:
    import gnupg  # python-gnupg, in the test dependency group

    # A missing tool is a broken setup, never a reason to skip: .ci/install-system-packages installs gpg.
    if not shutil.which("gpg"):
        pytest.fail("gpg is not installed: run `make test` (it installs Debian's gnupg)")
    # A short path: gpg-agent's socket path must fit in sun_path.
    home = tempfile.mkdtemp(prefix="gpg-", dir="/tmp")
    try:
        gpg = gnupg.GPG(gnupghome=home)
        key = gpg.gen_key(
            gpg.gen_key_input(key_type="RSA", key_length=2048, name_email="unseal@example.test", no_protection=True)
        )
        assert key.fingerprint
        yield Holder(gpg, base64.b64encode(gpg.export_keys(key.fingerprint, armor=False)).decode())
    finally:
        subprocess.run(["gpgconf", "--homedir", home, "--kill", "all"], check=False, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def single_node(bao_cluster_factory) -> Iterator[BaoCluster]:
    """PGP changes only init; a single node keeps this test fast (multi-node unseal is covered elsewhere)."""
    cluster = bao_cluster_factory(1)
    yield cluster
    cluster.kill()


def test_pgp_encrypted_shares_decrypt_and_unseal(
    single_node: BaoCluster, holder: Holder, provider_server: DynamicProviderServer
) -> None:
    connect = single_node.direct_connect()
    conn = single_node.connection()
    init = EngineResource(provider_server, VaultInitProvider(connect), "vault-init")
    props = init_inputs(
        connection=conn,
        secret_shares=3,
        secret_threshold=2,
        pgp_keys=[holder.public_key_b64] * 3,
        root_token_pgp_key=holder.public_key_b64,
    )
    assert init.up(props) == "created"  # Check ran with 3.0 shares and counted the 3 keys
    outs = init.outs
    assert outs["shares_encrypted"] and outs["root_token_encrypted"]
    shares = [holder.decrypt(k) for k in outs["keys_b64"]]
    # `keys` is the same ciphertext, hex-encoded.
    assert [holder.decrypt(base64.b64encode(bytes.fromhex(k)).decode()) for k in outs["keys"]] == shares
    assert all(s not in json.dumps(outs) for s in shares)  # no plaintext share anywhere in the outputs
    assert init.check({**props, "pgp_keys": [holder.public_key_b64] * 2})[1][0][0] == "pgp_keys"

    unseal = EngineResource(provider_server, VaultUnsealProvider(connect), "vault-unseal")
    with pytest.raises(ProviderError) as err:
        unseal.up(unseal_inputs(connection=conn, keys=outs["keys_b64"], threshold=2, timeout_seconds=20))
    assert "pod vault-0" in err.value.details
    assert not any(k in err.value.details for k in outs["keys_b64"])

    # The decrypted shares, as the config secret carries them.
    assert unseal.up(unseal_inputs(connection=conn, keys=json.dumps(shares[:2]), threshold=2)) == "created"
    assert unseal.outs["unsealed_pods"] == ["vault-0"]
    assert not single_node.health(0)["sealed"]

    root = holder.decrypt(outs["root_token"])
    boot = EngineResource(provider_server, VaultBootstrapProvider(connect), "vault-bootstrap")
    assert boot.up(bootstrap_inputs(connection=conn, root_token=root)) == "created"
    revoke = EngineResource(provider_server, VaultRootTokenRevokeProvider(connect), "vault-bootstrap-revoke-root")
    assert revoke.up(revoke_inputs(connection=conn, root_token=root, role_id=boot.outs["role_id"])) == "created"
    assert revoke.outs["revoked_by_this_step"] is True


def test_pgp_shares_are_asked_for_only_when_a_pod_is_sealed(single_node: BaoCluster, holder: Holder) -> None:
    """No vaultUnsealKeys: the unseal step takes decrypted shares from VAULT_UNSEAL_KEYS of the provider process
    (the engine starts it with the CLI's environment; here the server process gets it), only when a pod is
    sealed. Without them and with no terminal: one error saying how to supply them. No share reaches the state."""
    connect, conn = single_node.direct_connect(), single_node.connection()
    on_demand = unseal_inputs(connection=conn, keys=[], threshold=2, timeout_seconds=30, shares_on_demand=True)
    with DynamicProviderServer() as plain:
        init = EngineResource(plain, VaultInitProvider(connect), "vault-init")
        pgp = [holder.public_key_b64] * 3
        assert init.up(init_inputs(connection=conn, secret_shares=3, secret_threshold=2, pgp_keys=pgp)) == "created"
        shares = [holder.decrypt(k) for k in init.outs["keys_b64"]]
        unseal = EngineResource(plain, VaultUnsealProvider(connect), "vault-unseal")
        with pytest.raises(ProviderError) as err:  # sealed, no variable, no terminal (the harness has none)
            unseal.up(on_demand)
        assert err.value.method == "Create" and "vault-0" in err.value.details
        assert "VAULT_UNSEAL_KEYS" in err.value.details and "prompted" in err.value.details

        with DynamicProviderServer(env={ENV_VAR: "\n".join(shares[:2])}) as with_shares:
            unseal.server = with_shares
            assert unseal.up(on_demand) == "created"
        assert not single_node.health(0)["sealed"] and unseal.outs["unsealed_pods"] == ["vault-0"]
        state = json.dumps([unseal.inputs, unseal.outs, init.outs])
        assert not any(share in state for share in shares)  # supplied this way, never in the state

        # All unsealed: a run needs no share at all (the diff sees nothing to do; an update asks for nothing).
        unseal.server = plain
        assert unseal.up(on_demand) == "same"
        unseal.update(unseal.check(on_demand)[0])
        assert unseal.outs["unsealed_pods"] == []

        single_node.restart_node(0)  # sealed again: the next run needs shares
        with pytest.raises(ProviderError, match="VAULT_UNSEAL_KEYS"):
            unseal.up(on_demand)
        with DynamicProviderServer(env={ENV_VAR: f"{shares[2]}, {shares[0]}"}) as comma_separated:
            unseal.server = comma_separated
            assert unseal.up(on_demand) == "updated"
            assert not any(share in comma_separated.stderr_text() for share in shares)
    assert not single_node.health(0)["sealed"]


def test_a_sealed_pod_prompts_on_the_provider_processs_terminal(single_node: BaoCluster, holder: Holder) -> None:
    """No variable, but the provider process has a controlling terminal (a pseudo-terminal here): the unseal
    step asks for the shares there, echo off, and unseals with them."""
    connect, conn = single_node.direct_connect(), single_node.connection()
    master, slave = os.openpty()
    screen = bytearray()
    try:
        with DynamicProviderServer(tty=os.ttyname(slave)) as server:
            init = EngineResource(server, VaultInitProvider(connect), "vault-init")
            pgp = [holder.public_key_b64] * 2
            init.up(init_inputs(connection=conn, secret_shares=2, secret_threshold=2, pgp_keys=pgp))
            shares = [holder.decrypt(k) for k in init.outs["keys_b64"]]
            typist = threading.Thread(target=_type_shares, args=(master, shares, screen), daemon=True)
            typist.start()
            unseal = EngineResource(server, VaultUnsealProvider(connect), "vault-unseal")
            props = unseal_inputs(connection=conn, keys=[], threshold=2, timeout_seconds=30, shares_on_demand=True)
            assert unseal.up(props) == "created"
            typist.join(timeout=10)
    finally:
        os.close(master)
        os.close(slave)
    assert not single_node.health(0)["sealed"]
    assert b"vault-0" in screen and not any(share.encode() in screen for share in shares)  # asked, not echoed


def _type_shares(master: int, shares: list[str], screen: bytearray) -> None:
    for number, share in enumerate(shares, 1):
        while f"share {number} of {len(shares)}".encode() not in screen:
            screen.extend(os.read(master, 1024))
        os.write(master, share.encode() + b"\n")
    with contextlib.suppress(OSError):
        screen.extend(os.read(master, 1024))
