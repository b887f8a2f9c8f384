"""One presentation kernel (issue 14 §6): the invoice page, the invoice PDF and the journal export show
the same numbers, at each currency's minor unit (JPY 0 decimals, KWD 3, USD 2), for an invoice made by
the real services (contract, billing run build, finalization, the ledger's posting).

Given a customer billed in each currency, with a 10% tax rate and one line of 300 units at a unit price
When the invoice is built and finalized
Then the page and the PDF print the same unit price, line amount, tax and total (the page with the
currency code, the PDF with the code once in its footnote), and the journal export (CSV) carries the
same total as a machine-readable decimal string: no separators, the currency's minor unit.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from django.urls import reverse

from billing.invoicing.build import invoice_build
from billing.invoicing.lifecycle import invoice_finalize
from tests.billing.documents.pdftext import page_strings
from tests.billing.factories import ContractFactory
from tests.builders import NOW
from tests.revops.factories import CustomerFactory

pytestmark = pytest.mark.django_db

# currency, unit price, what people read (unit, line = 300 × unit, tax 10%, total), what machines read
CASES = [
    ("JPY", "50", ("50", "15,000", "1,500", "16,500"), "16500"),
    ("KWD", "1.5", ("1.500", "450.000", "45.000", "495.000"), "495.000"),
    ("USD", "12.5", ("12.50", "3,750.00", "375.00", "4,125.00"), "4125.00"),
]


def pdf_strings(pdf: bytes) -> list[str]:
    """Every string the PDF draws, page after page, read through its fonts' ToUnicode maps."""
    return [run for page in page_strings(pdf) for run in page]


@pytest.fixture
def invoice_in(catalog):
    def make(currency: str, unit_price: str):
        customer = CustomerFactory(
            external_id=f"agree-{currency.lower()}",
            name=f"Agree {currency}",
            currency=currency,
            tax_rate=Decimal("10"),
        )
        contract = ContractFactory(
            lines=[{"key": "svc", "product": "platform", "unit_price": unit_price, "quantity": "300"}],
            start_date=date(2026, 4, 1),
            customer=customer,
        )
        with transaction.atomic():
            draft = invoice_build(contract_id=contract.pk, billing_date=date(2026, 4, 1), now=NOW)
        with transaction.atomic():
            return invoice_finalize(invoice=draft, now=NOW)

    return make


@pytest.mark.parametrize(("currency", "unit_price", "shown", "exported"), CASES)
def test_page_pdf_and_export_show_the_same_numbers(ui_for, invoice_in, currency, unit_price, shown, exported):
    invoice = invoice_in(currency, unit_price)
    unit, line, tax, total = shown
    assert invoice.total == Decimal(exported)  # the stored figure the three views present

    finance = ui_for("finance")
    page = finance.get(reverse("invoice", args=[invoice.pk])).content.decode()
    for text in (unit, line, tax, total):
        assert f"{text} {currency}" in page, (currency, text)
    assert f"{unit}.00 {currency}" not in page  # no two-decimal padding beyond the minor unit

    pdf = finance.get(reverse("invoice-pdf", args=[invoice.pk])).content
    drawn = pdf_strings(pdf)
    for text in (unit, line, tax, total):
        assert text in drawn, (currency, text, drawn)
    assert any(f"Amounts in {currency}." in s for s in drawn)

    url = reverse("revenue-report-download", args=["journal", "csv"])
    period = f"{invoice.issue_date:%Y-%m}"  # finalization issues the invoice today
    export = finance.get(url, {"period": period, "currency": currency})
    assert export.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    receivable = [r for r in rows if r["account"] == "1100"]
    assert [r["debit"] for r in receivable] == [exported]
    assert {r["currency"] for r in rows} == {currency}
