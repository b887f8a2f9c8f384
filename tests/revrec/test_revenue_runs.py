"""Revenue runs in batches (issue 15 §3): one item per contract claimed in batches, set-based per batch,
idempotent per (obligation, period), a failing contract parked with its error, progress on the run
page and API. The same with real workers killed mid-run: tests/faults/test_faults.py."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Count, Sum

from revops.core.audit.models import AuditEvent
from revops.money import stored_sum
from revops.parties.models import Product
from revrec.models import JournalEntry, JournalLine, RevenueRun, RevenueRunItem, RevenueSchedule, ScheduleLine
from revrec.services import runs
from revrec.services.postings import recognize_contracts_period
from tests.billing.factories import ContractFactory, ContractLineFactory
from tests.revops.factories import ProductFactory
from tests.revrec.factories import RevenueScheduleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(catalog, settings):
    """Five one-year contracts of 1,200.00 (100.00 a month) with approved schedules; batches of two."""
    settings.REVENUE_RUN_BATCH_SIZE = 2
    settings.REVENUE_RUN_PARALLELISM = 2
    contracts = [
        ContractFactory(
            lines=[ContractLineFactory(key="svc", unit_price="100.00")], start_date=date(2026, 1, 1)
        )
        for _ in range(5)
    ]
    for schedule in RevenueSchedule.objects.filter(status="pending_approval"):
        RevenueScheduleFactory(obligation=schedule.obligation)
    assert RevenueSchedule.objects.filter(status="approved").count() == 5
    return contracts


def _run(period: str, settle) -> RevenueRun:
    with settle(execute=True), transaction.atomic():
        run = runs.revenue_run_start(period=period, actor="test")
    return RevenueRun.objects.select_related("job").get(pk=run.pk)


def _one_entry_per_obligation_and_period() -> None:
    """Every recognized (obligation, period) was posted by exactly one recognition entry."""
    rows = (
        JournalLine.objects.filter(entry__source="recognition", account__role__in=["revenue", "revenue_sub"])
        .values("obligation", "entry__period")
        .annotate(n=Count("entry", distinct=True))
    )
    assert rows and all(r["n"] == 1 for r in rows), list(rows)


def test_a_run_claims_its_contracts_in_batches_and_posts_one_entry_each(
    book, django_capture_on_commit_callbacks
):
    run = _run("2026-02", django_capture_on_commit_callbacks)
    assert run.status == "completed"
    items = list(run.items.all())
    assert len(items) == 5 and {i.status for i in items} == {"done"}
    assert {i.contract_id for i in items} == {c.pk for c in book}
    assert all(i.entry_id and i.attempts == 1 for i in items)
    # January and February of each contract, in one entry per contract.
    assert run.entries_created == 5
    assert run.job.progress_done == run.job.progress_total == 5
    assert run.job.result == {"entries_created": 5, "failures": 0}
    revenue = JournalLine.objects.filter(entry__source="recognition", account__role="revenue")
    scheduled = ScheduleLine.objects.filter(period__lte="2026-02", schedule__status="approved")
    assert stored_sum(revenue.aggregate(c=Sum("credit"))["c"]) == stored_sum(
        scheduled.aggregate(a=Sum("amount"))["a"]
    )
    assert stored_sum(revenue.aggregate(c=Sum("credit"))["c"]) == Decimal("969.85")  # 59 of 365 days
    assert not ScheduleLine.objects.filter(period__lte="2026-02", posted_entry__isnull=True).exists()
    # One audit event per entry, written with the batch.
    events = AuditEvent.objects.filter(action="revenue.recognized")
    assert sorted(int(e.object_id) for e in events) == sorted(i.entry_id for i in items)
    assert {e.changes["period"] for e in events} == {"2026-02"} and {
        e.changes["schedule_lines"] for e in events
    } == {2}
    _one_entry_per_obligation_and_period()


def test_a_second_run_and_a_redelivered_batch_repeat_nothing(book, django_capture_on_commit_callbacks):
    _run("2026-02", django_capture_on_commit_callbacks)
    entries = JournalEntry.objects.count()
    second = _run("2026-02", django_capture_on_commit_callbacks)
    assert second.status == "completed" and second.entries_created == 0
    assert set(second.items.values_list("status", flat=True)) == {"skipped"}
    # The same batch recognized again (a re-delivered task) finds every line posted.
    with transaction.atomic():
        again = recognize_contracts_period(contract_ids=[c.pk for c in book], period="2026-02")
    assert again == {c.pk: None for c in book}
    # A work task delivered again after the run finished does nothing.
    assert runs.revenue_run_work(run_id=second.pk) == 0
    assert JournalEntry.objects.count() == entries
    _one_entry_per_obligation_and_period()


def test_a_batch_of_contracts_posts_what_one_contract_at_a_time_posts(book):
    """The set-based batch and the one-contract call (the same function) give the same entries."""
    with transaction.atomic():
        batch = recognize_contracts_period(contract_ids=[c.pk for c in book[:3]], period="2026-03")
        for contract in book[3:]:
            recognize_contracts_period(contract_ids=[contract.pk], period="2026-03")
    assert all(batch.values())
    by_contract = {
        r["entry__contract"]: (r["d"], r["c"])
        for r in JournalLine.objects.filter(entry__source="recognition")
        .values("entry__contract")
        .annotate(d=Sum("debit"), c=Sum("credit"))
    }
    three_months = Decimal("295.89")  # 90 of 365 days of 1,200.00
    assert {(stored_sum(d), stored_sum(c)) for d, c in by_contract.values()} == {(three_months, three_months)}
    assert len(by_contract) == 5


def test_a_failing_contract_is_parked_with_its_error_and_the_run_goes_on(
    book, catalog, django_capture_on_commit_callbacks, api_for, client, make_user
):
    ProductFactory(code="broken-svc")
    broken = ContractFactory(
        lines=[ContractLineFactory(key="svc", product="broken-svc", unit_price="50.00")],
        start_date=date(2026, 1, 1),
    )
    for schedule in RevenueSchedule.objects.filter(status="pending_approval"):
        RevenueScheduleFactory(obligation=schedule.obligation)
    # The product maps to the cash account (bypassing the approval the mapping change needs).
    Product.objects.filter(code="broken-svc").update(revenue_account="1000")
    run = _run("2026-01", django_capture_on_commit_callbacks)
    assert run.status == "completed"
    failed = run.items.get(status=RevenueRunItem.Status.FAILED)
    assert failed.contract_id == broken.pk and failed.entry_id is None
    assert "AccountMisconfigured" in failed.error and "1000" in failed.error
    assert run.items.filter(status="done").count() == 5 and run.entries_created == 5
    assert run.job.result == {"entries_created": 5, "failures": 1}
    assert not JournalEntry.objects.filter(source="recognition", contract=broken).exists()
    assert ScheduleLine.objects.filter(
        schedule__obligation__contract=broken, posted_entry__isnull=True
    ).exists()

    body = api_for("finance").get(f"/api/v1/revenue-runs/{run.pk}").json()
    assert body["progress"] == {"done": 6, "total": 6}
    assert body["entries_created"] == 5 and body["failed"] == 1
    assert body["failures"] == [{"contract": broken.number, "contract_id": broken.pk, "error": failed.error}]

    client.force_login(make_user("fin", "finance"))
    page = client.get("/revenue/runs/").content.decode()
    assert broken.number in page and "1 failed" in page and "AccountMisconfigured" in page


def test_the_resumer_sends_the_workers_again_when_items_are_pending(book, monkeypatch):
    sent = []
    monkeypatch.setattr(runs, "enqueue", lambda task, *args: sent.append((task, args)))
    run = runs.revenue_run_start(period="2026-01")  # inside the test's transaction: never sent
    assert runs.revenue_run_plan(run_id=run.pk) == 5
    assert runs.revenue_run_work(run_id=run.pk, limit=2) == 2  # a worker lost after one batch
    run.refresh_from_db()
    assert run.status == "running" and run.job.progress_done == 2
    assert runs.revenue_run_resume(run) is True
    assert sent == [(runs.WORK_TASK, (run.pk,))] * 2
    assert runs.revenue_run_work(run_id=run.pk) == 3
    run.refresh_from_db()
    assert run.status == "completed" and run.entries_created == 5
    assert runs.revenue_run_resume(run) is False


def test_the_runs_page_refreshes_itself_while_a_run_is_under_way(book, client, make_user):
    client.force_login(make_user("fin", "finance"))
    run = runs.revenue_run_start(period="2026-01")  # inside the test's transaction: never sent
    assert runs.revenue_run_plan(run_id=run.pk) == 5
    assert runs.revenue_run_work(run_id=run.pk, limit=2) == 2
    page = client.get("/revenue/runs/").content.decode()
    assert 'id="runs-table"' in page and 'hx-trigger="every 2s"' in page
    assert "2 / 5" in page  # contracts done of the run's contracts
    runs.revenue_run_work(run_id=run.pk)
    assert 'hx-trigger="every 2s"' not in client.get("/revenue/runs/").content.decode()
