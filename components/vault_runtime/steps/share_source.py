"""Decrypted unseal shares on demand: from ``VAULT_UNSEAL_KEYS`` or a hidden prompt, only when a pod is sealed.

With PGP-encrypted shares (``vault.pgpKeys``) the program cannot unseal by itself, and a share in the config
(``vaultUnsealKeys``) would sit in the stack's settings for every run. Instead the unseal step asks for
shares only when a pod is actually sealed:

1. the environment variable :data:`ENV_VAR` of the dynamic-provider process (the engine starts it with the
   ``pulumi`` CLI's environment, so ``export VAULT_UNSEAL_KEYS=...`` before ``pulumi up`` reaches it): shares
   separated by newlines or commas, or a JSON list like ``vaultUnsealKeys``;
2. otherwise, when the process has a controlling terminal, a prompt on ``/dev/tty`` with echo off (never
   stdin: the engine owns the provider's standard streams);
3. otherwise nothing: the caller raises :func:`missing_message`.

Shares obtained here are used for this run only: they are neither inputs nor outputs, so they never reach
the state, and the provider redacts them from every error.
"""

from __future__ import annotations

import io
import json
import os
import termios
from collections.abc import Mapping, Sequence

ENV_VAR = "VAULT_UNSEAL_KEYS"
TTY = "/dev/tty"


def parse_shares(text: str) -> list[str]:
    """Shares from the variable's text: a JSON list, or one share per line / comma-separated."""
    text = text.strip()
    if text.startswith("["):
        return [str(s).strip() for s in json.loads(text) if str(s).strip()]
    return [part.strip() for line in text.splitlines() for part in line.split(",") if part.strip()]


def from_environment(environ: Mapping[str, str] | None = None) -> list[str]:
    return parse_shares((os.environ if environ is None else environ).get(ENV_VAR, ""))


def prompt_shares(pods: Sequence[str], count: int, tty_path: str = TTY) -> list[str]:
    """Ask for ``count`` shares on the controlling terminal (echo off); [] when there is none.

    An empty answer stops asking (fewer shares than the threshold then fail with the usual message).
    """
    try:
        fd = os.open(tty_path, os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return []  # no controlling terminal: CI, a detached run, the test harness
    # A terminal is not seekable: a text layer straight over the raw file (as getpass does), no buffered pair.
    with io.TextIOWrapper(io.FileIO(fd, "w+"), encoding="utf-8", errors="replace") as tty:
        saved = termios.tcgetattr(fd)
        hidden = list(saved)
        hidden[3] &= ~termios.ECHO
        shares: list[str] = []
        try:
            termios.tcsetattr(fd, termios.TCSAFLUSH, hidden)
            tty.write(f"\nVault pod(s) {', '.join(pods)} sealed: enter {count} decrypted unseal share(s).\n")
            for number in range(1, count + 1):
                tty.write(f"Unseal share {number} of {count} (input hidden, empty to stop): ")
                tty.flush()
                share = tty.readline().strip()
                tty.write("\n")
                if not share:
                    break
                shares.append(share)
        finally:
            termios.tcsetattr(fd, termios.TCSAFLUSH, saved)
            tty.flush()
    return shares


def obtain(pods: Sequence[str], count: int, *, tty_path: str = TTY) -> list[str]:
    """Shares from the environment, else from a prompt; [] when neither is available."""
    return from_environment() or prompt_shares(pods, count, tty_path)


def missing_message(pods: Sequence[str], count: int) -> str:
    return (
        f"Vault pod(s) {', '.join(pods)} are sealed and the unseal shares are PGP-encrypted (vault.pgpKeys), so "
        f"{count} decrypted share(s) are needed for this run. Supply them in the environment of `pulumi up` "
        f"(comma- or newline-separated, never as a command-line argument): `read -rs {ENV_VAR} && export "
        f"{ENV_VAR}` then `pulumi up`; or run `pulumi up` in a terminal to be prompted; or keep them in the "
        "config: `pulumi config set --secret vaultUnsealKeys '[...]'`"
    )
