"""The treatments' pure arithmetic (accounting.md §10): plain functions over an obligation's spec, its
schedule lines and Decimal amounts — no database. The analysis (``analysis.py``) and the applied
modification (``apply.py``) use the same functions, so the preview shows exactly what approving posts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from revops.money import round_money
from revops.parties.models import RecognitionMethod
from revrec import recognition

if TYPE_CHECKING:
    from revrec.services.modifications.analysis import _State

ZERO = Decimal(0)
RATABLE = (RecognitionMethod.RATABLE_DAILY, RecognitionMethod.RATABLE_MONTHLY)


def _shift(key: str, months: int) -> str:
    year, month = (int(x) for x in key.split("-"))
    index = year * 12 + month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _earned_by(existing: list, cut_off: str, effective: date, currency: str) -> list[tuple[str, Decimal]]:
    """The schedule lines an obligation removed on ``effective`` keeps: every month through the
    cut-off, and the days of the removal month before ``effective`` (by days, §3), nothing after."""
    kept = [(ln.period, ln.amount) for ln in existing if ln.period <= cut_off]
    month = recognition.period_key(effective)
    if month > cut_off:
        for ln in existing:
            if ln.period == month and ln.start < effective < ln.end:
                part = round_money(
                    Decimal(ln.amount) * (effective - ln.start).days / (ln.end - ln.start).days, currency
                )
                if part:
                    kept.append((month, part))
    return kept


def _removal(
    existing: list, cut_off: str, effective: date, currency: str
) -> tuple[list[tuple[str, Decimal]], Decimal, Decimal]:
    """A removed over-time obligation (§10): (its schedule lines, what it earned, the catch-up). It
    earns every month before the removal month and that month's days before ``effective``, whatever
    was posted since: a backdated removal keeps the months already posted after the removal date
    (their entries stand) and reverses what they recognized beyond it in the first open month."""
    earned = _earned_by(existing, _shift(recognition.period_key(effective), -1), effective, currency)
    total = sum((a for _p, a in earned), ZERO)
    held = [(ln.period, ln.amount) for ln in existing if ln.period <= cut_off]
    if cut_off < recognition.period_key(effective):
        return earned, total, ZERO
    adjustment = total - sum((a for _p, a in held), ZERO)
    return held + ([(_shift(cut_off, 1), adjustment)] if adjustment else []), total, adjustment


def _satisfied_on(spec: dict) -> date:
    return (
        spec["start"]
        if spec["recognition"] == RecognitionMethod.POINT_IN_TIME
        else spec["end"] - timedelta(days=1)
    )


def _fresh(spec: dict, amount: Decimal, currency: str) -> list[recognition.ScheduleLine]:
    method = spec["recognition"] if spec["recognition"] in RATABLE else "point_in_time"
    return recognition.schedule(
        currency=currency,
        amount=amount,
        method=method,
        start=spec["start"],
        end=spec["end"],
        satisfied_on=None if method in RATABLE else _satisfied_on(spec),
    )


def _pairs(lines) -> list[tuple[str, Decimal]]:
    return [(ln.period, ln.amount) for ln in lines]


def _input_catch_up(
    spec: dict, amount: Decimal, existing: list, cut_off: str, currency: str, progress
) -> dict:
    """Input method, 15.21(b) (§10a, IE Example 8): the new amount × progress from all recorded costs;
    the cumulative catch-up lands in the first month after the cut-off."""
    lines = recognition.input_schedule(
        currency=currency,
        amount=round_money(amount, currency),
        start=spec["start"],
        end=spec["end"],
        incurred=progress.incurred if progress else {},
        expected_total=progress.expected_total if progress else None,
        existing=existing,
        recognized_through=cut_off,
        places=spec.get("progress_places"),
    )
    return {
        "lines": _pairs(lines),
        "adjustment": _first_open_change(existing, lines, cut_off),
        "note": "input method: the new amount × progress (costs incurred ÷ total expected costs)",
    }


def _input_prospective(
    spec: dict, amount: Decimal, existing: list, cut_off: str, currency: str, progress
) -> dict:
    """Input method, 15.21(a): what was recognized through the cut-off stays; the rest of ``amount`` is
    earned by the progress of the remaining work only — costs incurred after the cut-off ÷ the costs
    still expected then — so nothing is caught up."""
    past = [ln for ln in existing if ln.period <= cut_off]
    rest = round_money(amount - sum((ln.amount for ln in past), ZERO), currency)
    expected = progress.expected_total if progress else None
    incurred = progress.incurred if progress else {}
    remaining_costs = None
    if expected is not None:
        remaining_costs = expected - sum((v for p, v in incurred.items() if p <= cut_off), ZERO)
    if remaining_costs is not None and remaining_costs <= 0:
        remaining_costs = None  # no work left by the costs: what remains waits for the last month
    lines = recognition.input_schedule(
        currency=currency,
        amount=rest,
        start=spec["start"],
        end=spec["end"],
        incurred={p: v for p, v in incurred.items() if p > cut_off},
        expected_total=remaining_costs,
        recognized_through=cut_off,
        places=spec.get("progress_places"),
    )
    return {
        "lines": _pairs(past) + _pairs(lines),
        "adjustment": ZERO,
        "note": "input method: the rest over the remaining work (costs incurred from the modification "
        "÷ costs still expected)",
    }


def _first_open_change(old: list, new: list, cut_off: str) -> Decimal:
    """What a revision recognizes at once: the change through the first month after the cut-off."""
    first = _shift(cut_off, 1)
    return sum((ln.amount for ln in new if ln.period <= first), ZERO) - sum(
        (ln.amount for ln in old if ln.period <= first), ZERO
    )


def _catch_up(
    spec: dict,
    amount: Decimal,
    existing: list,
    cut_off: str,
    currency: str,
    progress=None,
    kept=None,
    since: date | None = None,
) -> dict:
    """The new terms as if they had always applied; the difference to what the schedule holds through
    the cut-off lands in the first open month (15.21(b)). With ``kept`` holding the days of the
    modification month before ``since`` (§3), the catch-up is measured at that date: the new amount ×
    progress by ``since`` − the satisfied part (the month's schedule line is the same either way)."""
    if spec.get("progress_measure") == "input":  # progress by costs (§10a, IE Example 8)
        return _input_catch_up(spec, amount, existing, cut_off, currency, progress)
    if spec["recognition"] in RATABLE:
        result = recognition.cumulative_catch_up(
            currency=currency,
            method=spec["recognition"],
            start=spec["start"],
            new_end=spec["end"],
            new_amount=amount,
            existing=existing,
            recognized_through=cut_off,
        )
        adjustment = result.adjustment
        if since and any(p > cut_off for p, _a in kept or []):
            fresh = _fresh(spec, round_money(amount, currency), currency)
            earned = sum((a for _p, a in _earned_by(fresh, cut_off, since, currency)), ZERO)
            adjustment = earned - sum((a for _p, a in kept), ZERO)
        return {"lines": _pairs(result.lines), "adjustment": adjustment}
    fresh = _fresh(spec, amount, currency)
    past = [(ln.period, ln.amount) for ln in existing if ln.period <= cut_off]
    adjustment = sum((ln.amount for ln in fresh if ln.period <= cut_off), ZERO) - sum(
        (a for _p, a in past), ZERO
    )
    later: dict[str, Decimal] = {}
    for ln in fresh:
        if ln.period > cut_off:
            later[ln.period] = later.get(ln.period, ZERO) + ln.amount
    if adjustment:
        first = _shift(cut_off, 1)
        later[first] = later.get(first, ZERO) + adjustment
    return {"lines": past + sorted(later.items()), "adjustment": adjustment}


def _prospective(
    spec: dict,
    amount: Decimal,
    existing: list,
    cut_off: str,
    currency: str,
    progress=None,
    kept=None,
    since: date | None = None,
) -> dict:
    """The schedule through the cut-off stays; the rest of ``amount`` is spread over what remains.
    ``kept`` (the satisfied part's lines) may hold the days of the modification month before its date
    (day-exact, §3): the rest is then spread from that date, and that month holds both parts."""
    if spec.get("progress_measure") == "input":  # over the remaining work, by costs (§10a)
        return _input_prospective(spec, amount, existing, cut_off, currency, progress)
    if spec["recognition"] in RATABLE and since and any(p > cut_off for p, _a in kept or []):
        return _prospective_from_day(spec, amount, kept, since, currency)
    if spec["recognition"] in RATABLE:
        result = recognition.prospective_reallocation(
            currency=currency,
            method=spec["recognition"],
            start=spec["start"],
            new_end=spec["end"],
            new_amount=amount,
            existing=existing,
            recognized_through=cut_off,
        )
        return {"lines": _pairs(result.lines), "adjustment": ZERO}
    past = [(ln.period, ln.amount) for ln in existing if ln.period <= cut_off]
    rest = amount - sum((a for _p, a in past), ZERO)
    later = [(ln.period, ln.amount) for ln in _fresh(spec, rest, currency)] if rest else []
    return {"lines": past + later, "adjustment": ZERO}


def _prospective_from_day(spec: dict, amount: Decimal, kept: list, since: date, currency: str) -> dict:
    """15.21(a) from a date within a month (§3, by days): ``kept`` — the months through the cut-off and
    the days of the modification month before ``since`` — stays; the rest is spread from ``since``."""
    rest = round_money(amount - sum((a for _p, a in kept), ZERO), currency)
    lines: dict[str, Decimal] = {}
    for period, part in kept:
        lines[period] = lines.get(period, ZERO) + part
    start = max(spec["start"], since)
    if start < spec["end"]:
        fresh = recognition.schedule(
            currency=currency, amount=rest, method=spec["recognition"], start=start, end=spec["end"]
        )
        for ln in fresh:
            lines[ln.period] = lines.get(ln.period, ZERO) + ln.amount
    elif rest:
        raise recognition.RecognitionError(
            f"No service period remains after {since} to recognize {rest} over.", field="new_end"
        )
    return {"lines": sorted(lines.items()), "adjustment": ZERO}


def _unchanged(st: _State) -> dict:
    return {
        "allocation": st.old_allocation,
        "lines": _pairs(st.existing),
        "adjustment": ZERO,
        "unchanged": True,
    }


def _closed_option(st: _State, currency: str) -> dict:
    """A satisfied obligation: unchanged, unless the amendment changed its own consideration (a
    concession on goods already delivered), which it takes at once (15.88). A removed obligation keeps
    only what it has satisfied (its lines through the cut-off); it is superseded when applied."""
    if st.removed:
        return {
            "allocation": st.satisfied,
            "lines": st.kept_lines,
            "adjustment": st.removal_adjustment,
            "removed": True,
            "note": "removed: keeps what it earned through the removal date; the rest of its "
            "consideration goes to the remaining obligations (IFRS 15.21(a))",
        }
    if not st.po or st.new_fixed == st.old_fixed:
        return _unchanged(st)
    amount = st.old_allocation + st.new_fixed - st.old_fixed
    return {
        "allocation": amount,
        **_catch_up(st.spec, amount, st.existing, st.cut_off, currency, st.progress),
        "note": "its own consideration changed; recognized at once (IFRS 15.88)",
    }
