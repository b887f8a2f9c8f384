"""Factories for invoice documents: contracts, invoices and their lines (money as Decimal strings)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import factory

from billing.models import Invoice, InvoiceLine
from revops.contracts.models import Contract
from tests.factories import CustomerFactory, LegalEntityFactory


class ContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contract

    number = factory.Sequence(lambda n: f"C-2026-{n:04d}")
    customer = factory.SubFactory(CustomerFactory)
    currency = "USD"
    start_date = date(2026, 1, 1)
    end_date = date(2027, 1, 1)
    status = Contract.Status.ACTIVE


class InvoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invoice

    contract = factory.SubFactory(ContractFactory)
    customer = factory.SelfAttribute("contract.customer")
    legal_entity = factory.SubFactory(LegalEntityFactory)
    currency = "USD"
    status = Invoice.Status.FINALIZED
    number = factory.Sequence(lambda n: f"INV-2026-{n + 1:06d}")
    sequence = factory.Sequence(lambda n: n + 1)
    billing_date = date(2026, 9, 1)
    period_start = date(2026, 8, 1)
    period_end = date(2026, 9, 1)
    issue_date = date(2026, 9, 1)
    due_date = date(2026, 10, 1)
    subtotal = Decimal("0")
    tax_rate = Decimal("0")
    finalized_at = datetime(2026, 9, 1, 9, 30, tzinfo=UTC)


class InvoiceLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InvoiceLine

    invoice = factory.SubFactory(InvoiceFactory)
    kind = InvoiceLine.Kind.FEE
    description = factory.Sequence(lambda n: f"Pro plan seats ({n})")
    quantity = Decimal("5")
    unit_amount = Decimal("50.000000000000")
    amount = Decimal("250.00")
    service_start = date(2026, 8, 1)
    service_end = date(2026, 9, 1)
    position = factory.Sequence(lambda n: n)
