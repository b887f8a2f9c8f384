"""Revenue recognition schedules over accounting months (accounting.md §5, ASC 606 step 5).

Pure module: no ORM, no I/O, no clock. A schedule is a list of :class:`ScheduleLine`, one per calendar
month ("YYYY-MM"), whose amounts sum exactly to the allocated amount. Ratable methods use
**cumulative rounding**: the cumulative amount at each month's cut-off is the exact cumulative value
rounded once (ROUND_HALF_UP), and a month's amount is the difference between two cut-offs; so every
cut-off is within half a minor unit of exact and the schedule sums to the amount (§1, §5).

Unmet milestones are not scheduled: :func:`milestone_schedule` returns them as ``unscheduled`` and
``pending``; :func:`schedule` (method ``milestone``) returns only the met ones.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from revops.dates import MAX_YEAR, MIN_YEAR, PERIOD_RANGE_MESSAGE
from revops.errors import DomainError
from revops.money import MoneyError, from_minor, minor_units, round_money

Method = Literal["ratable_daily", "ratable_monthly", "point_in_time", "usage", "milestone"]
METHODS = ("ratable_daily", "ratable_monthly", "point_in_time", "usage", "milestone")
RATABLE = ("ratable_daily", "ratable_monthly")
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class RecognitionError(DomainError, ValueError):
    """A schedule that cannot be built; ``field`` names the bad input."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class ScheduleLine:
    """Revenue of one accounting month. ``[start, end)`` is the service within the month (ratable),
    the satisfaction day (point in time), the first to last met day (milestone), or the whole month
    (usage)."""

    period: str
    start: date
    end: date
    amount: Decimal


@dataclass(frozen=True)
class Milestone:
    key: str
    amount: Decimal
    met_on: date | None = None


@dataclass(frozen=True)
class MilestoneSchedule:
    """Met milestones as lines (one per month); the unmet remainder stays ``unscheduled``."""

    lines: tuple[ScheduleLine, ...]
    unscheduled: Decimal
    pending: tuple[str, ...]


@dataclass(frozen=True)
class Modification:
    """A new schedule version after a contract modification (§5, ASC 606-10-25-12/13).

    ``lines`` keeps every line through the cut-off unchanged and sums exactly to the new amount;
    ``adjustment`` is the cumulative catch-up booked in ``modification_period`` (0 when prospective).
    """

    treatment: Literal["cumulative_catch_up", "prospective"]
    modification_period: str
    recognized_to_date: Decimal
    adjustment: Decimal
    lines: tuple[ScheduleLine, ...]


# -- months ----------------------------------------------------------------------------------------


def period_key(day: date) -> str:
    """The accounting period ("YYYY-MM") that contains ``day``."""
    return f"{day.year:04d}-{day.month:02d}"


def parse_period(value: str, *, field: str = "period") -> date:
    """The first day of an accounting period given as "YYYY-MM"."""
    match = _PERIOD.match(value) if isinstance(value, str) else None
    if not match:
        raise RecognitionError(f"'{value}' is not an accounting period (YYYY-MM).", field=field)
    if not MIN_YEAR <= int(match.group(1)) <= MAX_YEAR:
        raise RecognitionError(PERIOD_RANGE_MESSAGE, field=field)
    return date(int(match.group(1)), int(match.group(2)), 1)


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def _month_spans(start: date, end: date) -> list[tuple[date, date, int]]:
    """``(clip_start, clip_end, days_in_month)`` for each calendar month touching ``[start, end)``."""
    spans = []
    cursor = start
    while cursor < end:
        first = cursor.replace(day=1)
        stop = min(_next_month(first), end)
        spans.append((cursor, stop, calendar.monthrange(first.year, first.month)[1]))
        cursor = stop
    return spans


# -- money -----------------------------------------------------------------------------------------


def _round_units(value: Fraction) -> int:
    """Exact ROUND_HALF_UP (ties away from zero) of a minor-unit count."""
    magnitude = math.floor(abs(value) + Fraction(1, 2))
    return magnitude if value >= 0 else -magnitude


