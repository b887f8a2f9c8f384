"""One pure function per pricing model (accounting.md §2; Stripe tier semantics).

Each function takes the parsed properties of a :class:`~billing.rating.types.ChargeSpec` and the
input (a quantity, or the events' amounts in order) and returns the breakdown lines at full
precision; the engine sums them and rounds once. Call them inside ``exact_context()``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from ._exact import normalize
from .types import ZERO, BreakdownLine, Tier

Properties = Mapping[str, Any]
HUNDRED = Decimal(100)


def _line(
    description: str,
    amount: Decimal,
    *,
    units: Decimal | None = None,
    unit_amount: Decimal | None = None,
    flat_amount: Decimal | None = None,
) -> BreakdownLine:
    """A breakdown line with every figure normalized (exact value, no trailing zeros)."""

    def shown(value: Decimal | None) -> Decimal | None:
        return None if value is None else normalize(value)

    return BreakdownLine(description, shown(units), shown(unit_amount), shown(flat_amount), normalize(amount))


def _flat_or_none(value: Decimal) -> Decimal | None:
    return value if value else None


def _tier_label(index: int, lower: Decimal | None, up_to: Decimal | None) -> str:
    name = f"Tier {index + 1}"
    if lower is None:
        return f"{name} (up to {normalize(up_to)})" if up_to is not None else name
    if up_to is None:
        return f"{name} (over {normalize(lower)})"
    return f"{name} (over {normalize(lower)} up to {normalize(up_to)})"


def _tier_slices(
    tiers: Sequence[Tier], total: Decimal
) -> Iterator[tuple[int, Tier, Decimal | None, Decimal]]:
    """``(index, tier, lower bound, units in the tier)`` for every tier ``total`` reaches with units.

    ``up_to`` is inclusive, so a tier holds the units in ``(previous up_to, up_to]``; nothing is
    yielded for a total of 0.
    """
    lower: Decimal | None = None
    for index, tier in enumerate(tiers):
        start = ZERO if lower is None else lower
        if total <= start:
            return
        end = total if tier.up_to is None else min(total, tier.up_to)
        yield index, tier, lower, end - start
        lower = tier.up_to


# --- quantity models -------------------------------------------------------------------------------


def rate_flat(properties: Properties, quantity: Decimal) -> list[BreakdownLine]:
    """``amount`` per period, times ``quantity`` (1 for a plain fee, the seat count for seats)."""
    amount = properties["amount"]
    return [_line("Flat fee", quantity * amount, units=quantity, unit_amount=amount)]


def rate_standard(properties: Properties, quantity: Decimal) -> list[BreakdownLine]:
    """``quantity × unit_amount``."""
    unit_amount = properties["unit_amount"]
    return [_line("Per unit", quantity * unit_amount, units=quantity, unit_amount=unit_amount)]


def rate_graduated(properties: Properties, quantity: Decimal) -> list[BreakdownLine]:
    """Each unit at the price of the tier it falls in, plus the flat amount of every tier reached.

    At quantity 0 the first tier still applies (its ``flat_amount`` is billed), as Stripe does.
    """
    tiers: Sequence[Tier] = properties["tiers"]
    slices = list(_tier_slices(tiers, quantity)) or [(0, tiers[0], None, ZERO)]
    return [
        _line(
            _tier_label(index, lower, tier.up_to),
            units * tier.unit_amount + tier.flat_amount,
            units=units,
            unit_amount=tier.unit_amount,
            flat_amount=_flat_or_none(tier.flat_amount),
        )
        for index, tier, lower, units in slices
    ]


def _containing_tier(tiers: Sequence[Tier], quantity: Decimal) -> tuple[int, Tier, Decimal | None]:
    """``(index, tier, lower bound)`` of the tier whose range holds ``quantity`` (the first one at 0)."""
    lower: Decimal | None = None
    for index, tier in enumerate(tiers):
        if tier.up_to is None or quantity <= tier.up_to:
            return index, tier, lower
        lower = tier.up_to
    raise ValueError("a validated tier list ends with an open (null) tier")


def rate_volume(properties: Properties, quantity: Decimal) -> list[BreakdownLine]:
    """All units at the single tier containing the total (the first tier at 0), plus its flat amount."""
    index, tier, lower = _containing_tier(properties["tiers"], quantity)
    return [
        _line(
            _tier_label(index, lower, tier.up_to),
            quantity * tier.unit_amount + tier.flat_amount,
            units=quantity,
            unit_amount=tier.unit_amount,
            flat_amount=_flat_or_none(tier.flat_amount),
        )
    ]


def rate_package(properties: Properties, quantity: Decimal) -> list[BreakdownLine]:
    """``free_units`` first, then every started package of ``package_size`` units at ``amount``."""
    size, amount, free_units = properties["package_size"], properties["amount"], properties["free_units"]
    free = min(quantity, free_units)
    billable = quantity - free
    packages = billable // size + (1 if billable % size else 0)
    lines = []
    if free_units:
        lines.append(_line(f"Free units (first {normalize(free_units)})", ZERO, units=free, unit_amount=ZERO))
    lines.append(
        _line(f"Packages of {normalize(size)} units", packages * amount, units=packages, unit_amount=amount)
    )
    return lines


# --- event models ----------------------------------------------------------------------------------


def chargeable_parts(
    amounts: Sequence[Decimal], free_events: Decimal, free_total: Decimal
) -> list[Decimal | None]:
    """Per event, in order: ``None`` while it is free, else the part of its amount the rate applies to.

    Free allowances are consumed in event order; charging starts with the first event that exceeds
    EITHER allowance and never stops (accounting.md §2). Lago's percentage doc
    (https://docs.getlago.com/guide/plans/charges/charge-models/percentage): with "the first 3
    events or $500" free, the 4th event ($50, running total $450) is charged "$0.10 x 1 event +
    1.2% of $50" — exceeding the event allowance charges the whole event. The event that straddles
    the amount allowance pays the rate only on the part above it, since the doc defines that
    allowance as the "amount that is not subject to the charge rate" (Lago's percentage_service.rb
    does the same: ``value -= remaining_free_amount``). An event that lands exactly on the amount
    allowance does not exceed it and stays free. An allowance of 0 means "none" (Lago too).
    """
    charging = not (free_events or free_total)
    cumulative = ZERO
    parts: list[Decimal | None] = []
    for count, amount in enumerate(amounts, start=1):
        cumulative += amount
        if charging:
            parts.append(amount)
        elif free_events and count > free_events:
            charging = True
            parts.append(amount)
        elif free_total and cumulative > free_total:
            charging = True
            parts.append(cumulative - free_total)
        else:
            parts.append(None)
    return parts


def _clamp_lines(fees: Sequence[Decimal], low: Decimal | None, high: Decimal | None) -> list[BreakdownLine]:
    """One adjustment line per bound: what lifting fees to ``low`` / capping them at ``high`` adds."""
    lines = []
    for label, bound, outside in (("minimum", low, operator.lt), ("maximum", high, operator.gt)):
        if bound is None:
            continue
        adjustments = [bound - fee for fee in fees if outside(fee, bound)]
        if adjustments:
            description = f"Per-transaction {label} {normalize(bound)} applied"
            lines.append(_line(description, sum(adjustments, ZERO), units=Decimal(len(adjustments))))
    return lines


def rate_percentage(properties: Properties, amounts: Sequence[Decimal]) -> list[BreakdownLine]:
    """Each charged transaction pays ``rate``% of its amount plus ``fixed_amount``, clamped to the
    per-transaction minimum/maximum.

    The clamp applies to the whole fee, fixed amount included, as Lago documents it: "1% on the
    transaction amount and $0.50 per transaction, with a minimum of $1 and a maximum of $5: a $20
    transaction will cost $1 ($20 x 1% + $0.50 = $0.70, so the minimum applies)" (Lago product
    update, https://d376nw0erossg9.cloudfront.net/updates-25.html; ``apply_min_max`` in
    lago-api's percentage_service.rb). Free transactions pay nothing, not even the minimum.
    """
    rate = properties["rate"] / HUNDRED
    fixed = properties["fixed_amount"]
    free_events = properties["free_units_per_events"]
    free_total = properties["free_units_per_total_aggregation"]
    parts = chargeable_parts(amounts, free_events, free_total)
    charged = [part for part in parts if part is not None]
    charged_amount = sum(charged, ZERO)

    lines = []
    if free_events or free_total:
        free_amount = sum(amounts, ZERO) - charged_amount
        description = f"Free allowance ({parts.count(None)} free events)"
        lines.append(_line(description, ZERO, units=free_amount, unit_amount=ZERO))
    description = f"{normalize(properties['rate'])}% of the amount"
    lines.append(_line(description, charged_amount * rate, units=charged_amount, unit_amount=rate))
    if fixed and charged:
        count = Decimal(len(charged))
        lines.append(_line("Fixed fee per transaction", count * fixed, units=count, unit_amount=fixed))
    fees = [part * rate + fixed for part in charged]
    lines += _clamp_lines(
        fees, properties["per_transaction_min_amount"], properties["per_transaction_max_amount"]
    )
    return lines


def rate_graduated_percentage(properties: Properties, amounts: Sequence[Decimal]) -> list[BreakdownLine]:
    """Tiers over the cumulative amount of the period: each tier's ``rate``% on the part of the total
    inside it, plus its ``flat_amount`` once the total enters it. A total of 0 enters no tier
    (lago-api graduated_percentage_service.rb: ``result_amount += flat_amount unless units.zero?``).
    """
    tiers: Sequence[Tier] = properties["tiers"]
    total = sum(amounts, ZERO)
    return [
        _line(
            f"{_tier_label(index, lower, tier.up_to)}: {normalize(tier.rate)}%",
            units * tier.rate / HUNDRED + tier.flat_amount,
            units=units,
            unit_amount=tier.rate / HUNDRED,
            flat_amount=_flat_or_none(tier.flat_amount),
        )
        for index, tier, lower, units in _tier_slices(tiers, total)
    ]


def rate_dynamic(properties: Properties, amounts: Sequence[Decimal]) -> list[BreakdownLine]:
    """The price travels in each event; the line is the sum of the events' amounts."""
    return [_line("Sum of event amounts", sum(amounts, ZERO), units=Decimal(len(amounts)))]


QUANTITY_RATERS: dict[str, Callable[[Properties, Decimal], list[BreakdownLine]]] = {
    "flat": rate_flat,
    "standard": rate_standard,
    "graduated": rate_graduated,
    "volume": rate_volume,
    "package": rate_package,
}
EVENT_RATERS: dict[str, Callable[[Properties, Sequence[Decimal]], list[BreakdownLine]]] = {
    "percentage": rate_percentage,
    "graduated_percentage": rate_graduated_percentage,
    "dynamic": rate_dynamic,
}
