"""Invoice totals are pure arithmetic over the lines: no database."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from billing.invoicing.build.totals import invoice_totals


@dataclass
class Line:
    amount: Decimal
    kind: str = "fee"
    taxable: bool = True
    service_start: date = date(2026, 3, 1)
    service_end: date = date(2026, 3, 31)


def test_tax_is_on_taxable_lines_rounded_once_and_credits_come_off_the_total():
    lines = [
        Line(Decimal("100.005")),
        Line(Decimal("33.333"), taxable=False, service_start=date(2026, 2, 15)),
        Line(Decimal("-10"), kind="discount", service_end=date(2026, 4, 30)),
    ]
    totals = invoice_totals(lines, tax_rate=Decimal("7.5"), currency="USD", credits_applied=Decimal("5.00"))
    assert totals.subtotal == Decimal("123.338")
    assert totals.discount == Decimal("10")
    assert totals.tax == Decimal("6.75")  # (100.005 - 10) × 7.5 % = 6.750375 → 6.75
    assert totals.total == Decimal("123.338") + Decimal("6.75") - Decimal("5.00")
    assert totals.period == (date(2026, 2, 15), date(2026, 4, 30))


def test_a_currency_without_minor_unit_rounds_tax_to_whole_units():
    totals = invoice_totals(
        [Line(Decimal("1000"))], tax_rate=Decimal("8"), currency="JPY", credits_applied=Decimal(0)
    )
    assert totals.tax == Decimal("80") and totals.total == Decimal("1080")


def test_no_lines_no_period():
    totals = invoice_totals([], tax_rate=Decimal("10"), currency="EUR", credits_applied=Decimal(0))
    assert totals.subtotal == totals.tax == totals.total == Decimal(0) and totals.period is None
