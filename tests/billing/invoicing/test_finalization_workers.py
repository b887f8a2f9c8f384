"""Finalization runs through real Celery workers on PostgreSQL + Redis (issue 15 §1): two workers claim
batches of one run with SKIP LOCKED; the numbers come out gapless, each batch's in billing-date order."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
from django.db.models import Count

from billing.invoicing.finalization import finalization_start
from billing.models import FinalizationItem, FinalizationRun, Invoice
from revops.core.audit.models import AuditEvent
from revrec.models import JournalEntry
from tests.billing.invoicing.test_finalization import _drafts
from tests.workers import real_workers, wait_for

pytestmark = [pytest.mark.services, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _completed(run_id: int):
    return FinalizationRun.objects.filter(pk=run_id, status="completed").first()


def test_two_workers_finalize_one_run_with_gapless_numbers_in_order(catalog, monkeypatch):
    monkeypatch.setenv("FINALIZATION_BATCH_SIZE", "10")
    monkeypatch.setenv("FINALIZATION_PARALLELISM", "2")
    monkeypatch.setenv("CELERY_TRACE_LOG_LEVEL", "INFO")  # the workers log what each task returned
    drafts = _drafts(120)
    with real_workers(count=2) as workers:
        run = finalization_start(filters={}, actor="worker-test")
        done = wait_for(lambda: _completed(run.pk), timeout=300, message=f"the run\n{workers.output()}")
    logs = [log.read_text() for log in workers.logs]  # once stopped: every task's outcome is logged
    assert (done.finalized, done.failed, done.skipped) == (120, 0, 0)
    invoices = list(Invoice.objects.filter(pk__in=[d.pk for d in drafts]).order_by("sequence"))
    assert [i.sequence for i in invoices] == list(range(1, 121))  # gapless, unique
    assert all(i.status == "finalized" for i in invoices)
    # One transaction per batch of at most 10; within each batch, numbers follow the drafts' order.
    batches = defaultdict(list)
    for item in FinalizationItem.objects.filter(run=run).select_related("invoice"):
        batches[item.finished_at].append(item.invoice)
    assert all(len(b) <= 10 for b in batches.values()) and len(batches) >= 12
    for batch in batches.values():
        by_id = [i.sequence for i in sorted(batch, key=lambda i: i.pk)]
        assert by_id == list(range(by_id[0], by_id[0] + len(by_id)))
    # Both workers claimed batches (SKIP LOCKED, not serialized on one of them).
    worked = [
        sum(int(n) for n in re.findall(r"work_finalization_run\[[^\]]+\] succeeded in [^:]+: (\d+)", log))
        for log in logs
    ]
    assert sum(worked) == 120 and all(worked), (worked, [log[-3000:] for log in logs])
    finalized_events = (
        AuditEvent.objects.filter(action="invoice.finalized").values("object_id").annotate(n=Count("id"))
    )
    assert {e["object_id"]: e["n"] for e in finalized_events} == {str(d.pk): 1 for d in drafts}
    assert JournalEntry.objects.filter(source="invoice").count() == 120
