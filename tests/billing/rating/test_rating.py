"""Rating engine: golden cases from published examples, plus the rules of accounting.md §1–2.

Pure functions: no database, no Django. Sources are cited next to each golden case; where a doc gives
the tiers but no total, the figure is computed from accounting.md §2 and the comment says so.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal as D

import pytest

from billing.rating import (
    ChargeSpec,
    CreditBalance,
    RatingError,
    aggregate,
    apply_discount,
    draw_down_credits,
    group_by_filters,
    match_filters,
    minimum_true_up,
    parse_charge,
    prorate,
    rate,
    rate_events,
    rate_quantity,
)
from revops.money import round_money

# Stripe, "Set up tiered pricing" (https://docs.stripe.com/subscriptions/pricing-models/tiered-pricing):
# tiers 1-5 at 7 USD, 6-10 at 6.5 USD, 11+ at 6 USD.
STRIPE_TIERS = [
    {"up_to": 5, "unit_amount": "7.00"},
    {"up_to": 10, "unit_amount": "6.50"},
    {"up_to": None, "unit_amount": "6.00"},
]


def quantity_line(model, properties, quantity, currency="USD"):
    return rate(parse_charge(model, properties), currency=currency, quantity=quantity)


def event_line(model, properties, amounts, currency="USD"):
    charge = parse_charge(model, properties, field="amount")
    return rate(charge, currency=currency, events=[{"amount": amount} for amount in amounts])


def assert_breakdown_sums(result):
    assert sum((line.amount for line in result.breakdown), D(0)) == result.exact_amount
    assert result.amount == round_money(result.exact_amount, result.currency)


# --- golden cases ----------------------------------------------------------------------------------


def test_stripe_graduated_six_units():
    # Given Stripe's tiers, when 6 units are rated graduated, then 5 × 7.00 + 1 × 6.50 = 41.50.
    # (The stored copy of the page was cut before its graduated table; 41.50 is computed from the
    # page's tiers under the graduated rule it states.)
    result = quantity_line("graduated", {"tiers": STRIPE_TIERS}, 6)
    assert result.amount == D("41.50")
    assert [(line.units, line.unit_amount, line.amount) for line in result.breakdown] == [
        (D(5), D(7), D(35)),
        (D(1), D("6.5"), D("6.5")),
    ]
    assert_breakdown_sums(result)


@pytest.mark.parametrize(
    ("quantity", "expected"),
    # Stripe's volume-based table on the same page: 1 → 7, 5 → 35, 6 → 39, 20 → 120, 25 → 150 USD.
    [(1, "7.00"), (5, "35.00"), (6, "39.00"), (20, "120.00"), (25, "150.00")],
)
def test_stripe_volume_table(quantity, expected):
    assert quantity_line("volume", {"tiers": STRIPE_TIERS}, quantity).amount == D(expected)


def test_lago_volume_65000_api_calls():
    # Lago, Volume (https://docs.getlago.com/guide/plans/charges/charge-models/volume): tiers
    # 0-10,000 at $0.0010, 10,001-50,000 at $0.0008, 50,001-100,000 at $0.0006, 100,001+ at $0.0004,
    # each with a $10 fee; "65,000 API calls would cost 65,000 x $0.0006 + $10 = $49".
    tiers = [
        {"up_to": 10_000, "unit_amount": "0.0010", "flat_amount": 10},
        {"up_to": 50_000, "unit_amount": "0.0008", "flat_amount": 10},
        {"up_to": 100_000, "unit_amount": "0.0006", "flat_amount": 10},
        {"up_to": None, "unit_amount": "0.0004", "flat_amount": 10},
    ]
    result = quantity_line("volume", {"tiers": tiers}, 65_000)
    assert result.amount == D("49.00")
    (line,) = result.breakdown
    assert (line.units, line.unit_amount, line.flat_amount) == (D(65_000), D("0.0006"), D(10))


def test_lago_graduated_api_company():
    # Lago, Graduated (https://docs.getlago.com/guide/plans/charges/charge-models/graduated): "$1 per
    # unit for the first 100 units, then $0.50 per unit for the next 100 calls and finally, $0.10 for
    # any additional unit". The page gives no total; 250 calls = 100 + 50 + 5 = 155.00 is computed
    # here from those tiers under accounting.md §2.
    tiers = [
        {"up_to": 100, "unit_amount": 1},
        {"up_to": 200, "unit_amount": "0.50"},
        {"up_to": None, "unit_amount": "0.10"},
    ]
    result = quantity_line("graduated", {"tiers": tiers}, 250)
    assert [line.amount for line in result.breakdown] == [D(100), D(50), D(5)]
    assert result.amount == D("155.00")


def test_lago_package_201_units():
    # Lago, Package (https://docs.getlago.com/guide/plans/charges/charge-models/package): "$5 per 100
    # units and offer the first 100 units ... 201 units would cost $0 + $5 + $5 = $10".
    result = quantity_line("package", {"package_size": 100, "amount": 5, "free_units": 100}, 201)
    assert result.amount == D("10.00")
    free, packages = result.breakdown
    assert (free.units, free.amount) == (D(100), D(0))
    assert (packages.units, packages.unit_amount, packages.amount) == (D(2), D(5), D(10))


def test_lago_standard_api_calls():
    # Lago, Charges (https://doc.getlago.com/docs/guide/plans/charges): "$0.05 x 1,000 API calls = $50".
    assert quantity_line("standard", {"unit_amount": "0.05"}, 1000).amount == D("50.00")


LAGO_PERCENTAGE = {
    "rate": "1.2",
    "fixed_amount": "0.10",
    "free_units_per_events": 3,
    "free_units_per_total_aggregation": 500,
}


def test_lago_percentage_free_events_then_charge():
    # Lago, Percentage (https://docs.getlago.com/guide/plans/charges/charge-models/percentage): the
    # first 3 events or $500 are free; events $200, $100, $100 are free, and the 4th ($50, running
    # total $450, still under $500) exceeds the event allowance: "$0.10 x 1 event + 1.2% of $50 = $0.70".
    result = event_line("percentage", LAGO_PERCENTAGE, [200, 100, 100, 50])
    assert result.amount == D("0.70")
    assert result.units == D(450)
    free, percent, fixed = result.breakdown
    assert (free.units, free.amount) == (D(400), D(0))
    assert (percent.units, percent.unit_amount, percent.amount) == (D(50), D("0.012"), D("0.6"))
    assert (fixed.units, fixed.amount) == (D(1), D("0.1"))


def test_percentage_event_straddling_the_amount_allowance_pays_on_the_excess_only():
    # Same Lago page: the total-amount allowance is the "amount that is not subject to the charge
    # rate", so the event taking the running total from $450 to $550 pays 1.2% of $50 (the part over
    # $500) plus its $0.10 fixed fee; the next event pays in full. (lago-api's percentage_service.rb
    # does the same: `value -= remaining_free_amount`.)
    properties = {**LAGO_PERCENTAGE, "free_units_per_events": 10}
    result = event_line("percentage", properties, [300, 150, 100, 20])
    # 50 × 1.2% + 0.10 = 0.70; 20 × 1.2% + 0.10 = 0.34
    assert result.exact_amount == D("1.04")
    assert result.breakdown[0].units == D(500)  # free part: 300 + 150 + 50


def test_percentage_event_landing_exactly_on_the_allowance_stays_free():
    # "the first event that exceeds either allowance" (accounting.md §2): reaching $500 is not exceeding it.
    properties = {"rate": 10, "free_units_per_total_aggregation": 500}
    result = event_line("percentage", properties, [400, 100, 30])
    assert result.exact_amount == D(3)  # only the 30 pays: 10% of 30


def test_percentage_without_allowances_charges_every_event():
    result = event_line("percentage", {"rate": "2.5", "fixed_amount": "0.30"}, ["10.00", "20.00"])
    assert result.exact_amount == D("0.75") + D("0.60")
    assert len(result.breakdown) == 2  # rate line + fixed fee line, no allowance line


def test_lago_percentage_per_transaction_min_and_max_clamp_the_whole_fee():
    # Lago product update (https://d376nw0erossg9.cloudfront.net/updates-25.html): "1% on the
    # transaction amount and $0.50 per transaction, with a minimum of $1 and a maximum of $5: a $20
    # transaction will cost $1 ($20 x 1% + $0.50 = $0.70, so the minimum applies); and a $600
    # transaction will cost $5 ($600 x 1% + $0.50 = $6.50, so the maximum applies)".
    properties = {
        "rate": 1,
        "fixed_amount": "0.50",
        "per_transaction_min_amount": 1,
        "per_transaction_max_amount": 5,
    }
    assert event_line("percentage", properties, [20]).amount == D("1.00")
    assert event_line("percentage", properties, [600]).amount == D("5.00")
    result = event_line("percentage", properties, [20, 600, 100])  # 1 + 5 + 1.50
    assert result.amount == D("7.50")
    descriptions = [line.description for line in result.breakdown]
    assert descriptions[-2:] == ["Per-transaction minimum 1 applied", "Per-transaction maximum 5 applied"]
    assert_breakdown_sums(result)


def test_percentage_minimum_does_not_apply_to_free_transactions():
    properties = {"rate": 1, "free_units_per_events": 2, "per_transaction_min_amount": 1}
    assert event_line("percentage", properties, [10, 10]).amount == D("0.00")
    assert event_line("percentage", properties, [10, 10, 10]).amount == D("1.00")


@pytest.mark.parametrize(
    ("amounts", "expected"),
    [([500], "205.00"), ([500, 550], "511.00"), ([500, 550, 4000], "591.00")],
)
def test_lago_graduated_percentage_cumulative(amounts, expected):
    # Lago, Graduated percentage
    # (https://docs.getlago.com/guide/plans/charges/charge-models/graduated-percentage): tiers
    # 0-1,000 at 1% + $200, 1,001-10,000 at 2% + $300, 10,001+ at 3% + $400. Transactions of $500,
    # $550 and $4,000 cost $205.00, $306.00 and $80.00: the period's line is their running total.
    tiers = [
        {"up_to": 1000, "rate": 1, "flat_amount": 200},
        {"up_to": 10_000, "rate": 2, "flat_amount": 300},
        {"up_to": None, "rate": 3, "flat_amount": 400},
    ]
    result = event_line("graduated_percentage", {"tiers": tiers}, amounts)
    assert result.amount == D(expected)
    assert_breakdown_sums(result)


def test_graduated_percentage_with_no_amount_enters_no_tier():
    # lago-api graduated_percentage_service.rb adds a tier's flat amount "unless units.zero?".
    tiers = [{"up_to": None, "rate": 1, "flat_amount": 200}]
    result = event_line("graduated_percentage", {"tiers": tiers}, [])
    assert (result.amount, result.breakdown) == (D("0.00"), ())


def test_lago_dynamic_sum_of_event_amounts():
    # Lago, Dynamic (https://getlago.com/docs/guide/plans/charges/charge-models/dynamic): events of
    # $0.70, $0.55 and $2.20 make one fee; the page's table shows $3.45 (its prose says "$3.435", a
    # typo: the sum is 3.45).
    result = event_line("dynamic", {}, ["0.70", "0.55", "2.20"])
    assert result.amount == D("3.45")
    assert result.units == D(3)  # dynamic counts events


# --- tier edges ------------------------------------------------------------------------------------

FLAT_FEE_TIERS = [
    {"up_to": 10, "unit_amount": 1, "flat_amount": 5},
    {"up_to": 20, "unit_amount": "0.5", "flat_amount": 3},
    {"up_to": None, "unit_amount": "0.25", "flat_amount": 2},
]


def test_graduated_at_zero_bills_the_first_tier_flat_amount():
    result = quantity_line("graduated", {"tiers": FLAT_FEE_TIERS}, 0)
    assert result.amount == D("5.00")
    assert result.breakdown[0].description == "Tier 1 (up to 10)"


def test_volume_at_zero_uses_the_first_tier():
    result = quantity_line("volume", {"tiers": FLAT_FEE_TIERS}, 0)
    assert result.amount == D("5.00")
    assert result.breakdown[0].unit_amount == D(1)


def test_graduated_bills_the_flat_amount_of_every_tier_reached():
    # up_to is inclusive: 10 units stay in tier 1; 11 reach tier 2 (and its flat amount).
    assert quantity_line("graduated", {"tiers": FLAT_FEE_TIERS}, 10).amount == D("15.00")
    assert quantity_line("graduated", {"tiers": FLAT_FEE_TIERS}, 11).amount == D("18.50")
    assert quantity_line("graduated", {"tiers": FLAT_FEE_TIERS}, 21).amount == D("25.25")  # 15 + 8 + 2.25


def test_volume_boundary_is_inclusive():
    assert quantity_line("volume", {"tiers": FLAT_FEE_TIERS}, 10).amount == D("15.00")
    assert quantity_line("volume", {"tiers": FLAT_FEE_TIERS}, 11).amount == D("8.50")


def test_decimal_tier_bounds_and_quantities():
    tiers = [{"up_to": "0.5", "unit_amount": 10}, {"up_to": None, "unit_amount": 1}]
    result = quantity_line("graduated", {"tiers": tiers}, "1.25")
    assert result.exact_amount == D("5.75")


def test_package_bills_a_started_package_in_full():
    properties = {"package_size": 100, "amount": "5"}
    assert quantity_line("package", properties, 0).amount == D("0.00")
    assert quantity_line("package", properties, 100).amount == D("5.00")
    assert quantity_line("package", properties, 101).amount == D("10.00")
    assert quantity_line("package", {**properties, "free_units": 500}, 300).amount == D("0.00")


def test_flat_is_a_multiplier_and_defaults_to_one():
    charge = parse_charge("flat", {"amount": "49.00"})
    assert rate(charge, currency="USD").amount == D("49.00")
    assert rate(charge, currency="USD", quantity=3).amount == D("147.00")


# --- precision and rounding once ---------------------------------------------------------------


def test_token_price_is_exact_then_rounded_once():
    # 1,234,567 tokens at 0.000003 (3.00 per million) = 3.703701 exactly, 3.70 on the line.
    result = quantity_line("standard", {"unit_amount": "0.000003"}, 1_234_567)
    assert result.exact_amount == D("3.703701")
    assert result.amount == D("3.70")


def test_tiny_unit_price_times_huge_quantity_stays_exact():
    result = quantity_line("standard", {"unit_amount": "0.000002"}, 10**12)
    assert result.exact_amount == D(2_000_000)
    assert result.amount == D("2000000.00")


def test_each_line_is_rounded_once_not_per_tier():
    # Four 1-unit tiers at half a cent: rounding each tier would bill 4 × 0.01 = 0.04; the line is
    # round(0.02) = 0.02 (accounting.md §1: round once, at the line).
    tiers = [{"up_to": n, "unit_amount": "0.005"} for n in (1, 2, 3)] + [
        {"up_to": None, "unit_amount": "0.005"}
    ]
    result = quantity_line("graduated", {"tiers": tiers}, 4)
    per_tier = sum(round_money(line.amount, "USD") for line in result.breakdown)
    assert result.exact_amount == D("0.02")
    assert result.amount == round_money(result.exact_amount, "USD") == D("0.02")
    assert per_tier == D("0.04") != result.amount


@pytest.mark.parametrize(
    ("currency", "expected"), [("JPY", D(1235)), ("KWD", D("1234.568")), ("usd", D("1234.57"))]
)
def test_rounds_to_the_currency_minor_unit_half_up(currency, expected):
    result = quantity_line("standard", {"unit_amount": "0.0012345675"}, 1_000_000, currency=currency)
    assert result.amount == expected
    assert result.currency == currency.upper()


def test_breakdown_shows_normalized_exact_figures():
    result = quantity_line("standard", {"unit_amount": "0.500000"}, "3.000")
    (line,) = result.breakdown
    assert (str(line.units), str(line.unit_amount), str(line.amount)) == ("3", "0.5", "1.5")


def test_more_than_fifty_significant_digits_is_refused_not_rounded():
    with pytest.raises(RatingError) as exc:
        quantity_line("standard", {"unit_amount": "0." + "1" * 30}, "1" * 25 + ".5")
    assert exc.value.errors[0].field == "quantity"


# --- input errors ------------------------------------------------------------------------------


def test_rate_refuses_the_wrong_input_kind():
    graduated = parse_charge("graduated", {"tiers": STRIPE_TIERS})
    percentage = parse_charge("percentage", {"rate": 1}, field="amount")
    cases = [
        (lambda: rate(graduated, currency="USD", events=[]), "events"),
        (lambda: rate(graduated, currency="USD"), "quantity"),
        (lambda: rate(percentage, currency="USD", quantity=1), "quantity"),
        (lambda: rate(percentage, currency="USD"), "events"),
        (lambda: rate(graduated, currency="USD", quantity=1, events=[]), "events"),
        (lambda: rate_quantity(percentage, 1, currency="USD"), "quantity"),
        (lambda: rate_events(graduated, [], currency="USD"), "events"),
    ]
    for call, field in cases:
        with pytest.raises(RatingError) as exc:
            call()
        assert [e.field for e in exc.value.errors] == [field]


def test_bad_event_amounts_are_all_reported_with_their_paths():
    charge = parse_charge("dynamic", {}, field="price")
    events = [{"price": "1.00"}, {}, {"price": "abc"}, {"price": "-2"}, {"price": 0.1}, "oops"]
    with pytest.raises(RatingError) as exc:
        rate_events(charge, events, currency="USD")
    assert [e.field for e in exc.value.errors] == [
        "events[1].price",
        "events[2].price",
        "events[3].price",
        "events[4].price",
        "events[5]",
    ]


def test_event_models_need_the_amount_field():
    with pytest.raises(RatingError) as exc:
        rate(parse_charge("dynamic", {}), currency="USD", events=[{"amount": 1}])
    assert exc.value.errors[0].field == "field"


@pytest.mark.parametrize("quantity", ["-1", "abc", 0.1, None, True])
def test_bad_quantities_are_refused(quantity):
    with pytest.raises(RatingError) as exc:
        rate_quantity(parse_charge("standard", {"unit_amount": 1}), quantity, currency="USD")
    assert exc.value.errors[0].field == "quantity"


def test_unknown_currency_is_refused():
    with pytest.raises(RatingError) as exc:
        quantity_line("standard", {"unit_amount": 1}, 1, currency="XYZ")
    assert exc.value.errors[0].field == "currency"


def test_a_hand_built_spec_is_validated_before_rating():
    with pytest.raises(RatingError) as exc:
        rate(ChargeSpec("standard", {"unit_amount": "-1"}), currency="USD", quantity=1)
    assert exc.value.errors[0].field == "properties.unit_amount"


# --- meter aggregation and filters -------------------------------------------------------------

T0 = datetime(2025, 3, 16, tzinfo=UTC)


def event(properties, *, at=T0):
    return {"timestamp": at, "properties": properties}


@pytest.mark.parametrize(
    ("aggregation", "field", "expected"),
    # Lago, Aggregation examples
    # (https://getlago.com/docs/guide/billable-metrics/aggregation-types/aggregation-examples): two
    # events (pageviews 10 and 20, the same tracked_user_id) give COUNT 2, SUM 30, MAX 20, UNIQUE 1.
    [("count", None, 2), ("sum", "pageviews", 30), ("max", "pageviews", 20), ("unique_count", "user", 1)],
)
def test_lago_aggregation_examples(aggregation, field, expected):
    events = [
        event({"user": "1234-5678-9098-7654", "pageviews": 10}),
        event({"user": "1234-5678-9098-7654", "pageviews": 20}, at=T0 + timedelta(days=1)),
    ]
    assert aggregate(aggregation, events, field=field) == D(expected)


def test_latest_is_the_value_of_the_most_recent_event():
    # Lago, latest aggregation (https://getlago.com/changelog/latest-aggregation-type): events of 5,
    # 7 and 6 GB give 6, "the last value received". Here arrival order differs from timestamps.
    events = [
        event({"gb": 5}, at=T0),
        event({"gb": 6}, at=T0 + timedelta(hours=2)),
        event({"gb": 7}, at=T0 + timedelta(hours=1)),
    ]
    assert aggregate("latest", events, field="gb") == D(6)
    # Offsets are honoured: 12:00+02:00 is 10:00 UTC, earlier than 11:00 UTC.
    plus_two = timezone(timedelta(hours=2))
    events = [
        event({"gb": 1}, at=datetime(2025, 3, 16, 11, tzinfo=UTC)),
        event({"gb": 2}, at=datetime(2025, 3, 16, 12, tzinfo=plus_two)),
    ]
    assert aggregate("latest", events, field="gb") == D(1)


@pytest.mark.parametrize("aggregation", ["count", "sum", "max", "unique_count", "latest"])
def test_empty_aggregates_to_zero(aggregation):
    assert aggregate(aggregation, [], field="x") == D(0)


def test_missing_properties_are_null_and_ignored():
    events = [event({"x": "2.5"}), event({}), event({"x": None}), event({"x": 4})]
    assert aggregate("count", events, field="x") == D(4)
    assert aggregate("sum", events, field="x") == D("6.5")
    assert aggregate("max", events, field="x") == D(4)
    assert aggregate("unique_count", events, field="x") == D(2)


def test_unique_count_compares_values_as_sql_text():
    events = [event({"x": 1}), event({"x": "1"}), event({"x": True}), event({"x": "true"}), event({"x": 2})]
    assert aggregate("unique_count", events, field="x") == D(3)


def test_aggregation_errors_name_the_field():
    with pytest.raises(RatingError) as exc:
        aggregate("avg", [], field="x")
    assert exc.value.errors[0].field == "aggregation"
    with pytest.raises(RatingError) as exc:
        aggregate("sum", [], field=None)
    assert exc.value.errors[0].field == "field"
    with pytest.raises(RatingError) as exc:
        aggregate("sum", [event({"x": 1}), event({"x": "n/a"})], field="x")
    assert exc.value.errors[0].field == "events[1].properties.x"
    with pytest.raises(RatingError) as exc:
        aggregate("latest", [event({"x": 1}, at=datetime(2025, 1, 1))], field="x")
    assert exc.value.errors[0].field == "events[0].timestamp"


def test_match_filters_needs_every_key_equal():
    properties = {"model": "gpt", "token_type": "input", "cached": True}
    assert match_filters({"model": "gpt", "token_type": "input"}, properties)
    assert not match_filters({"model": "gpt", "token_type": "output"}, properties)
    assert not match_filters({"region": "eu"}, properties)
    assert not match_filters({"cached": 1}, properties)  # JSON true is not 1


def test_group_by_filters_assigns_each_event_to_the_first_matching_filter():
    filters = [
        {"match": {"model": "gpt", "token_type": "input"}, "properties": {"unit_amount": "0.000002"}},
        {"match": {"model": "gpt"}, "properties": {"unit_amount": "0.000008"}},
        {"match": {"model": "claude"}, "properties": {"unit_amount": "0.000003"}},
    ]
    events = [
        event({"model": "gpt", "token_type": "input"}),
        event({"model": "gpt", "token_type": "output"}),
        event({"model": "other"}),
        event({"model": "gpt", "token_type": "input"}),
    ]
    groups = group_by_filters(filters, events)
    assert [(key, len(members)) for key, members in groups] == [(0, 2), (1, 1), (2, 0), (None, 1)]
    assert sum(len(members) for _key, members in groups) == len(events)  # each event rated once


def test_group_by_filters_on_plain_property_objects_and_bad_filters():
    groups = group_by_filters([{"match": {"k": "a"}}], [{"k": "a"}, {"k": "b"}], properties_of=lambda e: e)
    assert groups == [(0, [{"k": "a"}]), (None, [{"k": "b"}])]
    with pytest.raises(RatingError) as exc:
        group_by_filters([{"match": {}}, {"properties": {}}], [])
    assert [e.field for e in exc.value.errors] == ["filters[0].match", "filters[1].match"]


# --- proration, minimums, discounts, credits ---------------------------------------------------


def test_prorate_by_actual_days_is_unrounded():
    # accounting.md §3: "50.00 per month from 10 August → 50 × 22/31 = 35.48".
    exact = prorate(D("50.00"), 22, 31)
    assert exact != round_money(exact, "USD")
    assert round_money(exact, "USD") == D("35.48")
    assert prorate(D("50.00"), 31, 31) == D(50)


@pytest.mark.parametrize(
    ("used", "total", "field"),
    [(32, 31, "days_used"), (-1, 31, "days_used"), (1, 0, "days_in_period"), (1.5, 31, "days_used")],
)
def test_prorate_refuses_impossible_days(used, total, field):
    with pytest.raises(RatingError) as exc:
        prorate(D(10), used, total)
    assert exc.value.errors[0].field == field


def test_minimum_true_up_makes_up_the_shortfall_only():
    assert minimum_true_up(D("100.00"), D("64.10")) == D("35.90")
    assert minimum_true_up(D("100.00"), D("150.00")) == D(0)


def test_percent_discount_is_rounded_once():
    # 15% of 33.33 = 4.9995 → 5.00 (ROUND_HALF_UP)
    assert apply_discount(D("33.33"), kind="percent", value=D(15), currency="USD") == D("5.00")


def test_discount_never_exceeds_the_subtotal():
    assert apply_discount(D("20.00"), kind="fixed", value=D("25"), currency="USD") == D("20.00")
    assert apply_discount(D("20.00"), kind="percent", value=D(100), currency="USD") == D("20.00")
    assert apply_discount(D("0.004"), kind="percent", value=D(100), currency="USD") == D("0.00")
    assert apply_discount(D("-5.00"), kind="fixed", value=D(1), currency="USD") == D(0)


@pytest.mark.parametrize(
    ("kind", "value", "field"), [("bogus", 1, "kind"), ("percent", 101, "value"), ("fixed", -1, "value")]
)
def test_discount_input_errors(kind, value, field):
    with pytest.raises(RatingError) as exc:
        apply_discount(D(10), kind=kind, value=value, currency="USD")
    assert exc.value.errors[0].field == field


def test_credits_are_drawn_oldest_expiry_first_then_oldest_grant():
    credits = [
        CreditBalance("never", D("100.00"), None, date(2024, 1, 1)),
        CreditBalance("late", D("30.00"), date(2025, 12, 31), date(2024, 6, 1)),
        CreditBalance("soon-new", D("10.00"), date(2025, 6, 30), date(2025, 2, 1)),
        CreditBalance("soon-old", D("10.00"), date(2025, 6, 30), date(2025, 1, 1)),
    ]
    draws, due = draw_down_credits(D("65.00"), credits, currency="USD")
    assert draws == [
        ("soon-old", D("10.00")),
        ("soon-new", D("10.00")),
        ("late", D("30.00")),
        ("never", D("15.00")),
    ]
    assert due == D("0.00")


def test_credits_never_go_below_zero_and_leave_the_rest_due():
    draws, due = draw_down_credits(
        D("50.00"), [CreditBalance(1, D("20.00"), None, date(2025, 1, 1))], currency="USD"
    )
    assert (draws, due) == ([(1, D("20.00"))], D("30.00"))
    assert draw_down_credits(
        D("0.00"), [CreditBalance(1, D("20.00"), None, date(2025, 1, 1))], currency="USD"
    ) == ([], D("0.00"))


def test_credit_inputs_must_be_document_amounts():
    with pytest.raises(RatingError) as exc:
        draw_down_credits(D("10.005"), [], currency="USD")
    assert exc.value.errors[0].field == "amount_due"
    with pytest.raises(RatingError) as exc:
        draw_down_credits(D("10.00"), [CreditBalance(1, D("-1.00"), None, date(2025, 1, 1))], currency="USD")
    assert exc.value.errors[0].field == "credits[0].remaining"
