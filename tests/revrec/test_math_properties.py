"""Hypothesis properties of the pure money math (accounting.md §3–§5, §7 invariants 1 and 2)."""

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from billing.periods import Period, billing_periods, change_lines, period_containing
from revops.money import floor_money, from_minor, minor_units, quantum, round_money
from revrec.allocation import AllocationError, AllocationLine, allocate, split_change
from revrec.recognition import (
    RecognitionError,
    cumulative_catch_up,
    input_progress,
    input_schedule,
    period_key,
    prospective_reallocation,
    schedule,
)

CURRENCIES = st.sampled_from(["USD", "EUR", "JPY", "KWD"])
DATES = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))
PROPERTY = settings(deadline=None, max_examples=150)


def money(currency: str, max_units: int = 10**9):
    return st.integers(min_value=0, max_value=max_units).map(lambda units: from_minor(units, currency))


def ssps():
    return st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False, allow_infinity=False)


def half_unit(currency: str) -> Fraction:
    return Fraction(quantum(currency)) / 2


# -- allocation ------------------------------------------------------------------------------------


@PROPERTY
@given(data=st.data(), currency=CURRENCIES, weights=st.lists(ssps(), min_size=1, max_size=8))
def test_allocations_sum_exactly_to_the_price(data, currency, weights):
    assume(sum(weights) > 0)
    price = data.draw(money(currency))
    lines = [AllocationLine(f"po{i}", ssp=w) for i, w in enumerate(weights)]
    result = allocate(currency=currency, transaction_price=price, lines=lines)
    assert sum(a.allocated for a in result) == price
    total = sum(Fraction(w) for w in weights)
    for a, w in zip(result, weights, strict=True):
        exact = Fraction(price) * Fraction(w) / total
        assert a.allocated >= 0
        assert abs(Fraction(a.allocated) - exact) < Fraction(quantum(currency))  # within one minor unit
        assert a.allocated.as_tuple().exponent == -minor_units(currency)


@PROPERTY
@given(data=st.data(), currency=CURRENCIES, weights=st.lists(ssps(), min_size=2, max_size=8))
def test_variable_consideration_allocations_sum_to_price_plus_variable(data, currency, weights):
    # IFRS 15.84–86: Σ allocations == fixed price + Σ variable amounts, whether each line's variable
    # amount joins the relative split or (15.85, both criteria asserted) stays on its line alone.
    assume(sum(weights) > 0)
    price = data.draw(money(currency))
    lines = []
    for i, w in enumerate(weights):
        variable = data.draw(money(currency, 10**7))
        specific = data.draw(st.booleans())
        lines.append(
            AllocationLine(
                f"po{i}",
                ssp=w,
                variable_amount=variable,
                variable_allocation="specific" if specific else "relative",
                relates_specifically=specific,
                consistent_with_objective=specific,
            )
        )
    fixed_weights = [
        w if ln.variable_allocation == "relative" else max(0, w - ln.variable_amount)
        for w, ln in zip(weights, lines, strict=True)
    ]
    assume(sum(fixed_weights) > 0 or price == 0)
    result = allocate(currency=currency, transaction_price=price, lines=lines)
    assert sum(a.allocated for a in result) == price + sum(ln.variable_amount for ln in lines)
    assert sum(a.allocated - a.variable for a in result) == price
    for a, ln in zip(result, lines, strict=True):
        assert a.allocated >= 0 and a.variable >= 0
        if ln.variable_allocation == "specific":
            assert a.variable >= ln.variable_amount  # its own, plus its share of the others'
            if ln.variable_amount >= ln.ssp:
                assert a.allocated - a.variable == 0  # its SSP is met: the fixed price goes elsewhere


@PROPERTY
@given(
    currency=CURRENCIES,
    units=st.integers(min_value=-(10**9), max_value=10**9),
    weights=st.lists(ssps(), min_size=1, max_size=8),
)
def test_a_change_in_the_price_is_split_exactly(currency, units, weights):
    # IFRS 15.88: a change in the transaction price, allocated on the inception basis, sums exactly
    assume(sum(weights) > 0)
    amount = from_minor(units, currency)
    shares = split_change(
        currency=currency, amount=amount, weights=[(f"po{i}", w) for i, w in enumerate(weights)]
    )
    assert sum(shares.values()) == amount
    assert all((s <= 0) if units < 0 else (s >= 0) for s in shares.values())


@PROPERTY
@given(data=st.data(), currency=CURRENCIES, weights=st.lists(ssps(), min_size=2, max_size=6))
def test_subset_discount_allocations_sum_exactly_or_are_refused(data, currency, weights):
    # prices up to ΣSSP (a discount), most of them feasible for the subset
    share = data.draw(st.integers(min_value=0, max_value=1000))
    price = floor_money(sum(weights) * share / 1000, currency)
    chosen = data.draw(st.sets(st.integers(0, len(weights) - 1), min_size=1))
    lines = [AllocationLine(f"po{i}", ssp=w) for i, w in enumerate(weights)]
    try:
        result = allocate(
            currency=currency,
            transaction_price=price,
            lines=lines,
            discount_applies_to=[f"po{i}" for i in sorted(chosen)],
        )
    except AllocationError as exc:
        event("subset refused")
        assert exc.field == "discount_applies_to"
        return
    assert sum(a.allocated for a in result) == price
    for i, a in enumerate(result):
        if i not in chosen:  # the lines outside the subset take their SSP
            assert a.allocated == round_money(weights[i], currency)