def _units(amount: object, currency: str, field: str, *, negative: bool = True) -> int:
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int):
        raise RecognitionError(f"A decimal amount is required, got {amount!r}.", field=field)
    value = Decimal(amount)
    if not value.is_finite():
        raise RecognitionError("The amount must be a finite number.", field=field)
    if value < 0 and not negative:
        raise RecognitionError(f"The amount cannot be negative ({value}).", field=field)
    try:
        places = minor_units(currency)
    except MoneyError as exc:
        raise RecognitionError(str(exc), field="currency")
    scaled = Fraction(value) * 10**places
    if scaled.denominator != 1:
        raise RecognitionError(
            f"{value} has more decimals than {currency.upper()} allows ({places}).", field=field
        )
    return int(scaled)


def _cumulative(
    currency: str, total: int, spans: list[tuple[date, date, int]], weights: list[Fraction]
) -> list[ScheduleLine]:
    """Cumulative rounding of ``total`` minor units over ``spans`` by ``weights`` (§5)."""
    weight_sum = sum(weights, Fraction(0))
    lines: list[ScheduleLine] = []
    elapsed, previous = Fraction(0), 0
    for (clip_start, clip_end, _), weight in zip(spans, weights, strict=True):
        elapsed += weight
        cut_off = _round_units(total * elapsed / weight_sum)
        lines.append(
            ScheduleLine(
                period_key(clip_start), clip_start, clip_end, from_minor(cut_off - previous, currency)
            )
        )
        previous = cut_off
    return lines


def _ratable(currency: str, total: int, method: str, start: date, end: date) -> list[ScheduleLine]:
    if end <= start:
        raise RecognitionError(f"The service period must end after it starts ({start} → {end}).", field="end")
    spans = _month_spans(start, end)
    if method == "ratable_daily":  # every day earns the same share
        weights = [Fraction((stop - first).days) for first, stop, _ in spans]
    else:  # every whole month earns the same share; a partial month earns by its days
        weights = [Fraction((stop - first).days, days) for first, stop, days in spans]
    return _cumulative(currency, total, spans, weights)


# -- schedules -------------------------------------------------------------------------------------


def schedule(
    *,
    currency: str,
    amount: Decimal,
    method: Method,
    start: date,
    end: date,
    satisfied_on: date | None = None,
    milestones: Sequence[Milestone] = (),
    usage: Mapping[str, Decimal] | None = None,
) -> list[ScheduleLine]:
    """The recognition schedule of one performance obligation (accounting.md §5).

    ``amount`` is the allocation (minor-unit precision); Σ lines == ``amount`` for the ratable and
    point-in-time methods, and for ``milestone`` once every milestone is met. ``usage`` follows
    rated usage (``usage`` mapping required; ``amount`` is not used) — see :func:`usage_schedule`.
    """
    if method not in METHODS:
        raise RecognitionError(f"Unknown method '{method}' ({', '.join(METHODS)}).", field="method")
    if method == "usage":
        if usage is None:
            raise RecognitionError(
                "Usage revenue follows rated usage: pass the rated amounts per period.", field="usage"
            )
        return usage_schedule(currency=currency, usage=usage)
    if method == "milestone":
        return list(milestone_schedule(currency=currency, amount=amount, milestones=milestones).lines)
    total = _units(amount, currency, "amount")
    if method == "point_in_time":
        day = satisfied_on or start
        return [ScheduleLine(period_key(day), day, day + timedelta(days=1), from_minor(total, currency))]
    return _ratable(currency, total, method, start, end)


def milestone_schedule(
    *, currency: str, amount: Decimal, milestones: Sequence[Milestone]
) -> MilestoneSchedule:
    """Each met milestone's amount in the month it was met (one line per month, §5).

    The milestone amounts must sum to ``amount``; the unmet ones are returned as ``unscheduled``
    (their total) and ``pending`` (their keys), to be scheduled when approved as met.
    """
    total = _units(amount, currency, "amount")
    if not milestones:
        raise RecognitionError("The milestone method needs at least one milestone.", field="milestones")
    by_month: dict[str, list] = {}
    seen: set[str] = set()
    pending, met_total, all_total = [], 0, 0
    for i, milestone in enumerate(milestones):
        if not isinstance(milestone.key, str) or not milestone.key or milestone.key in seen:
            raise RecognitionError(
                "Each milestone needs a unique, non-empty key.", field=f"milestones[{i}].key"
            )
        seen.add(milestone.key)
        units = _units(milestone.amount, currency, f"milestones[{i}].amount", negative=False)
        all_total += units
        if milestone.met_on is None:
            pending.append(milestone.key)
            continue
        met_total += units
        entry = by_month.setdefault(period_key(milestone.met_on), [milestone.met_on, milestone.met_on, 0])
        entry[0], entry[1] = min(entry[0], milestone.met_on), max(entry[1], milestone.met_on)
        entry[2] += units
    if all_total != total:
        raise RecognitionError(
            f"The milestones sum to {from_minor(all_total, currency)}, not the amount {from_minor(total, currency)}.",
            field="milestones",
        )
    lines = tuple(
        ScheduleLine(key, first, last + timedelta(days=1), from_minor(units, currency))
        for key, (first, last, units) in sorted(by_month.items())
    )
    return MilestoneSchedule(lines, from_minor(total - met_total, currency), tuple(pending))


