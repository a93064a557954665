"""A small reader for the HCL subset Vault server configs use: attributes and (labelled) blocks.

`parse(text)` returns a `Body`: `attributes` (name -> str/int/float/bool) and `blocks` (in order, each
with its type, labels and body). Enough to read back what we render (listener, storage "raft" with
repeated `retry_join`, service_registration, telemetry); anything else (lists, expressions, heredocs)
raises, so the test never silently reads less than the file says.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_TOKEN = re.compile(
    r"""
    (?P<space>\s+|\#[^\n]*|//[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_-]*)
  | (?P<punct>[={}])
    """,
    re.VERBOSE,
)


class HclError(ValueError):
    pass


@dataclass
class Block:
    type: str
    labels: list[str]
    body: Body


@dataclass
class Body:
    attributes: dict[str, Any] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)

    def all(self, type_: str, *labels: str) -> list[Block]:
        """Every block of that type (and leading labels)."""
        return [b for b in self.blocks if b.type == type_ and b.labels[: len(labels)] == list(labels)]

    def one(self, type_: str, *labels: str) -> Block:
        found = self.all(type_, *labels)
        if len(found) != 1:
            raise HclError(f"expected one {type_} {labels} block, found {len(found)}")
        return found[0]


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise HclError(f"unexpected {text[position : position + 20]!r} at offset {position}")
        position = match.end()
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append((kind, match.group()))
    return tokens


def _value(kind: str, raw: str) -> Any:
    if kind == "string":
        return json.loads(raw)
    if kind == "number":
        return float(raw) if "." in raw else int(raw)
    if kind == "ident" and raw in ("true", "false"):
        return raw == "true"
    raise HclError(f"unsupported value {raw!r}")


def _body(tokens: list[tuple[str, str]], index: int, nested: bool) -> tuple[Body, int]:
    body = Body()
    while index < len(tokens):
        kind, raw = tokens[index]
        if (kind, raw) == ("punct", "}"):
            if not nested:
                raise HclError("unbalanced '}'")
            return body, index + 1
        if kind != "ident":
            raise HclError(f"expected a name, got {raw!r}")
        if index + 1 < len(tokens) and tokens[index + 1] == ("punct", "="):
            if raw in body.attributes:
                raise HclError(f"attribute {raw!r} set twice")
            body.attributes[raw] = _value(*tokens[index + 2])
            index += 3
            continue
        labels, index = [], index + 1
        while index < len(tokens) and tokens[index][0] == "string":
            labels.append(json.loads(tokens[index][1]))
            index += 1
        if index >= len(tokens) or tokens[index] != ("punct", "{"):
            raise HclError(f"block {raw!r} without a body")
        inner, index = _body(tokens, index + 1, nested=True)
        body.blocks.append(Block(raw, labels, inner))
    if nested:
        raise HclError("missing '}'")
    return body, index


def parse(text: str) -> Body:
    body, _ = _body(_tokens(text), 0, nested=False)
    return body