@PROPERTY
@given(data=st.data(), currency=CURRENCIES, weights=st.lists(ssps(), min_size=1, max_size=5))
def test_residual_allocations_sum_exactly_or_name_the_residual_line(data, currency, weights):
    price = data.draw(money(currency, 10**7))
    lines = [AllocationLine(f"po{i}", ssp=w) for i, w in enumerate(weights)]
    lines.append(AllocationLine("rest", residual=True))
    try:
        result = allocate(currency=currency, transaction_price=price, lines=lines)
    except AllocationError as exc:
        assert exc.field == f"lines[{len(weights)}]"
        return
    assert sum(a.allocated for a in result) == price
    assert result[-1].allocated > 0


# -- schedules -------------------------------------------------------------------------------------


@PROPERTY
@given(
    currency=CURRENCIES,
    data=st.data(),
    start=DATES,
    days=st.integers(min_value=1, max_value=1500),
    method=st.sampled_from(["ratable_daily", "ratable_monthly", "point_in_time"]),
    negative=st.booleans(),
)
def test_schedules_sum_exactly_to_the_amount(currency, data, start, days, method, negative):
    amount = data.draw(money(currency))
    amount = -amount if negative else amount
    end = start + timedelta(days=days)
    lines = schedule(currency=currency, amount=amount, method=method, start=start, end=end)
    assert sum(line.amount for line in lines) == amount
    assert [line.period for line in lines] == sorted({line.period for line in lines})
    for line in lines:
        assert line.period == period_key(line.start)
        assert line.amount.as_tuple().exponent == -minor_units(currency)


@PROPERTY
@given(
    currency=CURRENCIES,
    data=st.data(),
    start=DATES,
    days=st.integers(min_value=1, max_value=1500),
    method=st.sampled_from(["ratable_daily", "ratable_monthly"]),
)
def test_every_cumulative_cut_off_is_within_half_a_minor_unit(currency, data, start, days, method):
    amount = data.draw(money(currency))
    end = start + timedelta(days=days)
    lines = schedule(currency=currency, amount=amount, method=method, start=start, end=end)

    def measure(line):  # days, or month units (days in service ÷ days in that month)
        span = (line.end - line.start).days
        if method == "ratable_daily":
            return Fraction(span)
        next_month = (line.start.replace(day=28) + timedelta(days=4)).replace(day=1)
        return Fraction(span, (next_month - line.start.replace(day=1)).days)

    assert lines[0].start == start and lines[-1].end == end
    total = sum(measure(line) for line in lines)
    elapsed, recognized = Fraction(0), Fraction(0)
    for line in lines:
        elapsed += measure(line)
        recognized += Fraction(line.amount)
        assert abs(recognized - Fraction(amount) * elapsed / total) <= half_unit(currency)


@PROPERTY
@given(
    currency=CURRENCIES,
    data=st.data(),
    start=DATES,
    days=st.integers(min_value=31, max_value=900),
    cut=st.integers(min_value=0, max_value=40),
    extra_days=st.integers(min_value=-30, max_value=400),
    method=st.sampled_from(["ratable_daily", "ratable_monthly"]),
    treatment=st.sampled_from([cumulative_catch_up, prospective_reallocation]),
)
def test_modifications_keep_the_past_and_sum_exactly(
    currency, data, start, days, cut, extra_days, method, treatment
):
    amount = data.draw(money(currency, 10**8))
    new_amount = data.draw(money(currency, 10**8))
    end = start + timedelta(days=days)
    new_end = max(start + timedelta(days=1), end + timedelta(days=extra_days))
    existing = schedule(currency=currency, amount=amount, method=method, start=start, end=end)
    cutoff = existing[min(cut, len(existing) - 1)].period
    try:
        result = treatment(
            currency=currency,
            method=method,
            start=start,
            new_end=new_end,
            new_amount=new_amount,
            existing=existing,
            recognized_through=cutoff,
        )
    except RecognitionError as exc:  # only prospective can run out of service period
        assert treatment is prospective_reallocation and exc.field == "new_end"
        return
    assert sum(line.amount for line in result.lines) == new_amount
    past = [line for line in existing if line.period <= cutoff]
    assert list(result.lines[: len(past)]) == past
    assert all(line.period > cutoff for line in result.lines[len(past) :])


# -- billing periods and proration -----------------------------------------------------------------