def usage_schedule(*, currency: str, usage: Mapping[str, Decimal]) -> list[ScheduleLine]:
    """Usage revenue in the period it occurs, at its rated amount, rounded once per period (§5,
    as-invoiced practical expedient, ASC 606-10-55-18). Lines are sorted by period."""
    lines = []
    for period in sorted(usage):
        first = parse_period(period, field=f"usage[{period}]")
        value = usage[period]
        if isinstance(value, bool) or not isinstance(value, Decimal | int) or not Decimal(value).is_finite():
            raise RecognitionError(
                f"A finite decimal amount is required, got {value!r}.", field=f"usage[{period}]"
            )
        try:
            amount = round_money(Decimal(value), currency)
        except MoneyError as exc:
            raise RecognitionError(str(exc), field="currency")
        lines.append(ScheduleLine(period, first, _next_month(first), amount))
    return lines


# -- contract modifications (§5, ASC 606-10-25-12/13) ----------------------------------------------


def _recognized(
    currency: str, existing: Sequence[ScheduleLine], recognized_through: str
) -> tuple[list[ScheduleLine], int, date]:
    cut_off = parse_period(recognized_through, field="recognized_through")
    past = sorted(
        (line for line in existing if line.period <= recognized_through), key=lambda line: line.start
    )
    done = sum(_units(line.amount, currency, "existing") for line in past)
    return past, done, _next_month(cut_off)


def _check_method(method: str) -> None:
    if method not in RATABLE:
        raise RecognitionError(
            f"Only ratable schedules are re-spread on a modification, not '{method}'.", field="method"
        )


def cumulative_catch_up(
    *,
    currency: str,
    method: Method,
    start: date,
    new_end: date,
    new_amount: Decimal,
    existing: Sequence[ScheduleLine],
    recognized_through: str,
) -> Modification:
    """Cumulative catch-up: the new terms as if they had always applied (§5).

    Lines through ``recognized_through`` stay as recognized (closed periods never change); the
    difference between the new schedule's cumulative amount and what was recognized is booked in
    the first open month after the cut-off, together with that month's own new amount.
    """
    _check_method(method)
    past, done, mod_first = _recognized(currency, existing, recognized_through)
    total = _units(new_amount, currency, "new_amount")
    fresh = _ratable(currency, total, method, start, new_end)
    mod_key = period_key(mod_first)
    should_have = sum(_units(line.amount, currency, "amount") for line in fresh if line.period < mod_key)
    adjustment = should_have - done
    lines = list(past)
    current = [line for line in fresh if line.period == mod_key]
    if current:
        line = current[0]
        lines.append(
            ScheduleLine(line.period, line.start, line.end, line.amount + from_minor(adjustment, currency))
        )
    elif adjustment:
        lines.append(
            ScheduleLine(mod_key, mod_first, _next_month(mod_first), from_minor(adjustment, currency))
        )
    lines.extend(line for line in fresh if line.period > mod_key)
    return Modification(
        "cumulative_catch_up",
        mod_key,
        from_minor(done, currency),
        from_minor(adjustment, currency),
        tuple(lines),
    )


