"""From stored contract lines to billing terms and prices (reads only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from billing.catalog.reader import Catalog
from billing.contracts.models import Contract, ContractLine
from billing.models import Plan
from billing.pricing import ChargeDef, VersionDef
from billing.schedule import FEE_ADVANCE, FEE_ARREARS, ONE_TIME, USAGE, LineTerms


def line_range(line: ContractLine, contract: Contract) -> tuple[date, date]:
    start = line.service_start or contract.start_date
    end = line.service_end or contract.end_date
    if contract.terminated_on:
        end = min(end, contract.terminated_on)
    return start, max(start, end)


def _override(charge: ChargeDef, unit_price: Decimal | None) -> ChargeDef:
    """A contract line's unit_price replaces the list price of its plan's fee charges (flat amount or
    standard unit amount); tiered fee charges keep their tiers."""
    if unit_price is None or charge.meter is not None:
        return charge
    key = {"flat": "amount", "standard": "unit_amount"}.get(charge.model)
    if key is None:
        return charge
    return ChargeDef(**{**charge.__dict__, "properties": {**charge.properties, key: str(unit_price)}})


def plan_versions_for_line(line: ContractLine, *, catalog: Catalog | None = None) -> list[VersionDef]:
    """The plan's published versions as pure definitions, with the line's price override applied
    (read through ``catalog``; a fresh one when none is given)."""
    versions = (catalog or Catalog()).published_versions(line.plan)
    unit_price = line.unit_price
    return [
        VersionDef(**{**v.__dict__, "charges": tuple(_override(c, unit_price) for c in v.charges)})
        for v in versions
    ]


def line_kinds(line: ContractLine, *, catalog: Catalog | None = None) -> tuple[str, ...]:
    if line.billing == ContractLine.Billing.ONE_TIME:
        return (ONE_TIME,)
    if line.plan_id is None:
        return (FEE_ADVANCE,)
    kinds: set[str] = set()
    for version in plan_versions_for_line(line, catalog=catalog):
        for charge in version.charges:
            if charge.meter is not None:
                kinds.add(USAGE)
            elif line.billing == ContractLine.Billing.RECURRING:
                kinds.add(FEE_ADVANCE if charge.timing == "in_advance" else FEE_ARREARS)
        if version.minimum_amount:
            kinds.add(USAGE)
    return tuple(k for k in (FEE_ADVANCE, FEE_ARREARS, USAGE) if k in kinds)


def plan_interval(line: ContractLine) -> str:
    return line.plan.interval if line.plan_id else Plan.Interval.MONTH


def line_terms(line: ContractLine, contract: Contract, *, catalog: Catalog | None = None) -> LineTerms:
    start, end = line_range(line, contract)
    return LineTerms(
        line_id=line.pk,
        start=start,
        end=end,
        interval=plan_interval(line),
        kinds=line_kinds(line, catalog=catalog),
    )


@dataclass(frozen=True)
class PlanLessFee:
    """A recurring line without a plan: unit_price × quantity per period, in advance."""

    unit_price: Decimal
    quantity: Decimal
