"""Vault init, unseal, bootstrap and root-token revocation as plain functions over hvac clients (one per pod).

A facade: each job lives in its own module (``api`` calls and errors, ``health``, ``initialise``, ``shares``
and ``unseal``, ``leader``, ``bootstrap``, ``revoke``); this module re-exports what callers use, so
``from components.vault_runtime import operations as ops`` keeps working. No Kubernetes and no Pulumi here:
``transport`` supplies the clients and the providers call these functions.
"""

from __future__ import annotations

from components.vault_runtime.api import (
    AlreadyInitialized,
    Deadline,
    RootTokenUnusable,
    ServerError,
    UnsealTimeout,
    VaultOperationError,
    redact,
)
from components.vault_runtime.health import Health, health, healths, pick_active, wait_active
from components.vault_runtime.steps.bootstrap import AdminCredentials, AdminSpec, admin_login, bootstrap_admin
from components.vault_runtime.steps.initialise import InitResult, already_initialized_message, initialize
from components.vault_runtime.steps.revoke import revoke_root, token_valid
from components.vault_runtime.steps.unseal import UnsealReport, sealed_pods, unseal_all

__all__ = [
    "AdminCredentials",
    "AdminSpec",
    "AlreadyInitialized",
    "Deadline",
    "Health",
    "InitResult",
    "RootTokenUnusable",
    "ServerError",
    "UnsealReport",
    "UnsealTimeout",
    "VaultOperationError",
    "admin_login",
    "already_initialized_message",
    "bootstrap_admin",
    "health",
    "healths",
    "initialize",
    "pick_active",
    "redact",
    "revoke_root",
    "sealed_pods",
    "token_valid",
    "unseal_all",
    "wait_active",
]
