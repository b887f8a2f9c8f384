"""A worker SIGKILLed in the middle of a finalization run (issue 15 acceptance): the batch it held rolls
back whole, the stalled-run resumer sends the run's workers again, and in the end every draft is
finalized once — gapless numbers, one audit event, one journal entry and one outbox event per
invoice, every document rendered."""

from __future__ import annotations

import pytest
from django.db.models import Count

from billing.documents.services import invoice_documents_missing_queue
from billing.invoicing.finalization import finalization_start
from billing.models import FinalizationRun, Invoice
from revops.core.audit.models import AuditEvent
from revops.core.models import OutboxEvent
from revops.core.services.jobs import runs_resume_stalled
from revrec.models import JournalEntry
from tests.billing.invoicing.test_finalization import _drafts
from tests.workers import real_workers, wait_for

pytestmark = [pytest.mark.services, pytest.mark.worker, pytest.mark.django_db(transaction=True)]
N = 150


def _once_per_invoice(rows, ids) -> None:
    counts = {str(r["object_id"]): r["n"] for r in rows.values("object_id").annotate(n=Count("id"))}
    assert counts == {str(pk): 1 for pk in ids}, {k: v for k, v in counts.items() if v != 1}


def test_sigkill_worker_mid_finalization_loses_nothing_and_repeats_nothing(catalog, settings, monkeypatch):
    monkeypatch.setenv("FINALIZATION_BATCH_SIZE", "10")
    settings.BILLING_RUN_STALL_SECONDS = 0
    ids = [d.pk for d in _drafts(N)]
    with real_workers(count=1) as workers:
        run = finalization_start(filters={}, actor="fault-test")
        wait_for(
            lambda: FinalizationRun.objects.get(pk=run.pk).job.progress_done >= 20,
            timeout=180,
            message=f"the finalization to be under way\n{workers.output()}",
        )
        workers.kill(0)  # SIGKILL mid-run: the batch in flight rolls back, nothing of it is kept
        killed = FinalizationRun.objects.get(pk=run.pk)
        assert killed.status != "completed", "the run finished before the kill; make it longer"
        assert Invoice.objects.filter(status="draft").exists()
        workers.start(1)
        assert runs_resume_stalled() == 1  # the beat job re-sends the lost run
        done = wait_for(
            lambda: FinalizationRun.objects.filter(pk=run.pk, status="completed").first(),
            timeout=300,
            message=f"the resumed run\n{workers.output()}",
        )
        # Documents whose render task died with the worker are queued again by the sweep.
        invoice_documents_missing_queue(older_than_seconds=0)
        wait_for(
            lambda: not Invoice.objects.filter(pk__in=ids, pdf_sha256="").exists(),
            timeout=300,
            message=f"every document to be rendered\n{workers.output()}",
        )
    assert (done.finalized, done.failed, done.skipped) == (N, 0, 0)
    invoices = Invoice.objects.filter(pk__in=ids)
    assert not invoices.filter(status="draft").exists()
    assert sorted(invoices.values_list("sequence", flat=True)) == list(range(1, N + 1))  # gapless, unique
    _once_per_invoice(AuditEvent.objects.filter(action="invoice.finalized"), ids)
    _once_per_invoice(AuditEvent.objects.filter(action="invoice.document_stored"), ids)
    _once_per_invoice(OutboxEvent.objects.filter(topic="invoice.finalized"), ids)
    posted = JournalEntry.objects.filter(source_key__startswith="invoice:").values("source_id")
    assert {r["source_id"]: r["n"] for r in posted.annotate(n=Count("id"))} == {str(pk): 1 for pk in ids}
