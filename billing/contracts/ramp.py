"""Ramp deals (issue 17 §5, accounting.md §5a): a recurring line whose price steps over its service
period. The steps are stored on the line (``ContractLine.ramp``) as validated decimal strings; this
module reads them as Decimals, cuts a billing period at the step boundaries and gives, for each part,
the line as priced by the step in force — so billing, the contract's value (its transaction price)
and the price-override check all price a ramp the same way. Reads only.

A step is ``{"from": date, "unit_price": …}`` (the line's unit price from that date: quantity ×
unit_price per billing period, replacing the plan's flat or per-unit fee as a line's unit_price
does) or ``{"from": date, "amount": …}`` (the line's fee per billing period from that date, whatever
its quantity). A period crossing a step boundary is prorated by days on each side (§3), one invoice
line per side, each rounded once."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from billing.contracts.models import Contract, ContractLine
from billing.contracts.terms import line_range
from billing.periods import Period

ZERO = Decimal(0)


@dataclass(frozen=True)
class RampStep:
    start: date
    unit_price: Decimal | None = None
    amount: Decimal | None = None

    def as_json(self) -> dict:
        out: dict = {"from": self.start.isoformat()}
        if self.unit_price is not None:
            out["unit_price"] = _text(self.unit_price)
        else:
            out["amount"] = _text(self.amount)
        return out


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def ramp_steps(line: ContractLine) -> list[RampStep]:
    """The line's steps, oldest first (empty: not a ramp)."""
    out = []
    for raw in line.ramp or ():
        out.append(
            RampStep(
                start=date.fromisoformat(raw["from"]),
                unit_price=Decimal(raw["unit_price"]) if raw.get("unit_price") is not None else None,
                amount=Decimal(raw["amount"]) if raw.get("amount") is not None else None,
            )
        )
    return sorted(out, key=lambda s: s.start)


def is_ramp(line: ContractLine) -> bool:
    return bool(line.ramp) and line.billing == ContractLine.Billing.RECURRING


def step_ranges(line: ContractLine, start: date, end: date) -> list[tuple[RampStep, date, date]]:
    """The steps' parts of ``[start, end)``: (step, from, to), each non-empty, in order."""
    steps = ramp_steps(line)
    out = []
    for i, step in enumerate(steps):
        step_end = steps[i + 1].start if i + 1 < len(steps) else None
        lo = max(start, step.start)
        hi = end if step_end is None else min(end, step_end)
        if hi > lo:
            out.append((step, lo, hi))
    return out


def priced_as(line: ContractLine, step: RampStep) -> ContractLine:
    """An unsaved copy of LINE priced by STEP: its unit_price, or — for an ``amount`` step — one unit
    at that amount (the fee per period whatever the quantity). Never saved."""
    priced = copy.copy(line)
    priced.ramp = []  # priced by this step alone
    if step.amount is not None:
        priced.unit_price, priced.quantity = step.amount, Decimal(1)
    else:
        priced.unit_price = step.unit_price
    return priced


def priced_parts(line: ContractLine, clipped: Period) -> list[tuple[ContractLine, Period]]:
    """The (priced line, part of CLIPPED) to rate for one billing period of LINE: the line itself for a
    line without a ramp; one part per step in force during the period otherwise."""
    if not is_ramp(line):
        return [(line, clipped)]
    return [
        (priced_as(line, step), Period(lo, hi))
        for step, lo, hi in step_ranges(line, clipped.start, clipped.end)
    ]


def step_bounds(line: ContractLine, contract: Contract) -> list[tuple[RampStep, date, date]]:
    """Each step's part of the line's service range (terminated or removed lines are cut)."""
    start, end = line_range(line, contract)
    return step_ranges(line, start, end)
