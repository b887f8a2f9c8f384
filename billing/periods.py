"""Billing periods and proration (accounting.md §3).

Pure module: no ORM, no I/O, no clock. Periods are half-open ``[start, end)`` calendar dates in the
customer's billing time zone. Proration is by actual days, computed exactly and rounded once, at the
line (accounting.md §1, §3).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext
from typing import Literal

from revops.errors import DomainError
from revops.money import MoneyError, round_money

Interval = Literal["month", "quarter", "year"]
Anchor = Literal["calendar", "anniversary"]

INTERVAL_MONTHS: dict[str, int] = {"month": 1, "quarter": 3, "year": 12}
ANCHORS = ("calendar", "anniversary")
_PRECISION = 50


class PeriodError(DomainError, ValueError):
    """A billing period or proration that cannot be computed; ``field`` names the bad input."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Period:
    """A half-open date range ``[start, end)``."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise PeriodError(f"A period must end after it starts ({self.start} → {self.end}).", field="end")

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end

    def covers(self, other: Period) -> bool:
        return self.start <= other.start and other.end <= self.end


@dataclass(frozen=True)
class ProrationLine:
    """One invoice line of a proration: ``amount`` is rounded once, ``exact`` is the unrounded value."""

    description: str
    amount: Decimal
    exact: Decimal
    service: Period


# -- anchoring -------------------------------------------------------------------------------------


def _months(interval: str) -> int:
    try:
        return INTERVAL_MONTHS[interval]
    except KeyError:
        raise PeriodError(f"Unknown interval '{interval}' (month, quarter or year).", field="interval")


def _check_anchor(anchor: str) -> None:
    if anchor not in ANCHORS:
        raise PeriodError(f"Unknown anchor '{anchor}' (calendar or anniversary).", field="anchor")


def add_months(anchor_date: date, months: int) -> date:
    """``anchor_date`` moved by whole months; a day the target month lacks becomes its last day.

    Always derived from the original anchor day, so Jan 31 + 1 → Feb 28/29 and Jan 31 + 2 → Mar 31.
    """
    index = anchor_date.year * 12 + (anchor_date.month - 1) + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(anchor_date.day, last))


def _month_index(day: date) -> int:
    return day.year * 12 + (day.month - 1)


def period_containing(day: date, *, anchor_date: date, interval: Interval, anchor: Anchor) -> Period:
    """The full (unclipped) billing period that contains ``day`` (accounting.md §3).

    Calendar periods start on the 1st (quarters in Jan/Apr/Jul/Oct, years on Jan 1) and ignore
    ``anchor_date``; anniversary periods start on ``anchor_date``'s day, every ``interval``.
    """
    step = _months(interval)
    _check_anchor(anchor)
    if anchor == "calendar":
        index = _month_index(day)
        first = index - index % step
        start = date(first // 12, first % 12 + 1, 1)
        return Period(start, add_months(start, step))
    k = (_month_index(day) - _month_index(anchor_date)) // step
    while add_months(anchor_date, k * step) > day:
        k -= 1
    while add_months(anchor_date, (k + 1) * step) <= day:
        k += 1
    return Period(add_months(anchor_date, k * step), add_months(anchor_date, (k + 1) * step))


def billing_periods(
    *, start: date, end: date | None, interval: Interval, anchor: Anchor, until: date
) -> list[Period]:
    """Every billing period of a subscription that starts before ``until`` (and before ``end``).

    The periods tile ``[start, end)`` without gaps or overlaps; the first and last ones are clipped
    to the subscription (accounting.md §3). Anniversary billing anchors on ``start``.
    """
    _months(interval)
    _check_anchor(anchor)
    if end is not None and end <= start:
        raise PeriodError(f"The subscription must end after it starts ({start} → {end}).", field="end")
    periods: list[Period] = []
    cursor = start
    while cursor < until and (end is None or cursor < end):
        full = period_containing(cursor, anchor_date=start, interval=interval, anchor=anchor)
        stop = full.end if end is None else min(full.end, end)
        periods.append(Period(cursor, stop))
        cursor = stop
    return periods


# -- proration -------------------------------------------------------------------------------------


def _money(value: Decimal, field: str) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise PeriodError(f"{field} must be a finite Decimal, got {value!r}.", field=field)
    return value


def _round(value: Decimal, currency: str) -> Decimal:
    try:
        return round_money(value, currency)
    except MoneyError as exc:
        raise PeriodError(str(exc), field="currency")


def prorate(amount: Decimal, *, used: Period, full: Period) -> Decimal:
    """``amount × used.days ÷ full.days``, exact to 50 significant digits and unrounded (§3)."""
    _money(amount, "amount")
    if not full.covers(used):
        raise PeriodError(f"The used period {used.start}–{used.end} is not inside {full.start}–{full.end}.")
    with localcontext(prec=_PRECISION):
        return amount * used.days / full.days


def period_charge(amount: Decimal, *, service: Period, full: Period, currency: str) -> ProrationLine:
    """The charge for a partial first or last period, rounded once at the line (§3)."""
    exact = prorate(amount, used=service, full=full)
    description = (
        f"{service.start.isoformat()} to {service.end.isoformat()} ({service.days} of {full.days} days)"
    )
    return ProrationLine(description, _round(exact, currency), exact, service)


def change_lines(
    *, old_amount: Decimal, new_amount: Decimal, effective: date, period: Period, currency: str
) -> list[ProrationLine]:
    """An upgrade, downgrade or quantity change effective mid-period, as two lines (§3).

    Line 1 credits the unused part of the old price (negative); line 2 charges the remaining part of
    the new one. Each is rounded once; a negative net is a credit. ``period`` is the full period.
    """
    _money(old_amount, "old_amount")
    _money(new_amount, "new_amount")
    if not period.contains(effective):
        raise PeriodError(
            f"The change date {effective} is not inside the period {period.start}–{period.end}.",
            field="effective",
        )
    remaining = Period(effective, period.end)
    span = f"{remaining.start.isoformat()} to {remaining.end.isoformat()}"
    days = f"{remaining.days} of {period.days} days"
    credit = prorate(old_amount.copy_negate(), used=remaining, full=period)
    charge = prorate(new_amount, used=remaining, full=period)
    return [
        ProrationLine(
            f"Unused time {span} at the old price ({days})", _round(credit, currency), credit, remaining
        ),
        ProrationLine(
            f"Remaining time {span} at the new price ({days})", _round(charge, currency), charge, remaining
        ),
    ]
