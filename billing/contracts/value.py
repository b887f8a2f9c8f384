"""What a contract is worth: the fixed consideration of each line over its service range, prorated
exactly as billing will charge it, plus the constrained variable consideration (accounting.md §10a).
Reads the lines and the catalog; writes nothing."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from billing.catalog.reader import Catalog
from billing.contracts.models import Contract, ContractLine
from billing.contracts.ramp import priced_as, priced_parts, step_bounds
from billing.contracts.terms import line_range, plan_interval, plan_versions_for_line
from billing.contracts.variable import variable_in_price
from billing.periods import Period
from billing.pricing import InMemoryUsage, rate_period
from billing.rating import RatingError
from billing.rating.engine import MAX_AMOUNT as MAX_DOCUMENT_AMOUNT
from billing.schedule import line_periods
from revops.errors import ValidationFailed
from revops.fields import AMOUNT_DIGITS, AMOUNT_PLACES
from revops.money import round_money

ZERO = Decimal(0)


def one_time_superseded(line: ContractLine) -> bool:
    return line.billing == ContractLine.Billing.ONE_TIME and hasattr(line, "superseded_by")


def line_fixed_value(line: ContractLine, contract: Contract) -> Decimal:
    """The fixed consideration of a line over its service range: one-time amounts, and every period's
    fees (in advance and in arrears), prorated exactly as billing will charge them. Usage is variable.
    An amended one-time line is worth only its latest revision: the amendment replaces its price
    (accounting.md §10), and billing charges or credits the difference once."""
    if line.billing == ContractLine.Billing.ONE_TIME:
        start, end = line_range(line, contract)
        if one_time_superseded(line) or end <= start:
            return ZERO  # replaced by a later revision, or removed before its date
        amount = line.amount if line.amount is not None else (line.unit_price or ZERO) * line.quantity
        return round_money(Decimal(amount), contract.currency)
    if line.billing == ContractLine.Billing.USAGE:
        return ZERO
    start, end = line_range(line, contract)
    if end <= start:
        return ZERO
    periods = line_periods(
        grid_start=contract.start_date,
        anchor=contract.billing_anchor,
        interval=plan_interval(line),
        start=start,
        end=end,
    )
    catalog = Catalog()
    if line.plan_id is not None and not _fee_codes(line, catalog):
        return ZERO
    return sum(
        (period_fee(line, contract, clipped, full, catalog=catalog) for clipped, full in periods), ZERO
    )


def _fee_codes(line: ContractLine, catalog: Catalog) -> list[str]:
    return sorted(
        {c.code for v in plan_versions_for_line(line, catalog=catalog) for c in v.charges if c.meter is None}
    )


def _part_fee(line: ContractLine, contract: Contract, part, full, catalog: Catalog) -> Decimal:
    """The fees of LINE (as priced) for PART of the FULL billing period, rounded once, as billing
    charges them."""
    if line.plan_id is None:
        return round_money(
            (line.unit_price or ZERO) * line.quantity * Decimal(part.days) / Decimal(full.days),
            contract.currency,
        )
    fee_codes = _fee_codes(line, catalog)
    if not fee_codes:
        return ZERO
    drafts = rate_period(
        plan_versions_for_line(line, catalog=catalog),
        start=part.start,
        end=part.end,
        tz_name="UTC",
        usage=InMemoryUsage([]),
        policy=line.plan.version_policy,
        pinned_on=contract.start_date,
        quantities={c: line.quantity for c in fee_codes},
        charges=fee_codes,
        period=(full.start, full.end),
        true_up=False,
    )
    return sum((d.amount for d in drafts), ZERO)


def period_fee(
    line: ContractLine, contract: Contract, clipped, full, *, catalog: Catalog | None = None
) -> Decimal:
    """A recurring line's fees for one (CLIPPED of FULL) billing period; a ramp line's period is cut at
    its step boundaries, each part priced by its step and rounded on its own (one invoice line each)."""
    catalog = catalog or Catalog()
    return sum(
        (_part_fee(priced, contract, part, full, catalog) for priced, part in priced_parts(line, clipped)),
        ZERO,
    )


def contract_transaction_price(contract: Contract) -> Decimal:
    """Fixed consideration of every line plus the constrained variable consideration (§10a). A value
    no document amount can hold (quantity × price beyond numeric(20, 4)) is a 400 on ``lines``, raised
    inside the caller's transaction so nothing of the contract is kept — never a decimal or database
    overflow."""
    try:
        # (SQLite keeps decimals as doubles: reading back a 20-digit quantity can fail too.)
        lines = list(contract.lines.select_related("plan", "product"))
        total = sum((line_fixed_value(ln, contract) for ln in lines), ZERO) + variable_in_price(lines)
    except (InvalidOperation, RatingError):
        total = None
    if total is None or abs(total) >= MAX_DOCUMENT_AMOUNT:
        raise ValidationFailed(
            "The contract's value is too large for an invoice or a journal entry (at most "
            f"{AMOUNT_DIGITS - AMOUNT_PLACES} digits before the point): check the quantities and prices.",
            field="lines",
        )
    return total


# --- create / activate --------------------------------------------------------------------------------


def first_period_amount(line: ContractLine, contract: Contract, clipped, full) -> Decimal:
    """What a recurring line's fees come to in its first (CLIPPED of FULL) billing period."""
    if line.billing != ContractLine.Billing.RECURRING:
        return ZERO
    return period_fee(line, contract, clipped, full)


def ramp_step_values(line: ContractLine, contract: Contract) -> list[tuple]:
    """A ramp line's fees step by step, as billing charges them (accounting.md §5a): (step, from, to,
    amount) for each step's part of the line's service range — every billing period's part in the
    step, rounded as its invoice line is. Σ amounts == :func:`line_fixed_value`."""
    if line.billing != ContractLine.Billing.RECURRING:
        return []
    catalog = Catalog()
    start, end = line_range(line, contract)
    periods = (
        line_periods(
            grid_start=contract.start_date,
            anchor=contract.billing_anchor,
            interval=plan_interval(line),
            start=start,
            end=end,
        )
        if end > start
        else []
    )
    out = []
    for step, lo, hi in step_bounds(line, contract):
        priced = priced_as(line, step)
        total = ZERO
        for clipped, full in periods:
            a, b = max(lo, clipped.start), min(hi, clipped.end)
            if b > a:
                total += _part_fee(priced, contract, Period(a, b), full, catalog)
        out.append((step, lo, hi, total))
    return out
