"""Billing runs through real Celery worker processes on PostgreSQL + Redis (issue 5 acceptance):
two workers on one run, the same run twice, and a worker SIGKILLed in the middle of a run."""

from datetime import date

import pytest
from django.db import transaction
from django.db.models import Count

from billing.contracts.services import contract_activate, contract_create
from billing.invoicing.runs import billing_run_start
from billing.models import BillingClaim, BillingRun, BillingRunItem, Invoice
from revops.core.services.jobs import runs_resume_stalled
from revops.parties.services.customers import customer_create
from tests.workers import real_workers, wait_for

pytestmark = [pytest.mark.services, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

AS_OF = date(2026, 4, 1)  # Jan, Feb, Mar, Apr: four billing dates per contract


def _contracts(catalog, n: int) -> list:
    out = []
    for i in range(n):
        with transaction.atomic():
            customer = customer_create(external_id=f"w-{i:04d}", name=f"Worker test {i}", currency="USD")
            contract = contract_create(
                customer=customer.external_id,
                currency="USD",
                start_date=date(2026, 1, 1),
                end_date=date(2027, 1, 1),
                lines=[
                    {"key": "svc", "product": "platform", "unit_price": "10.00"},
                    {"key": "sub", "product": "platform", "plan": "hybrid"},
                ],
            )
            out.append(contract_activate(contract=contract))
    return out


def _assert_exactly_once(contracts) -> None:
    per_date = Invoice.objects.values("contract", "billing_date").annotate(n=Count("id")).filter(n__gt=1)
    assert not per_date.exists(), list(per_date)
    for contract in contracts:
        dates = sorted(Invoice.objects.filter(contract=contract).values_list("billing_date", flat=True))
        assert dates == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)], (
            contract.number,
            dates,
        )
    claims = (
        BillingClaim.objects.values("contract_line", "period_start", "kind")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert not claims.exists()


def _finished(run_id: int) -> BillingRun | None:
    return BillingRun.objects.filter(pk=run_id, status=BillingRun.Status.COMPLETED).first()


def test_two_workers_one_run_and_the_same_run_twice(catalog):
    contracts = _contracts(catalog, 40)
    with real_workers(count=2) as workers:
        run = billing_run_start(as_of=AS_OF)
        done = wait_for(
            lambda: _finished(run.pk), timeout=180, message=f"the run to complete\n{workers.output()}"
        )
        assert done.invoices_created == 160
        again = billing_run_start(as_of=AS_OF)
        second = wait_for(lambda: _finished(again.pk), timeout=120, message="the second run")
        assert second.invoices_created == 0
    _assert_exactly_once(contracts)
    assert Invoice.objects.count() == 160
    # Both workers took part (the items were claimed with SKIP LOCKED, not serialized on one worker).
    assert "w0-" in workers.output() and "w1-" in workers.output()


def test_killing_a_worker_mid_run_then_running_again_completes_without_duplicates(catalog):
    contracts = _contracts(catalog, 150)
    with real_workers(count=2) as workers:
        run = billing_run_start(as_of=AS_OF)
        wait_for(
            lambda: BillingRunItem.objects.filter(run_id=run.pk).exclude(status="pending").count() >= 40,
            timeout=180,
            message=f"the run to be under way\n{workers.output()}",
        )
        workers.kill(0)  # SIGKILL the worker and its pool: its open transaction is rolled back
        pending = BillingRunItem.objects.filter(run_id=run.pk, status="pending").count()
        assert pending > 0, "the run finished before the kill; make it longer"
        rerun = billing_run_start(as_of=AS_OF)
        wait_for(
            lambda: _finished(rerun.pk), timeout=300, message=f"the re-run to complete\n{workers.output()}"
        )
        runs_resume_stalled()  # the beat job that picks up the killed run's leftovers
        wait_for(lambda: _finished(run.pk), timeout=300, message="the first run to be finished by the resume")
    _assert_exactly_once(contracts)
    assert Invoice.objects.count() == 600
