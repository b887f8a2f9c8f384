"""Billing runs (issue 5 §3): items claimed by workers, idempotent, failures parked, progress."""

from datetime import date
from decimal import Decimal
from unittest import mock

import pytest

from billing.invoicing.runs import billing_run_payload, billing_run_start
from billing.models import BillingRun, BillingRunItem, Invoice
from revops.core.models import Job, OutboxEvent
from tests.billing.factories import ContractFactory
from tests.revops.factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)


def run(as_of, customers=None):
    """In-process (eager) Celery: the run plans and works through its items before returning."""
    return BillingRun.objects.get(pk=billing_run_start(as_of=as_of, customers=customers).pk)


def test_run_bills_every_due_period_once_and_completes(catalog):
    a = ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}], start_date=date(2026, 1, 1)
    )
    b = ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "20.00"}], start_date=date(2026, 2, 15)
    )
    first = run(date(2026, 3, 1))
    assert first.status == BillingRun.Status.COMPLETED
    assert Invoice.objects.filter(contract=a).count() == 3  # Jan 1, Feb 1, Mar 1
    assert Invoice.objects.filter(contract=b).count() == 2  # Feb 15 (prorated), Mar 1
    assert first.invoices_created == 5
    job = Job.objects.get(pk=first.job_id)
    assert job.status == "completed" and job.progress_done == job.progress_total == 5
    assert OutboxEvent.objects.filter(topic="billing_run.completed", object_id=str(first.pk)).exists()


def test_running_the_same_as_of_again_creates_no_second_invoice(catalog):
    ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}], start_date=date(2026, 1, 1)
    )
    run(date(2026, 3, 1))
    again = run(date(2026, 3, 1))
    assert again.status == BillingRun.Status.COMPLETED and again.invoices_created == 0
    assert Invoice.objects.count() == 3


def test_a_failing_customer_is_parked_and_the_others_are_billed(catalog):
    good = ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}], start_date=date(2026, 3, 1)
    )
    bad = ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}], start_date=date(2026, 3, 1)
    )
    from billing.invoicing.build import batch as build

    real = build.lines_for_item

    def explode(**kwargs):
        if kwargs["contract"].pk == bad.pk:
            raise RuntimeError("price lookup failed")
        return real(**kwargs)

    with mock.patch.object(build, "lines_for_item", side_effect=explode):
        result = run(date(2026, 3, 1))
    assert result.status == BillingRun.Status.COMPLETED
    assert Invoice.objects.filter(contract=good).count() == 1
    assert Invoice.objects.filter(contract=bad).count() == 0
    item = BillingRunItem.objects.get(run=result, contract=bad)
    assert item.status == "failed" and "price lookup failed" in item.error
    payload = billing_run_payload(result)
    assert payload["failures"][0]["contract"] == bad.number
    # Fixed: the next run bills the parked contract.
    run(date(2026, 3, 1))
    assert Invoice.objects.filter(contract=bad).get().total == Decimal("10.00")


def test_customer_filter(catalog):
    only = CustomerFactory(external_id="only-me")
    ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}],
        start_date=date(2026, 3, 1),
        customer=only,
    )
    other = ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}], start_date=date(2026, 3, 1)
    )
    run(date(2026, 3, 1), customers=["only-me"])
    assert Invoice.objects.filter(customer=only).count() == 1
    assert not Invoice.objects.filter(contract=other).exists()


def test_termination_credit_is_billed_even_without_a_regular_item(catalog):
    from billing.contracts.services import contract_terminate
    from billing.models import PendingCharge

    contract = ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "30.00"}], start_date=date(2026, 4, 1)
    )
    run(date(2026, 4, 1))  # April billed in advance: 30.00
    from django.db import transaction

    with transaction.atomic():
        contract_terminate(contract=contract, effective_date=date(2026, 4, 16))
    credit = PendingCharge.objects.get(contract=contract)
    assert credit.amount == Decimal("-15.00")
    run(date(2026, 4, 20))
    credit.refresh_from_db()
    assert credit.invoice_line is not None
    assert credit.invoice_line.invoice.billing_date == date(2026, 4, 16)
    assert credit.invoice_line.amount == Decimal("-15.00")
