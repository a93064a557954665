"""Fixtures of the Vault tests: a real dynamic-provider process (the engine path) and a Vault stack on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.openbao import BaoCluster
from tests.fixtures.vault_engine_stack import VaultStack
from tests.harness.engine import DynamicProviderServer


@pytest.fixture
def provider_server() -> Iterator[DynamicProviderServer]:
    """A fresh ``python -m pulumi.dynamic`` process, as the engine starts for each `pulumi up`."""
    with DynamicProviderServer() as server:
        yield server


@pytest.fixture
def vault_stack(bao_cluster: BaoCluster, provider_server: DynamicProviderServer) -> VaultStack:
    """The Vault steps on a fresh uninitialised 3-node cluster, direct connections (faults injectable)."""
    return VaultStack(provider_server, bao_cluster, bao_cluster.direct_connect())
