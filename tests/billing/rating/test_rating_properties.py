"""Hypothesis properties of the rating engine (accounting.md §1–2): monotonic graduated prices,
volume ≤ graduated for falling prices, whole packages, one rounding per line, breakdowns that add
up, and credits that never go negative."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.rating import CreditBalance, draw_down_credits, parse_charge, rate
from revops.money import round_money

# No example database: the tests leave nothing behind in the working tree.
PROPERTY = settings(max_examples=150, deadline=None, database=None)

CURRENCIES = st.sampled_from(["USD", "JPY", "KWD", "EUR"])
prices = st.decimals(min_value=0, max_value=1000, places=6, allow_nan=False, allow_infinity=False)
quantities = st.decimals(min_value=0, max_value=10**7, places=3, allow_nan=False, allow_infinity=False)
amounts = st.decimals(min_value=0, max_value=10**5, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def tier_lists(draw, *, flat_fees=True, falling=False, rate_tiers=False):
    """1–5 tiers with strictly ascending bounds and an open last tier (valid by construction)."""
    bounds = sorted(draw(st.sets(st.integers(min_value=1, max_value=10_000), max_size=4)))
    unit_prices = draw(st.lists(prices, min_size=len(bounds) + 1, max_size=len(bounds) + 1))
    if falling:
        unit_prices.sort(reverse=True)
    tiers = []
    for up_to, price in zip([*bounds, None], unit_prices, strict=True):
        tier = {"up_to": up_to, "flat_amount": draw(prices) if flat_fees else 0}
        if rate_tiers:
            tier["rate"] = draw(st.decimals(min_value=0, max_value=100, places=3))
        else:
            tier["unit_amount"] = price
        tiers.append(tier)
    return tiers


@st.composite
def quantity_charges(draw):
    model = draw(st.sampled_from(["flat", "standard", "graduated", "volume", "package"]))
    if model == "flat":
        properties = {"amount": draw(prices)}
    elif model == "standard":
        properties = {"unit_amount": draw(prices)}
    elif model == "package":
        properties = {
            "package_size": draw(st.decimals(min_value="0.5", max_value=1000, places=1)),
            "amount": draw(prices),
            "free_units": draw(st.integers(min_value=0, max_value=1000)),
        }
    else:
        properties = {"tiers": draw(tier_lists())}
    return parse_charge(model, properties)


@st.composite
def event_charges(draw):
    model = draw(st.sampled_from(["percentage", "graduated_percentage", "dynamic"]))
    if model == "percentage":
        low = draw(st.none() | amounts)
        high = draw(st.none() | amounts)
        if low is not None and high is not None and low > high:
            low, high = high, low
        properties = {
            "rate": draw(st.decimals(min_value=0, max_value=100, places=3)),
            "fixed_amount": draw(st.decimals(min_value=0, max_value=5, places=4)),
            "free_units_per_events": draw(st.integers(min_value=0, max_value=5)),
            "free_units_per_total_aggregation": draw(amounts),
            "per_transaction_min_amount": low,
            "per_transaction_max_amount": high,
        }
    elif model == "graduated_percentage":
        properties = {"tiers": draw(tier_lists(rate_tiers=True))}
    else:
        properties = {}
    return parse_charge(model, properties, field="amount")


def graduated_and_volume(tiers):
    return parse_charge("graduated", {"tiers": tiers}), parse_charge("volume", {"tiers": tiers})


@PROPERTY
@given(tier_lists(), quantities, quantities)
def test_graduated_never_decreases_as_quantity_grows(tiers, first, second):
    charge, _volume = graduated_and_volume(tiers)
    low, high = sorted([first, second])
    assert (
        rate(charge, currency="USD", quantity=low).exact_amount
        <= rate(charge, currency="USD", quantity=high).exact_amount
    )


@PROPERTY
@given(tier_lists(flat_fees=False, falling=True), quantities)
def test_volume_is_at_most_graduated_when_prices_fall_and_no_flat_fees(tiers, quantity):
    graduated, volume = graduated_and_volume(tiers)
    assert (
        rate(volume, currency="USD", quantity=quantity).exact_amount
        <= rate(graduated, currency="USD", quantity=quantity).exact_amount
    )


@PROPERTY
@given(
    st.decimals(min_value="0.001", max_value=1000, places=3),
    st.decimals(min_value="0.01", max_value=1000, places=2),
    st.decimals(min_value=0, max_value=1000, places=2),
    quantities,
)
def test_package_amount_is_a_whole_number_of_packages(size, amount, free_units, quantity):
    charge = parse_charge("package", {"package_size": size, "amount": amount, "free_units": free_units})
    result = rate(charge, currency="USD", quantity=quantity)
    packages = result.exact_amount / amount
    assert packages == packages.to_integral_value()
    billable = max(D(0), quantity - free_units)
    assert (packages - 1) * size < billable <= packages * size or packages == billable == 0


@PROPERTY
@given(quantity_charges(), quantities, CURRENCIES)
def test_quantity_lines_are_rounded_once_and_breakdowns_add_up(charge, quantity, currency):
    result = rate(charge, currency=currency, quantity=quantity)
    assert result.amount == round_money(result.exact_amount, currency)
    assert sum((line.amount for line in result.breakdown), D(0)) == result.exact_amount
    assert result.units == quantity


@PROPERTY
@given(event_charges(), st.lists(amounts, max_size=12), CURRENCIES)
def test_event_lines_are_rounded_once_and_breakdowns_add_up(charge, values, currency):
    result = rate(charge, currency=currency, events=[{"amount": value} for value in values])
    assert result.amount == round_money(result.exact_amount, currency)
    assert sum((line.amount for line in result.breakdown), D(0)) == result.exact_amount
    assert result.exact_amount >= 0


@PROPERTY
@given(event_charges(), st.lists(amounts, max_size=12), amounts)
def test_a_new_event_never_lowers_a_percentage_or_dynamic_line(charge, values, extra):
    # Allowances, tiers and clamps all move one way: more usage never costs less.
    before = rate(charge, currency="USD", events=[{"amount": v} for v in values]).exact_amount
    after = rate(charge, currency="USD", events=[{"amount": v} for v in [*values, extra]]).exact_amount
    assert after >= before


@st.composite
def credit_lists(draw):
    start = date(2025, 1, 1)
    days = st.integers(min_value=0, max_value=400)
    return [
        CreditBalance(
            id=index,
            remaining=draw(amounts),
            expires_on=draw(st.none() | days.map(lambda n: start + timedelta(days=n))),
            granted_on=start - timedelta(days=draw(days)),
        )
        for index in range(draw(st.integers(min_value=0, max_value=6)))
    ]


@PROPERTY
@given(amounts, credit_lists())
def test_credits_never_go_below_zero_and_never_exceed_what_is_due(due, credits):
    draws, still_due = draw_down_credits(due, credits, currency="USD")
    balances = {credit.id: credit.remaining for credit in credits}
    for credit_id, drawn in draws:
        assert 0 < drawn <= balances[credit_id]
    assert len({credit_id for credit_id, _ in draws}) == len(draws)
    drawn_total = sum((drawn for _, drawn in draws), D(0))
    assert drawn_total <= due
    assert still_due >= 0
    assert drawn_total + still_due == due
    # Credits are only left unused once the amount due is covered.
    assert still_due == 0 or drawn_total == sum(balances.values(), D(0))
