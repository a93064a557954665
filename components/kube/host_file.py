"""A file on the machine that runs `pulumi up`, as a resource: written on create/update, removed on delete.

Used for what the kind nodes read through a bind mount from the deploying machine (the registry CA next
to containerd's hosts.toml). Only public material belongs here: the content is written as given.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

from components.kube.provider_values import as_int, is_unknown

DEFAULT_MODE = 0o644


def _mode(props: dict[str, Any]) -> int:
    # The engine delivers numbers as floats (0o644 arrives as 420.0).
    mode = as_int(props.get("mode"))
    return DEFAULT_MODE if mode is None else mode


def _write(path: str, content: str, mode: int) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(target.suffix + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(content)
    temporary.replace(target)  # atomic: a reader never sees half a file


class HostFileProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        _write(props["path"], props["content"], _mode(props))
        return CreateResult(id_=props["path"], outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # Unknown values (preview) may change; 420 and 420.0 compare equal.
        changed = [k for k in ("path", "content", "mode") if is_unknown(news.get(k)) or olds.get(k) != news.get(k)]
        # A file that vanished (a wiped state directory) is recreated too; an unknown path cannot be looked at.
        missing = not is_unknown(news.get("path")) and not Path(news["path"]).is_file()
        return DiffResult(
            changes=bool(changed) or missing, replaces=["path"] if "path" in changed else [], delete_before_replace=True
        )

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        _write(news["path"], news["content"], _mode(news))
        return UpdateResult(outs=news)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        Path(props["path"]).unlink(missing_ok=True)


class HostFile(Resource, module="platform", name="HostFile"):
    """`path` on the deploying machine holds `content` (public data only)."""

    path: pulumi.Output[str]
    content: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        path: pulumi.Input[str],
        content: pulumi.Input[str],
        mode: int = 0o644,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(HostFileProvider(), name, {"path": path, "content": content, "mode": mode}, opts)
