"""Invoice totals from its lines: pure arithmetic over ``Decimal`` (no ORM, no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

from revops.money import round_money

ZERO = Decimal(0)
DISCOUNT = "discount"  # InvoiceLine.Kind.DISCOUNT


class TotalledLine(Protocol):
    amount: Decimal
    taxable: bool
    kind: str
    service_start: date
    service_end: date


@dataclass(frozen=True)
class InvoiceTotals:
    subtotal: Decimal
    discount: Decimal  # positive: what the discount lines take off
    tax: Decimal
    total: Decimal
    period: tuple[date, date] | None  # the lines' service range (None: no lines)


def invoice_totals(
    lines: Sequence[TotalledLine], *, tax_rate: Decimal, currency: str, credits_applied: Decimal
) -> InvoiceTotals:
    """Totals from all of an invoice's lines: tax on the taxable lines at ``tax_rate`` percent,
    rounded once to the currency's minor unit; the total is after ``credits_applied``."""
    subtotal = sum((ln.amount for ln in lines), ZERO)
    taxable = sum((ln.amount for ln in lines if ln.taxable), ZERO)
    tax = round_money(taxable * tax_rate / Decimal(100), currency)
    return InvoiceTotals(
        subtotal=subtotal,
        discount=-sum((ln.amount for ln in lines if ln.kind == DISCOUNT), ZERO),
        tax=tax,
        total=subtotal + tax - credits_applied,
        period=(
            (min(ln.service_start for ln in lines), max(ln.service_end for ln in lines)) if lines else None
        ),
    )


def set_totals(invoice, lines: Sequence[TotalledLine]) -> None:
    """Totals from all of the invoice's lines (at its customer's tax rate), set on the instance (not
    saved)."""
    invoice.tax_rate = invoice.customer.tax_rate
    totals = invoice_totals(
        lines, tax_rate=invoice.tax_rate, currency=invoice.currency, credits_applied=invoice.credits_applied
    )
    invoice.discount = totals.discount
    invoice.subtotal = totals.subtotal
    invoice.tax = totals.tax
    invoice.total = totals.total
    if totals.period is not None:
        invoice.period_start, invoice.period_end = totals.period
