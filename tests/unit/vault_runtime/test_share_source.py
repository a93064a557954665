"""Decrypted shares on demand (components/vault_runtime/steps/share_source.py): the variable's formats, and a
hidden prompt on a real pseudo-terminal (echo off: the share never appears on the screen)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from components.vault_runtime.steps import share_source


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\nb\n", ["a", "b"]),
        ("a, b", ["a", "b"]),
        (" a \n\n b,c ", ["a", "b", "c"]),
        ('["a", "b"]', ["a", "b"]),  # the vaultUnsealKeys form
        ("", []),
    ],
)
def test_the_variable_takes_lines_commas_or_a_json_list(text: str, expected: list[str]) -> None:
    assert share_source.parse_shares(text) == expected
    assert share_source.from_environment({share_source.ENV_VAR: text}) == expected


def _read_until(fd: int, marker: bytes, seen: bytearray) -> None:
    while marker not in seen:
        seen.extend(os.read(fd, 1024))


def test_prompt_reads_hidden_shares_from_the_terminal() -> None:
    master, slave = os.openpty()
    path = os.ttyname(slave)
    result: list[list[str]] = []
    asking = threading.Thread(target=lambda: result.append(share_source.prompt_shares(["vault-1"], 2, path)))
    asking.start()
    screen = bytearray()
    try:
        for number, share in ((1, b"share-one"), (2, b"share-two")):
            _read_until(master, f"share {number} of 2".encode(), screen)
            os.write(master, share + b"\n")
        asking.join(timeout=10)
        screen.extend(os.read(master, 4096))
    finally:
        os.close(master)
        os.close(slave)
    assert result == [["share-one", "share-two"]]
    assert b"vault-1" in screen and b"share-one" not in screen and b"share-two" not in screen  # echo off


def test_no_terminal_means_no_prompt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(share_source.ENV_VAR, raising=False)
    assert share_source.prompt_shares(["vault-0"], 2, str(tmp_path / "no-tty")) == []
    assert share_source.obtain(["vault-0"], 2, tty_path=str(tmp_path / "no-tty")) == []
    monkeypatch.setenv(share_source.ENV_VAR, "a,b")
    assert share_source.obtain(["vault-0"], 2, tty_path=str(tmp_path / "no-tty")) == ["a", "b"]


def test_the_error_says_how_to_supply_shares_without_putting_them_in_argv() -> None:
    message = share_source.missing_message(["vault-0", "vault-2"], 3)
    assert "vault-0, vault-2" in message and "3 decrypted share(s)" in message
    assert f"read -rs {share_source.ENV_VAR}" in message and "prompted" in message and "vaultUnsealKeys" in message
