"""The presentation kernel (revops/formatting.py) and its template filters: money at the currency's
minor unit, unit prices at full precision, quantities, dates, and the export cells."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.template import Context, Template

from revops import formatting as fmt


@pytest.mark.parametrize(
    ("value", "currency", "shown"),
    [
        (Decimal("1234567.5"), "USD", "1,234,567.50"),
        (Decimal("-0.004"), "USD", "0.00"),  # a zero is never signed
        (Decimal("-0.005"), "USD", "-0.01"),
        (Decimal("1200"), "JPY", "1,200"),
        (Decimal("-0.4"), "JPY", "0"),
        (Decimal("1.2345"), "KWD", "1.235"),
        (Decimal("1.5"), "BHD", "1.500"),
        ("127.5", "EUR", "127.50"),  # the API's decimal strings
    ],
)
def test_amount_is_rounded_half_up_to_the_minor_unit(value, currency, shown):
    assert fmt.amount(value, currency) == shown


def test_money_carries_the_code_and_a_dash_for_nothing():
    assert fmt.money(Decimal("16500"), "JPY") == "16,500 JPY"
    assert fmt.money(Decimal("495"), "kwd") == "495.000 KWD"
    assert fmt.money(Decimal("-1234.5"), "USD") == "-1,234.50 USD"
    assert fmt.money(Decimal("-1234.5"), "USD", minus=fmt.MINUS) == "\u22121,234.50 USD"
    assert fmt.money(None, "USD") == "—" and fmt.money("", "USD") == "—"
    assert fmt.money("n/a", "USD") == "n/a"  # not a number: shown as given, never a 500


@pytest.mark.parametrize(
    ("value", "currency", "shown"),
    [
        (Decimal("50.000000000000"), "USD", "50.00"),
        (Decimal("50.000000000000"), "JPY", "50"),  # was "50.00 JPY" on the invoice page
        (Decimal("1.500000000000"), "KWD", "1.500"),  # was "1.50 KWD"
        (Decimal("0.000002000000"), "USD", "0.000002"),  # a token price keeps its precision
        (Decimal("0.0000025"), "JPY", "0.0000025"),
        (Decimal("1234.5"), "USD", "1,234.50"),
        (Decimal("7"), None, "7.00"),  # no currency known: two decimals
        (Decimal("-0"), "USD", "0.00"),
    ],
)
def test_unit_price_keeps_full_precision_never_below_the_minor_unit(value, currency, shown):
    assert fmt.unit_price(value, currency, code=False) == shown
    if currency:
        assert fmt.unit_price(value, currency) == f"{shown} {currency}"


def test_quantity_percent_and_export_money():
    assert fmt.quantity(Decimal("1234567.0000000000")) == "1,234,567"
    assert fmt.quantity(Decimal("1.5000")) == "1.5"
    assert fmt.quantity(Decimal("-2500.25")) == "-2,500.25"
    assert fmt.quantity(None) == "—"
    assert fmt.percent(Decimal("8.2500")) == "8.25" and fmt.percent(Decimal("20.000")) == "20"
    # Exports are machine-readable: minor unit, no separators, no code.
    assert fmt.plain_money(Decimal("16500.0000"), "JPY") == "16500"
    assert fmt.plain_money(Decimal("495.0000"), "KWD") == "495.000"
    assert fmt.plain_money(Decimal("4125"), "USD") == "4125.00"
    assert fmt.plain_money(None, "USD") == ""


def test_dates_and_inclusive_periods():
    assert fmt.day(date(2026, 3, 1)) == "1 Mar 2026"
    assert fmt.day(datetime(2026, 3, 1, 23, 0)) == "1 Mar 2026"
    assert fmt.day(None) == "—" and fmt.day(None, empty="-") == "-"
    assert fmt.period_span(date(2026, 8, 10), date(2026, 9, 1)) == "10 Aug – 31 Aug 2026"
    assert fmt.period_span(date(2025, 12, 15), date(2026, 1, 15)) == "15 Dec 2025 – 14 Jan 2026"
    assert fmt.period_span(date(2026, 8, 1), date(2026, 8, 2)) == "1 Aug 2026"
    assert fmt.period_span(None, None) == ""
    # As stored, the end exclusive (what the pages and the documents print, saying "(end exclusive)").
    assert fmt.period_exclusive(date(2026, 8, 10), date(2026, 9, 1)) == "10 Aug 2026 – 1 Sep 2026"
    assert fmt.period_exclusive(date(2026, 8, 10), None) == "10 Aug 2026"
    assert fmt.period_exclusive(None, None) == ""


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+1", "'+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("-cmd", "'-cmd"),
        ("-12.50", "-12.50"),  # a negative number stays a number
        ("Invoice 7", "Invoice 7"),
        (None, ""),
    ],
)
def test_safe_cell_guards_formulas_only(value, cell):
    assert fmt.safe_cell(value) == cell


def test_template_filters_render_what_the_functions_return():
    template = Template(
        "{% load formatting %}{{ a|money:'JPY' }}|{{ a|amount:'KWD' }}|{{ p|unit_price:'JPY' }}|"
        "{{ p|unit_price }}|{{ q|quantity }}|{{ r|percent }}|{{ d|day }}"
    )
    rendered = template.render(
        Context(
            {
                "a": Decimal("16500"),
                "p": Decimal("50.000000000000"),
                "q": Decimal("300.0000000000"),
                "r": Decimal("10.0000"),
                "d": date(2026, 4, 1),
            }
        )
    )
    assert rendered == "16,500 JPY|16,500.000|50 JPY|50.00|300|10|1 Apr 2026"
