"""What is due to be billed, and when (accounting.md §3). Pure module.

Every contract line bills on the contract's period grid (calendar or anniversary, anchored on the
contract start), clipped to the line's own service range — so an amended line that starts mid-period
bills a prorated first period, and the line it replaced a prorated last one.

A line's period produces up to three *items*, each billed once (``BillingClaim``):
- ``fee_advance``  — fees charged in advance: billed on the period's first day;
- ``fee_arrears``  — fees charged in arrears: billed on the day after the period;
- ``usage``        — metered charges (and the minimum true-up): billed on the day after the period;
plus ``one_time`` items billed on the line's start. Items with the same billing date form one invoice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from billing.periods import INTERVAL_MONTHS, Period, add_months, period_containing

FEE_ADVANCE, FEE_ARREARS, USAGE, ONE_TIME = "fee_advance", "fee_arrears", "usage", "one_time"
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class LineTerms:
    line_id: int
    start: date
    end: date
    interval: str = "month"
    kinds: tuple[str, ...] = (FEE_ADVANCE,)  # which item kinds this line produces


@dataclass(frozen=True)
class DueItem:
    line_id: int
    kind: str
    period: Period  # the billed (clipped) service period
    full: Period  # the full grid period, for proration
    billing_date: date


def line_periods(
    *, grid_start: date, anchor: str, interval: str, start: date, end: date, until: date | None = None
) -> list[tuple[Period, Period]]:
    """(clipped, full) periods of the grid that overlap [start, end), starting before ``until``."""
    out: list[tuple[Period, Period]] = []
    day = start
    while day < end and (until is None or day < until):
        full = period_containing(day, anchor_date=grid_start, interval=interval, anchor=anchor)
        clipped = Period(max(full.start, start), min(full.end, end))
        out.append((clipped, full))
        day = full.end
    return out


def billing_horizon(today: date, interval: str) -> date:
    """The latest billing date a line may be billed on as of ``today``: the current period and the next
    one (billing in advance), never further — one billing interval from today."""
    return add_months(today, INTERVAL_MONTHS[interval])


def due_items(
    lines: Iterable[LineTerms], *, grid_start: date, anchor: str, as_of: date, today: date | None = None
) -> list[DueItem]:
    """Every item whose billing date is on or before ``as_of`` (already-billed ones are filtered by
    the caller against the claims). With ``today``, no item is due beyond the line's
    :func:`billing_horizon`, whatever ``as_of`` says."""
    items: list[DueItem] = []
    requested = as_of
    for terms in lines:
        if terms.end <= terms.start:
            continue
        as_of = requested if today is None else min(requested, billing_horizon(today, terms.interval))
        if ONE_TIME in terms.kinds and terms.start <= as_of:
            one = Period(terms.start, terms.end)
            items.append(DueItem(terms.line_id, ONE_TIME, one, one, terms.start))
        periodic = [k for k in terms.kinds if k != ONE_TIME]
        if not periodic:
            continue
        for clipped, full in line_periods(
            grid_start=grid_start,
            anchor=anchor,
            interval=terms.interval,
            start=terms.start,
            end=terms.end,
            until=as_of + _ONE_DAY,
        ):
            for kind in periodic:
                billing_date = clipped.start if kind == FEE_ADVANCE else clipped.end
                if billing_date <= as_of:
                    items.append(DueItem(terms.line_id, kind, clipped, full, billing_date))
    return items


def group_by_billing_date(items: Sequence[DueItem]) -> dict[date, list[DueItem]]:
    grouped: dict[date, list[DueItem]] = defaultdict(list)
    for item in items:
        grouped[item.billing_date].append(item)
    return dict(sorted(grouped.items()))