def prospective_reallocation(
    *,
    currency: str,
    method: Method,
    start: date,
    new_end: date,
    new_amount: Decimal,
    existing: Sequence[ScheduleLine],
    recognized_through: str,
) -> Modification:
    """Prospective treatment: the remaining unrecognized amount (new amount − recognized to date) is
    spread over the remaining service period, from the first open month after the cut-off (§5)."""
    _check_method(method)
    past, done, mod_first = _recognized(currency, existing, recognized_through)
    remaining = _units(new_amount, currency, "new_amount") - done
    remaining_start = max(start, mod_first)
    lines = list(past)
    if remaining_start < new_end:
        lines.extend(_ratable(currency, remaining, method, remaining_start, new_end))
    elif remaining:
        raise RecognitionError(
            f"No service period remains after {recognized_through} to recognize "
            f"{from_minor(remaining, currency)} over.",
            field="new_end",
        )
    zero = from_minor(0, currency)
    return Modification("prospective", period_key(mod_first), from_minor(done, currency), zero, tuple(lines))


# -- input-method progress (accounting.md §10a, IFRS 15.39–45, B18–B19) ----------------------------


def input_progress(incurred: Decimal, expected: Decimal, *, places: int | None = None) -> Fraction:
    """Progress = costs incurred to date ÷ total expected costs, exact, within [0, 1] (§1: a measure of
    progress is not rounded before it multiplies). ``places`` rounds the *percentage* (ROUND_HALF_UP)
    only when the obligation states that policy (IFRS 15 IE Example 8 states 51.2 %)."""
    expected_f, incurred_f = Fraction(expected), Fraction(incurred)
    if expected_f <= 0:
        raise RecognitionError("Total expected costs must be positive.", field="expected_total")
    value = min(Fraction(1), max(Fraction(0), incurred_f / expected_f))
    if places is not None:
        scale = 100 * 10**places
        value = Fraction(_round_units(value * scale), scale)
    return value


def input_schedule(
    *,
    currency: str,
    amount: Decimal,
    start: date,
    end: date,
    incurred: Mapping[str, Decimal],
    expected_total: Decimal | None,
    existing: Sequence[ScheduleLine] = (),
    recognized_through: str | None = None,
    places: int | None = None,
) -> list[ScheduleLine]:
    """An input-method schedule (costs incurred ÷ total expected costs), summing exactly to ``amount``.

    Lines through ``recognized_through`` are kept as they are (already recognized or closed). From the
    next month on, each month with costs earns round(amount × progress at its end) − the cumulative
    amount before it — so the first open month carries the cumulative catch-up of any change in the
    amount or in the expected costs (15.21(b), 15.88). Whatever progress has not yet earned is
    scheduled in the obligation's last month (or the month after the last cost), until costs say
    otherwise; progress is capped at 1, so recognized never exceeds the amount.
    """
    total = _units(amount, currency, "amount")
    if end <= start:
        raise RecognitionError(f"The service period must end after it starts ({start} → {end}).", field="end")
    cut = recognized_through or period_key(start - timedelta(days=1))
    cut_first = parse_period(cut, field="recognized_through")
    past = sorted((ln for ln in existing if ln.period <= cut), key=lambda ln: ln.period)
    done = sum(_units(ln.amount, currency, "existing") for ln in past)
    first_open = period_key(_next_month(cut_first))
    for period in incurred:
        parse_period(period, field=f"incurred[{period}]")
    months = sorted({p for p in incurred if p > cut} | ({first_open} if expected_total else set()))
    lines = list(past)
    previous = done
    if expected_total:
        for period in months:
            cumulative = sum((Fraction(v) for p, v in incurred.items() if p <= period), Fraction(0))
            target = _round_units(total * input_progress(cumulative, expected_total, places=places))
            if target != previous:
                lines.append(_month_line(period, target - previous, start, end, currency))
            previous = target
    remainder = total - previous
    if remainder:
        last_month = period_key(end - timedelta(days=1))
        after = [ln.period for ln in lines if ln.period > cut]
        at = max([last_month, first_open] + after)
        if lines and lines[-1].period == at:
            line = lines.pop()
            lines.append(
                ScheduleLine(at, line.start, line.end, line.amount + from_minor(remainder, currency))
            )
        else:
            lines.append(_month_line(at, remainder, start, end, currency))
    return lines


def _month_line(period: str, units: int, start: date, end: date, currency: str) -> ScheduleLine:
    first = parse_period(period)
    clip_start = max(first, start) if first < end else first
    clip_end = min(_next_month(first), end) if first < end else _next_month(first)
    if clip_end <= clip_start:
        clip_start, clip_end = first, _next_month(first)
    return ScheduleLine(period, clip_start, clip_end, from_minor(units, currency))