@PROPERTY
@given(
    start=DATES,
    length=st.one_of(st.none(), st.integers(min_value=1, max_value=2000)),
    horizon=st.integers(min_value=0, max_value=2500),
    interval=st.sampled_from(["month", "quarter", "year"]),
    anchor=st.sampled_from(["calendar", "anniversary"]),
)
def test_billing_periods_tile_the_subscription(start, length, horizon, interval, anchor):
    end = None if length is None else start + timedelta(days=length)
    until = start + timedelta(days=horizon)
    periods = billing_periods(start=start, end=end, interval=interval, anchor=anchor, until=until)
    if horizon == 0:
        assert periods == []
        return
    assert periods[0].start == start
    for previous, current in zip(periods, periods[1:], strict=False):
        assert previous.end == current.start  # no gap, no overlap
    for period in periods:
        assert period.start < until
        full = period_containing(period.start, anchor_date=start, interval=interval, anchor=anchor)
        assert full.covers(period)
        assert period.end == full.end or period.end == end
    stop = until if end is None else min(until, end)
    assert periods[-1].end >= stop
    if end is not None:
        assert periods[-1].end <= end


@PROPERTY
@given(
    currency=CURRENCIES,
    data=st.data(),
    start=DATES,
    interval=st.sampled_from(["month", "quarter", "year"]),
    offset=st.integers(min_value=0, max_value=400),
)
def test_change_lines_net_to_the_exact_difference_within_line_rounding(
    currency, data, start, interval, offset
):
    old = data.draw(money(currency, 10**7))
    new = data.draw(money(currency, 10**7))
    period = period_containing(start, anchor_date=start, interval=interval, anchor="anniversary")
    effective = period.start + timedelta(days=offset % period.days)
    credit, charge = change_lines(
        old_amount=old, new_amount=new, effective=effective, period=period, currency=currency
    )
    remaining = Fraction((period.end - effective).days, period.days)
    half = half_unit(currency)
    assert credit.amount <= 0 <= charge.amount
    assert abs(Fraction(credit.amount) + Fraction(old) * remaining) <= half
    assert abs(Fraction(charge.amount) - Fraction(new) * remaining) <= half
    net = Fraction(credit.amount + charge.amount)
    assert abs(net - (Fraction(new) - Fraction(old)) * remaining) <= 2 * half
    assert credit.service == charge.service == Period(effective, period.end)


@pytest.mark.parametrize("currency", ["USD", "JPY", "KWD"])
def test_minor_units_match_iso_4217(currency):
    assert minor_units(currency) == {"USD": 2, "JPY": 0, "KWD": 3}[currency]


# -- input-method progress (accounting.md §10a) -----------------------------------------------------


@PROPERTY
@given(
    incurred=st.integers(min_value=-(10**9), max_value=10**10),
    expected=st.integers(min_value=1, max_value=10**10),
    places=st.one_of(st.none(), st.integers(min_value=0, max_value=6)),
)
def test_input_progress_is_within_zero_and_one(incurred, expected, places):
    progress = input_progress(Decimal(incurred), Decimal(expected), places=places)
    assert 0 <= progress <= 1
    if places is None and 0 <= incurred <= expected:
        assert progress == Fraction(incurred, expected)  # exact, never rounded before it multiplies


@PROPERTY
@given(
    data=st.data(),
    currency=CURRENCIES,
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    months=st.integers(min_value=1, max_value=36),
)
def test_input_schedule_sums_to_the_amount_and_never_recognizes_more(data, currency, start, months):
    end = start + timedelta(days=30 * months)
    amount = data.draw(money(currency))
    expected = Decimal(data.draw(st.integers(min_value=1, max_value=10**8)))
    periods = sorted({period_key(start + timedelta(days=30 * k)) for k in range(months)})
    chosen = data.draw(st.lists(st.sampled_from(periods), max_size=12))
    incurred = {p: Decimal(data.draw(st.integers(min_value=0, max_value=10**7))) for p in chosen}
    places = data.draw(st.one_of(st.none(), st.integers(min_value=0, max_value=4)))
    lines = input_schedule(
        currency=currency,
        amount=amount,
        start=start,
        end=end,
        incurred=incurred,
        expected_total=expected,
        places=places,
    )
    assert sum(ln.amount for ln in lines) == amount
    assert [ln.period for ln in lines] == sorted({ln.period for ln in lines})
    cumulative = Decimal(0)
    for ln in lines:
        cumulative += ln.amount
        assert 0 <= cumulative <= amount  # recognized ≤ allocated at every cut-off
    # a change in the expected costs, recognized through the first month: the catch-up keeps Σ exact
    if lines:
        cut = lines[0].period
        new_expected = Decimal(data.draw(st.integers(min_value=1, max_value=10**8)))
        again = input_schedule(
            currency=currency,
            amount=amount,
            start=start,
            end=end,
            incurred=incurred,
            expected_total=new_expected,
            existing=lines,
            recognized_through=cut,
            places=places,
        )
        assert sum(ln.amount for ln in again) == amount
        assert [ln for ln in again if ln.period <= cut] == [ln for ln in lines if ln.period <= cut]
