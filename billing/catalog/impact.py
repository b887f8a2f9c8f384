"""What a price version does to the contracts on its plan, as the catalog asks for it: which contracts
it may change, and the impact view (billing.pricing_impact). Contracts and their usage build on the
catalog, so the module computing this sits above it and registers itself here when billing is ready
(``BillingConfig.ready``); the catalog calls the two functions below."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from billing.models import PlanVersion

_hooks: dict[str, Callable] = {}


def register(*, affected_contracts: Callable, version_impact: Callable) -> None:
    _hooks["affected_contracts"] = affected_contracts
    _hooks["version_impact"] = version_impact


def _hook(name: str) -> Callable:
    try:
        return _hooks[name]
    except KeyError:
        raise RuntimeError("The price-version impact is registered when the billing app is ready.") from None


def affected_contracts(version: PlanVersion) -> set[str]:
    """The numbers of the contracts with a current line on the plan running past the effective date."""
    return _hook("affected_contracts")(version)


def version_impact(*, version: PlanVersion, as_of: date | None = None, customer=None) -> dict:
    """Per customer, their last complete period under the versions in force and under ``version``."""
    return _hook("version_impact")(version=version, as_of=as_of, customer=customer)
