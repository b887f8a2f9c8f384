"""Recognition schedules and contract modifications (accounting.md §5)."""

from datetime import date
from decimal import Decimal

import pytest

from revrec.recognition import (
    Milestone,
    RecognitionError,
    ScheduleLine,
    cumulative_catch_up,
    milestone_schedule,
    parse_period,
    prospective_reallocation,
    schedule,
    usage_schedule,
)

D = Decimal


def periods(lines):
    return [(line.period, line.amount) for line in lines]


def amounts(lines):
    return [line.amount for line in lines]


# -- ratable_daily ---------------------------------------------------------------------------------


def test_365_day_contract_earns_one_per_day():
    # accounting.md §5 golden: 365.00 from 1 Jan to next 1 Jan → Jan 31.00, Feb 28.00, Mar 31.00 …
    lines = schedule(
        currency="USD",
        amount=D("365.00"),
        method="ratable_daily",
        start=date(2025, 1, 1),
        end=date(2026, 1, 1),
    )
    assert [line.period for line in lines] == [f"2025-{m:02d}" for m in range(1, 13)]
    assert amounts(lines) == [
        D(x)
        for x in (
            "31.00",
            "28.00",
            "31.00",
            "30.00",
            "31.00",
            "30.00",
            "31.00",
            "31.00",
            "30.00",
            "31.00",
            "30.00",
            "31.00",
        )
    ]
    assert sum(amounts(lines)) == D("365.00")


def test_leap_year_february_earns_29_days():
    lines = schedule(
        currency="USD",
        amount=D("366.00"),
        method="ratable_daily",
        start=date(2024, 1, 1),
        end=date(2025, 1, 1),
    )
    assert lines[1] == ScheduleLine("2024-02", date(2024, 2, 1), date(2024, 3, 1), D("29.00"))


def test_stripe_daily_amortization_example():
    # docs.stripe.com/revenue-recognition/revenue-settings/examples ("daily" granularity): 120 USD over
    # 15 June – 13 October earns 16 / 31 / 31 / 30 / 12.
    lines = schedule(
        currency="USD",
        amount=D("120.00"),
        method="ratable_daily",
        start=date(2026, 6, 15),
        end=date(2026, 10, 13),
    )
    assert periods(lines) == [
        ("2026-06", D("16.00")),
        ("2026-07", D("31.00")),
        ("2026-08", D("31.00")),
        ("2026-09", D("30.00")),
        ("2026-10", D("12.00")),
    ]
    assert (lines[0].start, lines[0].end, lines[-1].start, lines[-1].end) == (
        date(2026, 6, 15),
        date(2026, 7, 1),
        date(2026, 10, 1),
        date(2026, 10, 13),
    )


def test_cumulative_rounding_keeps_the_total_exact():
    # 100.00 over 90 days: per-month rounding would give 34.44 + 31.11 + 34.44 = 99.99; cumulative
    # rounding cuts off at round(100 × 31/90) = 34.44 and round(100 × 59/90) = 65.56.
    lines = schedule(
        currency="USD",
        amount=D("100.00"),
        method="ratable_daily",
        start=date(2025, 1, 1),
        end=date(2025, 4, 1),
    )
    assert amounts(lines) == [D("34.44"), D("31.12"), D("34.44")]


def test_jpy_and_kwd_schedules_use_their_minor_units():
    jpy = schedule(
        currency="JPY", amount=D(1000), method="ratable_daily", start=date(2025, 1, 1), end=date(2025, 4, 1)
    )
    assert amounts(jpy) == [D(344), D(312), D(344)]
    kwd = schedule(
        currency="KWD",
        amount=D("1.000"),
        method="ratable_daily",
        start=date(2025, 1, 1),
        end=date(2025, 4, 1),
    )
    assert [str(a) for a in amounts(kwd)] == ["0.344", "0.312", "0.344"]


# -- ratable_monthly -------------------------------------------------------------------------------


def test_whole_months_earn_the_same_share():
    lines = schedule(
        currency="USD",
        amount=D("1200.00"),
        method="ratable_monthly",
        start=date(2025, 1, 1),
        end=date(2026, 1, 1),
    )
    assert set(amounts(lines)) == {D("100.00")}


