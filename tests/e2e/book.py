"""A small book for the browser tests of issue 16: a customer with an active contract whose April
invoice is finalized and paid, a second draft invoice, and a draft contract — built through the
services in the live server's database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction


@dataclass
class Book:
    active: object
    draft_contract: object
    paid: object
    payment: object
    draft: object


def build_book() -> Book:
    from billing.invoicing.build import invoice_build
    from billing.invoicing.lifecycle import invoice_finalize, payment_record
    from tests.billing.factories import ContractFactory
    from tests.builders import NOW
    from tests.revops.factories import CustomerFactory

    customer = CustomerFactory(external_id="northwind", name="Northwind Traders", tax_rate=Decimal("10"))
    line = [{"key": "svc", "product": "platform", "unit_price": "10.00"}]
    active = ContractFactory(
        lines=line, start_date=date(2026, 4, 1), end_date=date(2027, 4, 1), customer=customer
    )
    draft_contract = ContractFactory(
        lines=line, start_date=date(2026, 6, 1), end_date=date(2027, 6, 1), customer=customer, active=False
    )
    with transaction.atomic():
        paid = invoice_finalize(
            invoice=invoice_build(contract_id=active.pk, billing_date=date(2026, 4, 1), now=NOW), now=NOW
        )
        payment = payment_record(invoice=paid, amount="11.00", paid_on="2026-04-20", reference="WIRE-1")
        draft = invoice_build(contract_id=active.pk, billing_date=date(2026, 5, 1), now=NOW)
    return Book(active=active, draft_contract=draft_contract, paid=paid, payment=payment, draft=draft)
