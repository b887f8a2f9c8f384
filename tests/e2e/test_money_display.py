"""Money as people read it, in a real browser (issue 14 §6): an invoice in JPY, KWD and USD shows its
unit price, line, tax and total at the currency's minor unit (no "50.00 JPY", no two-decimal KWD),
the same strings the PDF prints; the customer list shows tax rates the same way."""

from datetime import date
from decimal import Decimal

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# currency, unit price, what the invoice page shows (unit, line = 300 × unit, tax 10%, total)
CASES = [
    ("JPY", "50", ("50 JPY", "15,000 JPY", "1,500 JPY", "16,500 JPY")),
    ("KWD", "1.5", ("1.500 KWD", "450.000 KWD", "45.000 KWD", "495.000 KWD")),
    ("USD", "12.5", ("12.50 USD", "3,750.00 USD", "375.00 USD", "4,125.00 USD")),
]


def _invoice(currency: str, unit_price: str):
    from django.db import transaction

    from billing.contracts.services import contract_activate, contract_create
    from billing.invoicing.build import invoice_build
    from billing.invoicing.lifecycle import invoice_finalize
    from revops.parties.services.customers import customer_create

    with transaction.atomic():
        customer = customer_create(
            external_id=f"shown-{currency.lower()}",
            name=f"Shown in {currency}",
            currency=currency,
            tax_rate=Decimal("10"),
        )
        contract = contract_create(
            customer=customer.external_id,
            currency=currency,
            start_date=date(2026, 4, 1),
            end_date=date(2027, 4, 1),
            billing_anchor="calendar",
            lines=[{"key": "svc", "product": "platform", "unit_price": unit_price, "quantity": "300"}],
        )
        contract_activate(contract=contract)
    with transaction.atomic():
        draft = invoice_build(contract_id=contract.pk, billing_date=date(2026, 4, 1))
    with transaction.atomic():
        return invoice_finalize(invoice=draft)


def test_invoice_pages_show_each_currency_at_its_minor_unit(login, shot):
    from playwright.sync_api import expect

    invoices = {currency: _invoice(currency, price) for currency, price, _ in CASES}
    page = login("finance")
    for currency, _price, shown in CASES:
        page.goto(f"/invoices/{invoices[currency].pk}/")
        body = page.locator("main")
        for text in shown:
            expect(body).to_contain_text(text)
        assert f"{shown[0].split()[0]}.00 {currency}" not in body.inner_text()
        shot(f"invoice-{currency}")
    page.goto("/customers/")
    row = page.locator("tr", has_text="Shown in KWD")
    expect(row).to_contain_text("10%")
    shot("customers")