def test_partial_first_and_last_months_earn_by_their_days():
    # 15 Jan – 15 Apr: 17/31 of January, February, March, 14/30 of April = 1402/465 month units
    lines = schedule(
        currency="USD",
        amount=D("1000.00"),
        method="ratable_monthly",
        start=date(2025, 1, 15),
        end=date(2025, 4, 15),
    )
    assert periods(lines) == [
        ("2025-01", D("181.88")),  # round(1000 × 255/1402)
        ("2025-02", D("331.67")),  # round(1000 × 720/1402) − 181.88
        ("2025-03", D("331.67")),
        ("2025-04", D("154.78")),
    ]
    assert sum(amounts(lines)) == D("1000.00")


# -- point in time, milestone, usage ---------------------------------------------------------------


def test_point_in_time_defaults_to_the_start():
    lines = schedule(
        currency="USD",
        amount=D("500.00"),
        method="point_in_time",
        start=date(2025, 3, 31),
        end=date(2025, 4, 1),
    )
    assert lines == [ScheduleLine("2025-03", date(2025, 3, 31), date(2025, 4, 1), D("500.00"))]


def test_point_in_time_on_delivery():
    lines = schedule(
        currency="USD",
        amount=D("500.00"),
        method="point_in_time",
        start=date(2025, 3, 1),
        end=date(2025, 6, 1),
        satisfied_on=date(2025, 5, 2),
    )
    assert periods(lines) == [("2025-05", D("500.00"))]


MILESTONES = [
    Milestone("design", D("300.00"), date(2025, 2, 10)),
    Milestone("build", D("500.00"), date(2025, 2, 25)),
    Milestone("acceptance", D("200.00")),
]


def test_met_milestones_are_scheduled_unmet_stay_unscheduled():
    result = milestone_schedule(currency="USD", amount=D("1000.00"), milestones=MILESTONES)
    assert result.lines == (ScheduleLine("2025-02", date(2025, 2, 10), date(2025, 2, 26), D("800.00")),)
    assert result.unscheduled == D("200.00")
    assert result.pending == ("acceptance",)
    lines = schedule(
        currency="USD",
        amount=D("1000.00"),
        method="milestone",
        start=date(2025, 1, 1),
        end=date(2025, 12, 1),
        milestones=MILESTONES,
    )
    assert lines == list(result.lines)


def test_milestones_must_sum_to_the_amount():
    with pytest.raises(RecognitionError) as exc:
        milestone_schedule(currency="USD", amount=D("900.00"), milestones=MILESTONES)
    assert exc.value.field == "milestones"


def test_duplicate_or_negative_milestones_are_refused():
    with pytest.raises(RecognitionError) as exc:
        milestone_schedule(
            currency="USD", amount=D(0), milestones=[Milestone("a", D(1)), Milestone("a", D(-1))]
        )
    assert exc.value.field == "milestones[1].key"
    with pytest.raises(RecognitionError) as exc:
        milestone_schedule(currency="USD", amount=D(-1), milestones=[Milestone("a", D(-1))])
    assert exc.value.field == "milestones[0].amount"


def test_usage_follows_rated_usage_rounded_per_period():
    usage = {"2025-03": D("12.345"), "2025-01": D("0.004"), "2025-02": D("7")}
    lines = usage_schedule(currency="USD", usage=usage)
    assert periods(lines) == [("2025-01", D("0.00")), ("2025-02", D("7.00")), ("2025-03", D("12.35"))]
    assert (lines[0].start, lines[0].end) == (date(2025, 1, 1), date(2025, 2, 1))
    via_schedule = schedule(
        currency="USD", amount=D(0), method="usage", start=date(2025, 1, 1), end=date(2025, 4, 1), usage=usage
    )
    assert via_schedule == lines


def test_usage_needs_rated_amounts_and_valid_periods():
    with pytest.raises(RecognitionError) as exc:
        schedule(currency="USD", amount=D(0), method="usage", start=date(2025, 1, 1), end=date(2025, 4, 1))
    assert exc.value.field == "usage"
    with pytest.raises(RecognitionError) as exc:
        usage_schedule(currency="USD", usage={"2025-13": D(1)})
    assert exc.value.field == "usage[2025-13]"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"method": "straight_line"}, "method"),
        ({"end": date(2025, 1, 1)}, "end"),
        ({"amount": D("1.001")}, "amount"),
        ({"currency": "XXQ"}, "currency"),
    ],
)
def test_bad_schedule_inputs_name_the_field(kwargs, field):
    args = {
        "currency": "USD",
        "amount": D("10.00"),
        "method": "ratable_daily",
        "start": date(2025, 1, 1),
        "end": date(2025, 2, 1),
    }
    with pytest.raises(RecognitionError) as exc:
        schedule(**(args | kwargs))
    assert exc.value.field == field


