"""A worker SIGKILLed in the middle of a revenue-run batch (issue 15 §3), with real Celery workers on
PostgreSQL and Redis: the batch's transaction dies with it, its contracts are recognized again by
another worker once the run is resumed, and nothing is lost or posted twice — exactly one recognition
entry per obligation and period, every scheduled month posted, the ledger balanced, one audit event
per entry, the compliance checks green."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection
from django.db.models import Count, F, Q, Sum

from revops.core.audit.models import AuditChainHead, AuditEvent
from revops.core.services.jobs import runs_resume_stalled
from revrec.models import JournalEntry, JournalLine, RevenueRun, RevenueRunItem, ScheduleLine
from revrec.services.runs import revenue_run_start
from tests.faults.test_faults import _book, _checks_green
from tests.workers import database_url, real_workers, wait_for

pytestmark = [pytest.mark.services, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PERIOD = "2026-03"  # January to March of each contract: three schedule lines in one entry
CONTRACTS = 60
BATCH = 10


def _batches_waiting_for_the_audit_head() -> int:
    """Worker transactions blocked on the audit chain's head: a batch that has already written its
    entries, lines and markers and waits to append its audit events."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query ILIKE %s",
            [f"%{AuditChainHead._meta.db_table}%"],
        )
        return cursor.fetchone()[0]


def test_sigkill_mid_batch_loses_nothing_and_repeats_nothing(catalog, make_user, settings, monkeypatch):
    contracts = _book(CONTRACTS, make_user)
    settings.BILLING_RUN_STALL_SECONDS = 0
    monkeypatch.setenv("REVENUE_RUN_BATCH_SIZE", str(BATCH))  # the workers' batches (their settings)
    monkeypatch.setenv("REVENUE_RUN_PARALLELISM", "2")
    scheduled = ScheduleLine.objects.filter(schedule__status="approved", period__lte=PERIOD)
    assert scheduled.count() == CONTRACTS * 3
    with real_workers(count=1) as workers:
        # Hold the audit chain's head from another session: the worker's batch blocks there, after
        # writing its entries, lines and markers, inside its transaction.
        holder = psycopg.connect(database_url())
        try:
            run = revenue_run_start(period=PERIOD)
            holder.execute(f"SELECT 1 FROM {AuditChainHead._meta.db_table} WHERE id = 1 FOR UPDATE")  # noqa: S608
            wait_for(
                lambda: _batches_waiting_for_the_audit_head() >= 1,
                timeout=120,
                message=f"a batch to reach its audit events\n{_activity()}\n{workers.output()}",
            )
            workers.kill(0)  # SIGKILL the only worker (main process and pool child) mid-batch
            assert RevenueRun.objects.get(pk=run.pk).status != "completed"
            assert RevenueRunItem.objects.filter(run=run, status="pending").count() >= BATCH
            # What is committed is whole batches: an entry for each finished item, none of the killed one.
            finished = RevenueRunItem.objects.filter(run=run, status="done").count()
            assert JournalEntry.objects.filter(source="recognition").count() == finished
        finally:
            holder.rollback()
            holder.close()
        # Two fresh workers; the beat's stalled-run resumer sends the run's work again.
        workers.start(2)
        wait_for(
            lambda: runs_resume_stalled() >= 0 and RevenueRun.objects.get(pk=run.pk).status == "completed",
            timeout=240,
            interval=1,
            message=f"the resumed run to complete\n{workers.output()}",
        )

    run = RevenueRun.objects.select_related("job").get(pk=run.pk)
    items = RevenueRunItem.objects.filter(run=run)
    assert items.count() == CONTRACTS and set(items.values_list("status", flat=True)) == {"done"}
    # A killed batch left nothing behind: its items were finished once, by whoever claimed them next.
    assert set(items.values_list("attempts", flat=True)) == {1}
    assert run.entries_created == CONTRACTS
    assert run.job.progress_done == run.job.progress_total == CONTRACTS
    # Exactly one recognition entry per contract, and per obligation and period.
    per_contract = (
        JournalEntry.objects.filter(source="recognition").values("contract").annotate(n=Count("id"))
    )
    assert {r["contract"]: r["n"] for r in per_contract} == {c.pk: 1 for c in contracts}
    revenue = JournalLine.objects.filter(
        entry__source="recognition", account__role__in=["revenue", "revenue_sub"]
    )
    per_obligation = revenue.values("obligation").annotate(n=Count("entry", distinct=True))
    assert len(per_obligation) == CONTRACTS and {r["n"] for r in per_obligation} == {1}
    # Nothing lost: every scheduled month is posted, by its own contract's entry, for its amount.
    assert not scheduled.filter(posted_entry__isnull=True).exists()
    assert not scheduled.exclude(posted_entry__contract=F("schedule__obligation__contract")).exists()
    assert revenue.aggregate(c=Sum("credit"))["c"] == scheduled.aggregate(a=Sum("amount"))["a"]
    # The ledger balances, entry by entry; one audit event per entry, none for the killed batch.
    unbalanced = (
        JournalLine.objects.values("entry").annotate(d=Sum("debit"), c=Sum("credit")).filter(~Q(d=F("c")))
    )
    assert not unbalanced.exists()
    events = AuditEvent.objects.filter(action="revenue.recognized")
    assert sorted(int(e) for e in events.values_list("object_id", flat=True)) == sorted(
        JournalEntry.objects.filter(source="recognition").values_list("pk", flat=True)
    )
    _checks_green()


def _activity():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, state, wait_event_type, wait_event, left(query, 150) FROM pg_stat_activity "
            "WHERE datname = current_database()"
        )
        return "\n".join(str(r) for r in cursor.fetchall())
