"""Faults with real services (issue 8 §3): SIGKILL a worker during a revenue run, Redis stopped during
ingestion and during a billing run, the same task delivered twice. After each: exactly one invoice per
period, one journal entry per event, no gap, and the compliance checks green."""

from datetime import date

import pytest
from django.db import transaction
from django.db.models import Count

from billing.contracts.services import contract_activate, contract_create
from billing.invoicing.runs import billing_run_start
from billing.models import BillingClaim, BillingRun, Invoice
from compliance.services.exceptions import compliance_run
from revops.core.services.jobs import runs_resume_stalled
from revops.parties.services.customers import customer_create
from revrec.models import JournalEntry, RevenueRun, RevenueSchedule
from revrec.services.runs import revenue_run_start
from revrec.services.schedules import schedule_decide
from tests.workers import PrivateRedis, real_workers, wait_for

pytestmark = [pytest.mark.services, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _book(n: int, make_user) -> list:
    preparer, approver = make_user("preparer", "finance"), make_user("checker", "approver")
    contracts = []
    for i in range(n):
        with transaction.atomic():
            customer = customer_create(external_id=f"f-{i:04d}", name=f"Fault {i}", currency="USD")
            contract = contract_create(
                customer=customer.external_id,
                currency="USD",
                start_date=date(2026, 1, 1),
                end_date=date(2027, 1, 1),
                lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}],
            )
            contracts.append(contract_activate(contract=contract, actor=preparer))
    # Activation queued schedule generation (in-process here); an approver signs each one off.
    for sched in RevenueSchedule.objects.filter(status="pending_approval"):
        schedule_decide(schedule=sched, user=approver, approve=True)
    assert RevenueSchedule.objects.filter(status="approved").count() == n
    return contracts


def _exactly_one_invoice_per_period() -> None:
    assert (
        not Invoice.objects.values("contract", "billing_date")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .exists()
    )
    assert (
        not BillingClaim.objects.values("contract_line", "period_start", "kind")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .exists()
    )


def _one_recognition_entry_per_contract(period: str, contracts) -> None:
    rows = (
        JournalEntry.objects.filter(source="recognition", period=period)
        .values("contract")
        .annotate(n=Count("id"))
    )
    assert {r["contract"]: r["n"] for r in rows} == {c.pk: 1 for c in contracts}


def _checks_green() -> None:
    run = compliance_run(trigger="fault-test")
    failing = {c: r for c, r in run.results.items() if r["status"] == "fail"}
    assert not failing, failing


def test_sigkill_worker_during_revenue_run_then_resume(catalog, make_user, settings, monkeypatch):
    contracts = _book(120, make_user)
    settings.BILLING_RUN_STALL_SECONDS = 0
    monkeypatch.setenv("REVENUE_RUN_BATCH_SIZE", "5")  # the worker's batches: most are left when it dies
    with real_workers(count=1) as workers:
        run = revenue_run_start(period="2026-01")
        wait_for(
            lambda: RevenueRun.objects.get(pk=run.pk).job.progress_done >= 15,
            timeout=120,
            message=f"the revenue run to be under way\n{workers.output()}",
        )
        workers.kill(0)
        assert RevenueRun.objects.get(pk=run.pk).status != "completed"
        workers.start(1)
        assert runs_resume_stalled() == 1  # the beat job re-queues the lost run
        wait_for(
            lambda: RevenueRun.objects.get(pk=run.pk).status == "completed",
            timeout=180,
            message=f"the resumed run\n{workers.output()}",
        )
    _one_recognition_entry_per_contract("2026-01", contracts)
    _checks_green()


def test_ingestion_does_not_need_the_broker(api_for, catalog):
    from revops.celery import app

    redis = PrivateRedis()
    redis.start()
    old = app.conf.broker_url
    app.conf.broker_url = redis.url
    try:
        redis.stop()  # the broker is down for the whole request
        customer = api_for("finance")
        customer.post(
            "/api/v1/customers",
            {"external_id": "nobroker", "name": "No broker", "currency": "USD"},
            format="json",
        )
        body = {
            "events": [
                {
                    "transaction_id": f"nb-{i}",
                    "customer": "nobroker",
                    "code": "api_calls",
                    "timestamp": "2026-03-01T10:00:00+00:00",
                    "properties": {},
                }
                for i in range(500)
            ]
        }
        response = customer.post("/api/v1/events", body, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["accepted"] == 500
    finally:
        app.conf.broker_url = old
        redis.stop()


def test_redis_stopped_during_a_billing_run_resumes_when_it_is_back(catalog, make_user, settings):
    contracts = _book(80, make_user)
    settings.BILLING_RUN_STALL_SECONDS = 0
    redis = PrivateRedis()
    redis.start()
    try:
        with real_workers(count=2, broker_url=redis.url) as workers:
            run = billing_run_start(as_of=date(2026, 4, 1))
            wait_for(
                lambda: BillingRun.objects.get(pk=run.pk).job.progress_done >= 10,
                timeout=120,
                message=f"the billing run to be under way\n{workers.output()}",
            )
            redis.stop()  # queued messages are lost with it (no persistence)
            second = billing_run_start(as_of=date(2026, 4, 1))  # recorded even though it cannot be queued
            assert BillingRun.objects.get(pk=second.pk).status == "queued"
            redis.start()
            wait_for(
                lambda: (
                    runs_resume_stalled() == 0 and not BillingRun.objects.exclude(status="completed").exists()
                ),
                timeout=240,
                interval=2,
                message=f"both runs to complete after Redis came back\n{workers.output()}",
            )
    finally:
        redis.stop()
    _exactly_one_invoice_per_period()
    assert Invoice.objects.count() == len(contracts) * 4
    _checks_green()


def test_the_same_task_delivered_twice_changes_nothing(catalog, make_user):
    from billing.invoicing.tasks import plan_billing_run, work_billing_run
    from revrec.tasks import execute_revenue_run

    contracts = _book(30, make_user)
    with real_workers(count=2) as workers:
        run = billing_run_start(as_of=date(2026, 3, 1))
        for _ in range(2):  # duplicates of every task the run uses, on both workers at once
            plan_billing_run.delay(run.pk)
            work_billing_run.delay(run.pk)
        wait_for(
            lambda: BillingRun.objects.get(pk=run.pk).status == "completed",
            timeout=180,
            message=f"the run\n{workers.output()}",
        )
        revenue = revenue_run_start(period="2026-01")
        execute_revenue_run.delay(revenue.pk)
        execute_revenue_run.delay(revenue.pk)
        wait_for(
            lambda: RevenueRun.objects.get(pk=revenue.pk).status == "completed",
            timeout=180,
            message=f"the revenue run\n{workers.output()}",
        )
    _exactly_one_invoice_per_period()
    assert Invoice.objects.count() == len(contracts) * 3
    assert JournalEntry.objects.filter(source="recognition").count() == len(contracts)
    _checks_green()
