"""Which process a long-lived helper should outlive the program for: the `pulumi` CLI that runs it.

Under the engine the tree is ``pulumi`` (the CLI) -> ``pulumi-language-python`` (the language host) -> python
(this program), possibly with ``uv run`` or a shell in between. The engine keeps working after the program
has exited (deletes of removed resources), so a helper the program starts must live until the CLI exits.
:func:`lifetime_anchor` walks up from this process to the nearest ancestor named ``pulumi``; without one
(tests, mocks, a program started by hand) it is this process itself, so the helper lives as long as it.

A process is identified by pid and start time (``/proc/<pid>/stat`` on Linux, ``ps -o lstart=`` elsewhere), so
a later process that reuses the pid is not mistaken for it; an exited but unreaped process (a zombie) is dead.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from components.kube.child_env import child_environment

CLI_NAMES = frozenset({"pulumi", "pulumi.exe"})
# The language host's name as the kernel keeps it (comm: 15 characters); its parent is the CLI whatever the
# CLI's own name is (a wrapper script, a renamed binary).
HOST_PREFIX = "pulumi-language"
# Deeper than any real chain (CLI -> language host -> uv -> shell -> python); stops a walk through init.
MAX_DEPTH = 8
PROC = Path("/proc")


@dataclass(frozen=True)
class ProcessRef:
    """One process: its pid and start time ("" where the platform does not tell)."""

    pid: int
    started: str = ""

    def to_list(self) -> list[int | str]:
        return [self.pid, self.started]

    @classmethod
    def from_list(cls, value: list[int | str]) -> ProcessRef:
        return cls(int(value[0]), str(value[1]))


@dataclass(frozen=True)
class _Info:
    ppid: int
    state: str
    started: str
    cli: bool  # named like the Pulumi CLI
    host: bool = False  # named like a Pulumi language host


def _linux_info(pid: int) -> _Info | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
        comm = (PROC / str(pid) / "comm").read_text().strip()
    except OSError:
        return None
    # The command name in parentheses may hold spaces: the fields start after the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    exe = ""
    with contextlib.suppress(OSError):  # another user's process: comm is enough
        exe = (PROC / str(pid) / "exe").readlink().name
    # A script run through its #! line has the interpreter as exe and the script's name as comm.
    cli = comm in CLI_NAMES or exe in CLI_NAMES
    host = comm.startswith(HOST_PREFIX) or exe.startswith(HOST_PREFIX)
    return _Info(ppid=int(fields[1]), state=fields[0], started=fields[19], cli=cli, host=host)


def _ps_info(pid: int) -> _Info | None:
    try:
        out = subprocess.run(
            ["ps", "-o", "ppid=,state=,lstart=,comm=", "-p", str(pid)],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
            env=child_environment(),
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    if len(out) < 8:  # ppid, state, 5 words of lstart, comm
        return None
    name = Path(out[7]).name
    return _Info(
        ppid=int(out[0]), state=out[1][:1], started=" ".join(out[2:7]), cli=name in CLI_NAMES,
        host=name.startswith(HOST_PREFIX),
    )  # fmt: skip


def _info(pid: int) -> _Info | None:
    return _linux_info(pid) if PROC.is_dir() else _ps_info(pid)


def current() -> ProcessRef:
    """This process."""
    info = _info(os.getpid())
    return ProcessRef(os.getpid(), info.started if info else "")


def ref(pid: int) -> ProcessRef | None:
    """The process with this pid now, or None."""
    info = _info(pid)
    return ProcessRef(pid, info.started) if info else None


def alive(process: ProcessRef) -> bool:
    """Whether that very process still runs (not a zombie, not a later process with the same pid)."""
    info = _info(process.pid)
    if info is None or info.state in ("Z", "X", "x"):
        return False
    return not process.started or info.started == process.started


def cli_ancestor(pid: int | None = None) -> ProcessRef | None:
    """The nearest ancestor of `pid` (default: this process) named ``pulumi``, else the parent of the nearest
    language host (``pulumi-language-*``), else None."""
    info = _info(os.getpid() if pid is None else pid)
    for _ in range(MAX_DEPTH):
        if info is None or info.ppid <= 0:  # pid 1 has parent 0 (a CLI may be pid 1 in a container)
            return None
        parent, was_host = info.ppid, info.host
        info = _info(parent)
        # An orphaned language host's parent is init, not a CLI.
        if info is not None and (info.cli or (was_host and parent != 1)):
            return ProcessRef(parent, info.started)
    return None


def lifetime_anchor() -> ProcessRef:
    """What a helper started now should live as long as: the `pulumi` CLI, else this process."""
    return cli_ancestor() or current()
