"""Flux `postBuild` variable substitution, as kustomize-controller 1.9+ does it in strict mode.

The local stack renders manifests with exactly the rules Flux applies in the remote stack, so both
stacks deploy the same objects:
- `${var}` is replaced; `${var:=default}` / `${var:-default}` fall back when var is unset or empty,
  `${var=default}` / `${var-default}` only when unset;
- `$${var}` is an escape that yields a literal `${var}`; a bare `$var` is left alone;
- an unset variable without a default is an error (strict mode, the default since 1.9.0);
- variable names match `^[_[:alpha:]][_[:alpha:][:digit:]]*$` and values must be strings.
The per-object opt-out annotation is handled by the renderer, which sees objects, not text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

VARIABLE_NAME = re.compile(r"^[_A-Za-z][_A-Za-z0-9]*$")
# `$${` (escape) or `${...}` (a reference); the escape is tried first so `$${x}` never substitutes.
_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_EXPRESSION = re.compile(r"^(?P<name>[_A-Za-z][_A-Za-z0-9]*)(?:(?P<op>:?[=-])(?P<default>.*))?$", re.DOTALL)


class SubstitutionError(ValueError):
    """A manifest references a variable that is unset or malformed. Names the source and the variable."""


def check_variables(variables: Mapping[str, object]) -> None:
    """Refuse what Flux refuses in `postBuild.substitute`: bad names and non-string values."""
    for name, value in variables.items():
        if not VARIABLE_NAME.match(name):
            raise SubstitutionError(f"substitution variable {name!r} is not a valid name (letters, digits, _)")
        if not isinstance(value, str):
            raise SubstitutionError(
                f"substitution variable {name!r} must be a string, got {type(value).__name__} "
                "(quote numbers and booleans)"
            )


def substitute(text: str, variables: Mapping[str, str], *, source: str) -> str:
    """Apply Flux substitution to one object's YAML text. `source` names the file for errors."""
    check_variables(variables)

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        expression = match.group(1)
        parsed = _EXPRESSION.match(expression)
        if parsed is None:
            raise SubstitutionError(f"{source}: bad substitution '${{{expression}}}'")
        name, op, default = parsed.group("name"), parsed.group("op"), parsed.group("default")
        value = variables.get(name)
        if op is None:
            if value is None:
                raise SubstitutionError(
                    f"{source}: variable '{name}' is not set and has no default (Flux strict mode); "
                    f"add it to the layer variables or write ${{{name}:=default}}"
                )
            return value
        use_default = value is None or (op.startswith(":") and value == "")
        return default if use_default else str(value)

    return _REFERENCE.sub(replace, text)
