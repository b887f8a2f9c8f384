"""Billing periods and proration (accounting.md §3): golden cases, given/when/then."""

from datetime import date
from decimal import Decimal

import pytest

from billing.periods import (
    Period,
    PeriodError,
    add_months,
    billing_periods,
    change_lines,
    period_charge,
    period_containing,
    prorate,
)

D = Decimal


def spans(periods):
    return [(p.start.isoformat(), p.end.isoformat()) for p in periods]


# -- periods ---------------------------------------------------------------------------------------


def test_period_days_and_half_open():
    period = Period(date(2024, 8, 1), date(2024, 9, 1))
    assert period.days == 31
    assert period.contains(date(2024, 8, 31))
    assert not period.contains(date(2024, 9, 1))


def test_period_must_end_after_start():
    with pytest.raises(PeriodError) as exc:
        Period(date(2024, 8, 1), date(2024, 8, 1))
    assert exc.value.field == "end"


def test_calendar_month_first_period_clipped_from_10_august():
    # given a monthly calendar subscription starting 10 August, when we list the periods to 1 October
    periods = billing_periods(
        start=date(2024, 8, 10), end=None, interval="month", anchor="calendar", until=date(2024, 10, 1)
    )
    # then the first one is clipped to the 10th and the next ones start on the 1st
    assert spans(periods) == [("2024-08-10", "2024-09-01"), ("2024-09-01", "2024-10-01")]


def test_calendar_quarters_start_jan_apr_jul_oct():
    periods = billing_periods(
        start=date(2024, 2, 15),
        end=date(2024, 11, 20),
        interval="quarter",
        anchor="calendar",
        until=date(2030, 1, 1),
    )
    assert spans(periods) == [
        ("2024-02-15", "2024-04-01"),
        ("2024-04-01", "2024-07-01"),
        ("2024-07-01", "2024-10-01"),
        ("2024-10-01", "2024-11-20"),
    ]


def test_calendar_years_start_on_1_january_and_clip_to_end():
    periods = billing_periods(
        start=date(2024, 3, 10),
        end=date(2026, 6, 1),
        interval="year",
        anchor="calendar",
        until=date(2030, 1, 1),
    )
    assert spans(periods) == [
        ("2024-03-10", "2025-01-01"),
        ("2025-01-01", "2026-01-01"),
        ("2026-01-01", "2026-06-01"),
    ]


def test_anniversary_from_31_january_across_a_leap_february_never_drifts():
    # given a start on 31 January 2024 (leap year)
    periods = billing_periods(
        start=date(2024, 1, 31), end=None, interval="month", anchor="anniversary", until=date(2024, 7, 1)
    )
    # then February ends on the 29th and every later boundary comes back to the original day 31
    assert spans(periods) == [
        ("2024-01-31", "2024-02-29"),
        ("2024-02-29", "2024-03-31"),
        ("2024-03-31", "2024-04-30"),
        ("2024-04-30", "2024-05-31"),
        ("2024-05-31", "2024-06-30"),
        ("2024-06-30", "2024-07-31"),
    ]


def test_anniversary_from_31_january_in_a_common_year_uses_28_february():
    periods = billing_periods(
        start=date(2023, 1, 31), end=None, interval="month", anchor="anniversary", until=date(2023, 3, 1)
    )
    assert spans(periods) == [("2023-01-31", "2023-02-28"), ("2023-02-28", "2023-03-31")]


def test_anniversary_quarters_from_30_november():
    periods = billing_periods(
        start=date(2024, 11, 30), end=None, interval="quarter", anchor="anniversary", until=date(2025, 6, 1)
    )
    assert spans(periods) == [
        ("2024-11-30", "2025-02-28"),
        ("2025-02-28", "2025-05-30"),
        ("2025-05-30", "2025-08-30"),
    ]


def test_anniversary_years_from_29_february():
    periods = billing_periods(
        start=date(2024, 2, 29), end=None, interval="year", anchor="anniversary", until=date(2028, 3, 1)
    )
    assert [p.start.isoformat() for p in periods] == [
        "2024-02-29",
        "2025-02-28",
        "2026-02-28",
        "2027-02-28",
        "2028-02-29",
    ]


def test_only_periods_starting_before_until_and_end():
    kwargs = {"start": date(2024, 1, 15), "interval": "month", "anchor": "anniversary"}
    assert billing_periods(end=None, until=date(2024, 1, 15), **kwargs) == []
    assert spans(billing_periods(end=None, until=date(2024, 1, 16), **kwargs)) == [
        ("2024-01-15", "2024-02-15")
    ]
    assert spans(billing_periods(end=date(2024, 2, 1), until=date(2025, 1, 1), **kwargs)) == [
        ("2024-01-15", "2024-02-01")
    ]


def test_period_containing_full_unclipped_period():
    anchor_date = date(2024, 1, 31)
    assert period_containing(
        date(2024, 3, 15), anchor_date=anchor_date, interval="month", anchor="anniversary"
    ) == (Period(date(2024, 2, 29), date(2024, 3, 31)))
    # a day before the anchor still has a period (anchors extend backwards)
    assert period_containing(
        date(2023, 12, 31), anchor_date=anchor_date, interval="month", anchor="anniversary"
    ) == (Period(date(2023, 12, 31), date(2024, 1, 31)))
    assert period_containing(
        date(2024, 8, 10), anchor_date=anchor_date, interval="quarter", anchor="calendar"
    ) == (Period(date(2024, 7, 1), date(2024, 10, 1)))


