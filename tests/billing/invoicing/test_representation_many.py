"""``invoice_data_many`` (the finalization batch's outbox payloads, one serializer for all) gives each
invoice exactly what ``invoice_data`` gives it alone — lines, rating breakdowns, usage windows."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.db import transaction

from billing.invoicing.build import invoice_build
from billing.invoicing.representation import invoice_data, invoice_data_many
from billing.invoicing.selectors import invoice_with_lines
from tests.billing.factories import ContractFactory
from tests.builders import day, send_events
from tests.revops.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_many_is_each_invoice_alone(catalog):
    invoices = []
    for name, calls in (("rep-a", 3), ("rep-b", 0), ("rep-c", 12)):
        customer = CustomerFactory(external_id=name, name=name.title())
        contract = ContractFactory(
            lines=[{"key": "sub", "product": "platform", "plan": "hybrid"}],
            start_date=date(2026, 4, 1),
            customer=customer,
        )
        send_events(
            customer,
            [{"code": "api_calls", "timestamp": day(date(2026, 4, 9)), "properties": {"endpoint": "/v1/x"}}]
            * calls,
            received_at=datetime(2026, 4, 10, tzinfo=UTC),
        )
        with transaction.atomic():
            built = invoice_build(
                contract_id=contract.pk, billing_date=date(2026, 5, 1), now=datetime(2026, 5, 2, tzinfo=UTC)
            )
        invoices.append(invoice_with_lines(built.pk))
    alone = [invoice_data(invoice) for invoice in invoices]
    assert any(line.get("usage") and line["breakdown"] for data in alone for line in data["lines"])
    assert invoice_data_many(invoices) == alone
    assert invoice_data_many(invoices, lines=False) == [invoice_data(i, lines=False) for i in invoices]
    assert invoice_data_many([]) == []
