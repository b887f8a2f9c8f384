"""Adjustments around rated lines: proration, minimum true-up, discounts, prepaid credits
(accounting.md §2–3). Pure functions over ``Decimal``."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Literal

from revops.money import MoneyError, floor_money, round_money

from ._exact import wide_context
from .types import ZERO, CreditBalance, RatingError
from .validation import to_decimal

DiscountKind = Literal["percent", "fixed"]


def _round(amount: Decimal, currency: str) -> Decimal:
    try:
        return round_money(amount, currency)
    except MoneyError as exc:
        raise RatingError.single("currency", str(exc)) from None


def _days(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RatingError.single(field, "must be a whole number of days")
    return value


def prorate(amount: Decimal, days_used: int, days_in_period: int) -> Decimal:
    """``amount × days_used ÷ days_in_period``, unrounded (50 significant digits); the caller rounds
    at the line. accounting.md §3: 50.00 a month from 10 August → 50 × 22/31 = 35.48 once rounded."""
    amount = to_decimal(amount, "amount")
    used, total = _days(days_used, "days_used"), _days(days_in_period, "days_in_period")
    if total <= 0:
        raise RatingError.single("days_in_period", "must be greater than 0")
    if not 0 <= used <= total:
        raise RatingError.single("days_used", f"must be between 0 and days_in_period ({total})")
    with wide_context():
        return amount * used / total


def minimum_true_up(minimum: Decimal, rated_total: Decimal) -> Decimal:
    """The "true-up" line that lifts a period's rated charges to the minimum commitment:
    ``max(0, minimum − rated_total)`` (accounting.md §2)."""
    shortfall = to_decimal(minimum, "minimum") - to_decimal(rated_total, "rated_total")
    return max(ZERO, shortfall)


def apply_discount(subtotal: Decimal, *, kind: DiscountKind, value: Decimal, currency: str) -> Decimal:
    """The discount amount on ``subtotal``, rounded once and never more than the subtotal.

    ``percent`` takes ``value``% (0–100) of the subtotal; ``fixed`` takes ``value`` itself. A zero or
    negative subtotal gets no discount.
    """
    subtotal, value = to_decimal(subtotal, "subtotal"), to_decimal(value, "value")
    if kind not in ("percent", "fixed"):
        raise RatingError.single("kind", "must be 'percent' or 'fixed'")
    if value < 0 or (kind == "percent" and value > 100):
        bounds = "between 0 and 100" if kind == "percent" else "at least 0"
        raise RatingError.single("value", f"must be {bounds}")
    if subtotal <= 0:
        return ZERO
    with wide_context():
        exact = subtotal * value / 100 if kind == "percent" else value
        discount = _round(min(exact, subtotal), currency)
        # Rounding up may pass a subtotal that is finer than the minor unit; stay under it.
        return discount if discount <= subtotal else floor_money(subtotal, currency)


def _draw_order(credit: CreditBalance) -> tuple[bool, Any, Any]:
    """Oldest expiry first, never-expiring last, then oldest grant (``sorted`` keeps input order on ties)."""
    return (credit.expires_on is None, credit.expires_on, credit.granted_on)


def draw_down_credits(
    amount_due: Decimal, credits: Sequence[CreditBalance], *, currency: str
) -> tuple[list[tuple[Any, Decimal]], Decimal]:
    """Apply prepaid credits to an amount due (after tax, accounting.md §2).

    Credits are drawn oldest expiry first (no expiry last), then oldest grant; a credit never goes
    below zero and the amount due never below zero. Returns ``([(credit id, drawn), ...], still due)``,
    listing only credits actually drawn. The caller passes only credits still valid on the invoice
    date. Amounts must already be in the currency's minor unit (they are document amounts).
    """
    due = _money_amount(amount_due, currency, "amount_due")
    balances = [
        (credit, _money_amount(credit.remaining, currency, f"credits[{index}].remaining"))
        for index, credit in enumerate(credits)
    ]
    for index, (_credit, remaining) in enumerate(balances):
        if remaining < 0:
            raise RatingError.single(f"credits[{index}].remaining", "must not be negative")
    draws: list[tuple[Any, Decimal]] = []
    with wide_context():
        for credit, remaining in sorted(balances, key=lambda pair: _draw_order(pair[0])):
            drawn = min(remaining, due)
            if drawn > 0:
                draws.append((credit.id, drawn))
                due -= drawn
    return draws, due


def _money_amount(value: Any, currency: str, field: str) -> Decimal:
    """A document amount: a decimal already in whole minor units of ``currency``."""
    amount = to_decimal(value, field)
    if _round(amount, currency) != amount:
        raise RatingError.single(field, f"must be an amount in whole minor units of {currency.upper()}")
    return amount
