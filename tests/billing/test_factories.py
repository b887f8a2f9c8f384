"""The billing factories go through the services: an activated contract, a built and a finalized
invoice are the rows (and audit events) the product writes, not hand-made ones."""

from datetime import date
from decimal import Decimal

import pytest

from billing.models import Invoice
from revops.core.audit.models import AuditEvent
from tests.billing.factories import (
    ContractFactory,
    ContractLineFactory,
    InvoiceFactory,
    PlanFactory,
    PlanVersionFactory,
)

pytestmark = pytest.mark.django_db


def test_a_back_dated_plan_is_published_after_a_second_person_approves_it():
    plan = PlanFactory(code="basic")
    version = plan.versions.get()
    assert version.status == "published" and version.effective_from == date(2020, 1, 1)
    later = PlanVersionFactory(plan=plan, effective_from=date(2026, 3, 1))
    assert later.status == "published" and later.number == 2


def test_a_contract_is_created_and_activated_through_the_services():
    contract = ContractFactory(lines=[ContractLineFactory(key="svc", unit_price="50.00")])
    assert contract.status == "active"
    assert AuditEvent.objects.filter(object_id=str(contract.pk), action="contract.activated").exists()
    assert ContractFactory(active=False).status == "draft"


def test_a_finalized_invoice_is_numbered_stored_and_audited():
    invoice = InvoiceFactory(
        contract__lines=[ContractLineFactory(key="svc", unit_price="50.00")],
        contract__start_date=date(2026, 8, 10),
        contract__end_date=date(2027, 8, 10),
        finalized=True,
    )
    assert invoice.status == Invoice.Status.FINALIZED
    assert invoice.total == Decimal("35.48")  # 50.00 × 22/31 (accounting.md §3)
    assert invoice.number and invoice.pdf_sha256
    assert AuditEvent.objects.filter(action="invoice.finalized", object_id=str(invoice.pk)).exists()
    assert InvoiceFactory(contract=invoice.contract, billing_date=date(2026, 9, 1)).status == "draft"
