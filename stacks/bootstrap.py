"""The bootstrap layers both stacks deploy with Pulumi: infra, operators, PKI (and Vault)."""

from __future__ import annotations

from dataclasses import dataclass

from components.config import Settings
from components.infra import InfraComponent
from components.operators import OperatorsComponent
from components.pki import PkiComponent


@dataclass(frozen=True)
class Bootstrap:
    infra: InfraComponent
    operators: OperatorsComponent
    pki: PkiComponent


def deploy_bootstrap(settings: Settings) -> Bootstrap:
    infra = InfraComponent("infra", settings)
    operators = OperatorsComponent("operators", settings, infra)
    pki = PkiComponent("pki", settings, infra, depends_on=operators.all)
    return Bootstrap(infra=infra, operators=operators, pki=pki)
