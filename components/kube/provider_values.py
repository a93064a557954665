"""Input values as the engine delivers them to a dynamic provider, made safe to use.

Inputs cross a protobuf ``Struct`` on their way from the program to ``python -m pulumi.dynamic``
(REFERENCE §7), which changes two things a provider must not trip over:

- every number is a float: ``3`` arrives as ``3.0`` (and ``0o644`` as ``420.0``);
- during preview a value that is not known yet arrives as a ``pulumi.output.Unknown`` object (from Check and
  Diff, which deserialize with ``keep_unknowns``), possibly nested inside a dict or list; older paths use the
  ``UNKNOWN`` sentinel string.

Shared by every dynamic provider of the program (kind cluster, host files here; the Vault runtime through
``components.vault_runtime.values``), so it sits at the lowest layer that has dynamic providers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The engine's placeholder string for values not known during preview (pulumi.runtime.rpc.UNKNOWN).
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def is_unknown(value: Any) -> bool:
    """True if ``value`` is, or contains at any depth, a value the engine does not know yet."""
    from pulumi.output import Unknown  # the class the SDK deserializes unknowns into

    if isinstance(value, Unknown):
        return True
    if isinstance(value, str):
        return value == UNKNOWN
    if isinstance(value, Mapping):
        return any(is_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(is_unknown(v) for v in value)
    return False


def as_int(value: Any) -> int | None:
    """An integer from an int or an integral float (the Struct form); None for anything else.

    Booleans are not numbers here (``True`` would otherwise pass as 1), and ``3.5`` is not an integer.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def int_or(value: Any, default: int) -> int:
    """``as_int(value)``, or ``default`` when the value is absent/empty; raises ValueError when not integral."""
    if value is None or value == "":
        return default
    number = as_int(value)
    if number is None:
        raise ValueError(f"expected an integer, got {value!r}")
    return number
