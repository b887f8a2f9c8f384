"""What a contract is worth: the fixed consideration of each line over its service range, prorated
exactly as billing will charge it, plus the constrained variable consideration (accounting.md §10a).
Reads the lines and the catalog; writes nothing."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from billing.contracts.models import Contract, ContractLine
from billing.contracts.terms import line_range, plan_interval, plan_versions_for_line
from billing.contracts.variable import variable_in_price
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
    total = ZERO
    periods = line_periods(
        grid_start=contract.start_date,
        anchor=contract.billing_anchor,
        interval=plan_interval(line),
        start=start,
        end=end,
    )
    if line.plan_id is None:
        for clipped, full in periods:
            exact = (line.unit_price or ZERO) * line.quantity * Decimal(clipped.days) / Decimal(full.days)
            total += round_money(exact, contract.currency)
        return total
    versions = plan_versions_for_line(line)
    fee_codes = sorted({c.code for v in versions for c in v.charges if c.meter is None})
    if not fee_codes:
        return ZERO
    for clipped, full in periods:
        drafts = rate_period(
            versions,
            start=clipped.start,
            end=clipped.end,
            tz_name="UTC",
            usage=InMemoryUsage([]),
            policy=line.plan.version_policy,
            pinned_on=contract.start_date,
            quantities={c: line.quantity for c in fee_codes},
            charges=fee_codes,
            period=(full.start, full.end),
            true_up=False,
        )
        total += sum((d.amount for d in drafts), ZERO)
    return total


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
    if line.plan_id is None:
        return round_money(
            (line.unit_price or ZERO) * line.quantity * Decimal(clipped.days) / Decimal(full.days),
            contract.currency,
        )
    versions = plan_versions_for_line(line)
    fee_codes = sorted({c.code for v in versions for c in v.charges if c.meter is None})
    drafts = (
        rate_period(
            versions,
            start=clipped.start,
            end=clipped.end,
            tz_name="UTC",
            usage=InMemoryUsage([]),
            policy=line.plan.version_policy,
            pinned_on=contract.start_date,
            quantities={c: line.quantity for c in fee_codes},
            charges=fee_codes,
            period=(full.start, full.end),
            true_up=False,
        )
        if fee_codes
        else []
    )
    return sum((d.amount for d in drafts), ZERO)
