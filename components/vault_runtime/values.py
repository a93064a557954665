"""Input values of the Vault providers as the engine delivers them (see ``components.kube.provider_values``).

Numbers arrive as floats and, in preview, unknowns as ``pulumi.output.Unknown`` objects (REFERENCE §7); the
helpers for both live with the kube-level dynamic providers and are re-exported here, next to the one thing
only Vault needs: unseal shares given as a list or as the config secret's JSON list string.
"""

from __future__ import annotations

import json
from typing import Any

from components.kube.provider_values import UNKNOWN, as_int, int_or, is_unknown

__all__ = ["UNKNOWN", "as_int", "int_or", "is_unknown", "key_list"]


def key_list(value: Any) -> list[str]:
    """Unseal shares as a list: accepts a list or a JSON list string (the config secret form)."""
    if value is None:
        return []
    if isinstance(value, str):
        value = json.loads(value) if value.strip().startswith("[") else [value]
    return [str(v) for v in value if v]