def test_add_months_clamps_to_month_end():
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 1, 31), 13) == date(2025, 2, 28)
    assert add_months(date(2024, 3, 31), -1) == date(2024, 2, 29)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"interval": "week", "anchor": "calendar"}, "interval"),
        ({"interval": "month", "anchor": "fiscal"}, "anchor"),
        ({"interval": "month", "anchor": "calendar", "end": date(2024, 1, 1)}, "end"),
    ],
)
def test_bad_period_inputs_name_the_field(kwargs, field):
    args = {"start": date(2024, 1, 1), "end": None, "until": date(2025, 1, 1)} | kwargs
    with pytest.raises(PeriodError) as exc:
        billing_periods(**args)
    assert exc.value.field == field


# -- proration -------------------------------------------------------------------------------------


def test_accounting_md_example_50_per_month_from_10_august():
    # accounting.md §3: 50.00 per month from 10 August → 50 × 22/31 = 35.48
    first = billing_periods(
        start=date(2024, 8, 10), end=None, interval="month", anchor="calendar", until=date(2024, 9, 1)
    )[0]
    full = period_containing(
        date(2024, 8, 10), anchor_date=date(2024, 8, 10), interval="month", anchor="calendar"
    )
    line = period_charge(D("50.00"), service=first, full=full, currency="USD")
    assert line.amount == D("35.48")
    assert line.exact == prorate(D("50.00"), used=first, full=full)
    assert line.exact != line.amount  # the exact value is kept unrounded next to the line amount
    assert str(line.exact).startswith("35.4838709677419354838709677419354838")


def test_prorate_is_unrounded_and_whole_period_is_identity():
    full = Period(date(2024, 2, 1), date(2024, 3, 1))
    assert prorate(D("0.000002"), used=full, full=full) == D("0.000002")
    assert prorate(D("29"), used=Period(date(2024, 2, 1), date(2024, 2, 2)), full=full) == 1


def test_prorate_refuses_a_used_period_outside_the_full_period():
    with pytest.raises(PeriodError):
        prorate(
            D("10"),
            used=Period(date(2024, 1, 31), date(2024, 2, 5)),
            full=Period(date(2024, 2, 1), date(2024, 3, 1)),
        )


def test_upgrade_halfway_through_april_credits_old_and_charges_new():
    # given 10.00/month upgraded to 20.00/month effective 16 April (15 of 30 days left)
    april = Period(date(2025, 4, 1), date(2025, 5, 1))
    lines = change_lines(
        old_amount=D("10.00"),
        new_amount=D("20.00"),
        effective=date(2025, 4, 16),
        period=april,
        currency="USD",
    )
    # then two lines: the unused old price is credited, the remaining new price charged
    assert [line.amount for line in lines] == [D("-5.00"), D("10.00")]
    assert sum(line.amount for line in lines) == D("5.00")
    assert all(line.service == Period(date(2025, 4, 16), date(2025, 5, 1)) for line in lines)
    assert "old price" in lines[0].description and "new price" in lines[1].description


def test_downgrade_nets_to_a_credit():
    april = Period(date(2025, 4, 1), date(2025, 5, 1))
    lines = change_lines(
        old_amount=D("20.00"),
        new_amount=D("10.00"),
        effective=date(2025, 4, 16),
        period=april,
        currency="USD",
    )
    assert [line.amount for line in lines] == [D("-10.00"), D("5.00")]
    assert sum(line.amount for line in lines) == D("-5.00")


def test_change_lines_are_each_rounded_once():
    # 9.99 → 19.99 with 22 of 31 August days left: each line rounds its own exact value
    august = Period(date(2024, 8, 1), date(2024, 9, 1))
    credit, charge = change_lines(
        old_amount=D("9.99"),
        new_amount=D("19.99"),
        effective=date(2024, 8, 10),
        period=august,
        currency="USD",
    )
    assert credit.amount == D("-7.09")  # -9.99 × 22/31 = -7.0896…
    assert charge.amount == D("14.19")  # 19.99 × 22/31 = 14.1864…
    assert credit.exact + charge.exact == D("10.00") * 22 / 31


def test_quantity_change_in_jpy_rounds_to_whole_yen():
    june = Period(date(2025, 6, 1), date(2025, 7, 1))
    lines = change_lines(
        old_amount=D("1000"), new_amount=D("3000"), effective=date(2025, 6, 21), period=june, currency="JPY"
    )
    assert [line.amount for line in lines] == [D("-333"), D("1000")]


def test_change_effective_outside_the_period_is_refused():
    april = Period(date(2025, 4, 1), date(2025, 5, 1))
    with pytest.raises(PeriodError) as exc:
        change_lines(
            old_amount=D("1"), new_amount=D("2"), effective=date(2025, 5, 1), period=april, currency="USD"
        )
    assert exc.value.field == "effective"


def test_unknown_currency_is_refused():
    april = Period(date(2025, 4, 1), date(2025, 5, 1))
    with pytest.raises(PeriodError) as exc:
        period_charge(D("1"), service=april, full=april, currency="XXQ")
    assert exc.value.field == "currency"