def test_parse_period():
    assert parse_period("2025-02") == date(2025, 2, 1)
    with pytest.raises(RecognitionError):
        parse_period("2025-2")


# -- contract modifications ------------------------------------------------------------------------

YEAR = {"currency": "USD", "method": "ratable_monthly", "start": date(2025, 1, 1)}
EXISTING = schedule(amount=D("1200.00"), end=date(2026, 1, 1), **YEAR)  # 100.00 a month


def test_cumulative_catch_up_books_the_difference_in_the_modification_period():
    # given 1,200 over 2025 recognized through March (300), when the price rises to 1,800 for the year
    result = cumulative_catch_up(
        new_amount=D("1800.00"),
        new_end=date(2026, 1, 1),
        existing=EXISTING,
        recognized_through="2025-03",
        **YEAR,
    )
    # then January–March stay as recognized and April carries its own 150 plus the 150 catch-up
    assert result.treatment == "cumulative_catch_up"
    assert (result.modification_period, result.recognized_to_date, result.adjustment) == (
        "2025-04",
        D("300.00"),
        D("150.00"),
    )
    assert amounts(result.lines)[:4] == [D("100.00")] * 3 + [D("300.00")]
    assert amounts(result.lines)[4:] == [D("150.00")] * 8
    assert sum(amounts(result.lines)) == D("1800.00")


def test_cumulative_catch_up_on_a_reduction_can_reverse():
    result = cumulative_catch_up(
        new_amount=D("600.00"),
        new_end=date(2026, 1, 1),
        existing=EXISTING,
        recognized_through="2025-06",
        **YEAR,
    )
    assert result.adjustment == D("-300.00")
    assert amounts(result.lines)[6] == D("-250.00")  # July: 50.00 − 300.00
    assert sum(amounts(result.lines)) == D("600.00")


def test_cumulative_catch_up_after_the_new_end_books_everything_in_the_open_period():
    result = cumulative_catch_up(
        new_amount=D("1000.00"),
        new_end=date(2025, 3, 1),
        existing=EXISTING,
        recognized_through="2025-06",
        **YEAR,
    )
    assert result.lines[-1] == ScheduleLine("2025-07", date(2025, 7, 1), date(2025, 8, 1), D("400.00"))
    assert sum(amounts(result.lines)) == D("1000.00")


def test_prospective_spreads_the_remainder_over_the_remaining_months():
    # given 300 recognized through March, when the contract is extended to 30 June 2026 at 2,100
    result = prospective_reallocation(
        new_amount=D("2100.00"),
        new_end=date(2026, 7, 1),
        existing=EXISTING,
        recognized_through="2025-03",
        **YEAR,
    )
    assert result.treatment == "prospective" and result.adjustment == D("0.00")
    assert amounts(result.lines)[:3] == [D("100.00")] * 3
    remaining = result.lines[3:]
    assert remaining[0].period == "2025-04" and remaining[-1].period == "2026-06"
    assert set(amounts(remaining)) == {D("120.00")}  # 1,800 over 15 months
    assert sum(amounts(result.lines)) == D("2100.00")


def test_prospective_uses_cumulative_rounding():
    result = prospective_reallocation(
        new_amount=D("1800.00"),
        new_end=date(2026, 1, 1),
        existing=EXISTING,
        recognized_through="2025-03",
        **YEAR,
    )
    assert amounts(result.lines)[3:6] == [D("166.67"), D("166.66"), D("166.67")]
    assert sum(amounts(result.lines)) == D("1800.00")


def test_prospective_without_remaining_service_is_refused():
    with pytest.raises(RecognitionError) as exc:
        prospective_reallocation(
            new_amount=D("1300.00"),
            new_end=date(2025, 4, 1),
            existing=EXISTING,
            recognized_through="2025-03",
            **YEAR,
        )
    assert exc.value.field == "new_end"


def test_modifications_only_re_spread_ratable_schedules():
    with pytest.raises(RecognitionError) as exc:
        cumulative_catch_up(
            currency="USD",
            method="milestone",
            start=date(2025, 1, 1),
            new_end=date(2026, 1, 1),
            new_amount=D(1),
            existing=EXISTING,
            recognized_through="2025-03",
        )
    assert exc.value.field == "method"
