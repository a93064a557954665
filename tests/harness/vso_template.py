"""Render VSO secret-transformation templates (Go text/template + sprig) the way VSO would, for tests.

Only the subset the manifests use is implemented, and anything else is an error rather than a guess:
actions with `{{-`/`-}}` trimming, `$var :=` assignments, pipelines, parenthesised calls, string
literals, `.Secrets` lookups, and these functions (each one is in VSO's allowed list,
internal/template/funcs.go, or a text/template builtin): get, default, printf (%s only), b64enc,
bcrypt (sprig: bcrypt cost 10, `$2a$`), dict, toJson (compact, sorted keys like Go's encoding/json).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import bcrypt as _bcrypt

_ACTION = re.compile(r"\{\{(-?)(.*?)(-?)\}\}", re.DOTALL)
_TOKEN = re.compile(r'"(?:\\.|[^"\\])*"|\(|\)|\||:=|[^\s()|]+')


def _sprig_bcrypt(value: str) -> str:
    return _bcrypt.hashpw(value.encode(), _bcrypt.gensalt(rounds=10, prefix=b"2a")).decode()


def _default(fallback: Any, value: Any = None) -> Any:
    return value if value not in (None, "", [], {}, 0, False) else fallback


def _printf(fmt: str, *args: Any) -> str:
    if re.search(r"%[^s%]", fmt):
        raise ValueError(f"printf format {fmt!r}: only %s is implemented")
    return fmt % args


def _dict(*pairs: Any) -> dict[str, Any]:
    if len(pairs) % 2:
        raise ValueError("dict needs key/value pairs")
    return {str(pairs[i]): pairs[i + 1] for i in range(0, len(pairs), 2)}


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "get": lambda mapping, key: mapping.get(key, ""),
    "default": _default,
    "printf": _printf,
    "b64enc": lambda value: base64.b64encode(str(value).encode()).decode(),
    "bcrypt": _sprig_bcrypt,
    "dict": _dict,
    "toJson": lambda value: json.dumps(value, sort_keys=True, separators=(",", ":")),
}


class _Evaluator:
    def __init__(self, data: Mapping[str, Any]):
        self.data = data
        self.variables: dict[str, Any] = {}

    def action(self, text: str) -> str:
        tokens = _TOKEN.findall(text)
        if len(tokens) >= 2 and tokens[1] == ":=":
            if not tokens[0].startswith("$"):
                raise ValueError(f"bad assignment in {{{{{text}}}}}")
            self.variables[tokens[0]] = self.pipeline(tokens[2:])
            return ""
        value = self.pipeline(tokens)
        return "" if value is None else str(value)

    def pipeline(self, tokens: list[str]) -> Any:
        commands: list[list[str]] = [[]]
        depth = 0
        for token in tokens:
            depth += token == "("
            depth -= token == ")"
            if token == "|" and depth == 0:
                commands.append([])
            else:
                commands[-1].append(token)
        result: Any = None
        for index, command in enumerate(commands):
            piped = () if index == 0 else (result,)
            result = self.command(command, piped)
        return result

    def command(self, tokens: list[str], piped: tuple[Any, ...]) -> Any:
        args: list[Any] = []
        head: str | None = None
        position = 0
        while position < len(tokens):
            token = tokens[position]
            if token == "(":
                depth, end = 1, position + 1
                while depth:
                    depth += tokens[end] == "("
                    depth -= tokens[end] == ")"
                    end += 1
                args.append(self.pipeline(tokens[position + 1 : end - 1]))
                position = end
                continue
            if position == 0 and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", token):
                head = token
            else:
                args.append(self.operand(token))
            position += 1
        if head is None:
            if len(args) != 1 or piped:
                raise ValueError(f"cannot evaluate {' '.join(tokens)!r}")
            return args[0]
        if head not in FUNCTIONS:
            raise ValueError(f"template function {head!r} is not implemented (nor checked against VSO)")
        return FUNCTIONS[head](*args, *piped)

    def operand(self, token: str) -> Any:
        if token.startswith('"'):
            return json.loads(token)
        if token.startswith("$"):
            return self.variables[token]
        if token.startswith("."):
            value: Any = self.data
            for part in token.strip(".").split("."):
                value = value[part] if part else value
            return value
        raise ValueError(f"unsupported operand {token!r}")


def render(template: str, secrets: Mapping[str, Any]) -> str:
    """Render one VSO template with `.Secrets` = `secrets`."""
    evaluator = _Evaluator({"Secrets": dict(secrets)})
    out: list[str] = []
    position = 0
    trim_next = False
    for match in _ACTION.finditer(template):
        literal = template[position : match.start()]
        if trim_next:
            literal = literal.lstrip()
        if match.group(1):
            literal = literal.rstrip()
        out.append(literal)
        out.append(evaluator.action(match.group(2).strip()))
        trim_next = bool(match.group(3))
        position = match.end()
    tail = template[position:]
    out.append(tail.lstrip() if trim_next else tail)
    return "".join(out)


def render_destination(vault_static_secret: Mapping[str, Any], secrets: Mapping[str, Any]) -> dict[str, str]:
    """The data keys a VaultStaticSecret's destination Secret gets from its templates."""
    templates = vault_static_secret["spec"]["destination"]["transformation"]["templates"]
    return {key: render(spec["text"], secrets) for key, spec in templates.items()}
