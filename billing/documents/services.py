"""Invoice documents off the finalizing transaction (issue 15 §2).

Finalizing an invoice commits its number, totals, postings and audit event without drawing anything;
once it has committed, a worker renders the PDF from the finalized invoice (``RENDER_TASK``, queued
with :func:`invoice_documents_queue`) and records its path and SHA-256 with an audit event. The PDF
depends only on the finalized invoice's stored fields (its dates come from ``finalized_at``), so the
worker, a retried task and an on-demand render (:func:`invoice_document_ensure`, when someone
downloads a document not rendered yet) all produce the same bytes and the same hash; whichever
records it first wins and the others change nothing."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from billing.documents.storage import store_invoice_pdfs
from billing.models import Invoice, InvoiceLine
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record_many
from revops.core.enqueue import enqueue_on_commit

RENDER_TASK = "billing.render_invoice_documents"
# Invoices one render task takes (a finalization batch queues its invoices in tasks of this size).
RENDER_CHUNK = 50
# The sweep re-queues the documents of invoices finalized longer ago than this without one (a render
# task lost with its worker, a broker outage when the finalization committed).
SWEEP_AFTER_SECONDS = 120


def invoice_documents_queue(invoice_ids: Iterable[int]) -> None:
    """Queue the rendering of these finalized invoices' PDFs once the current transaction commits
    (nothing is queued if it rolls back)."""
    ids = sorted({int(i) for i in invoice_ids})
    for start in range(0, len(ids), RENDER_CHUNK):
        enqueue_on_commit(RENDER_TASK, ids[start : start + RENDER_CHUNK])


def _unrendered(invoice_ids: Iterable[int]):
    lines = InvoiceLine.objects.order_by("position", "id")
    return (
        Invoice.objects.filter(pk__in=list(invoice_ids), number__isnull=False, pdf_sha256="")
        .exclude(status=Invoice.Status.DRAFT)
        .select_related("customer", "contract", "legal_entity")
        .prefetch_related(Prefetch("lines", queryset=lines))
        .order_by("pk")
    )


def invoice_documents_store(*, invoice_ids: Iterable[int], actor="documents") -> int:
    """Render and store the PDF of each finalized invoice among ``invoice_ids`` that has none yet, then
    record each path and SHA-256 with its audit event in one short transaction. Safe to run twice or
    concurrently: an invoice whose document another process recorded meanwhile is left as it is (the
    bytes would be the same). Returns how many documents this call recorded.

    An invoice whose document cannot be rendered or written is logged and left without one; the others
    are recorded all the same, then the first such error is raised (the task fails visibly, an on-demand
    download gets the error). The sweep re-queues the one left over (its neighbours are recorded by then)
    and the control ``invoice_documents_stored`` names it once the delay has passed."""
    # The files are written and made durable (fsync per file, then per directory) before any hash is recorded.
    failed: dict[int, Exception] = {}
    rendered = store_invoice_pdfs(_unrendered(invoice_ids), failed=failed)
    recorded = _record(rendered, actor) if rendered else 0
    if failed:
        raise next(iter(failed.values()))
    return recorded


def _record(rendered: dict[int, tuple[str, str]], actor) -> int:
    with transaction.atomic():
        locked = list(
            Invoice.objects.select_for_update()
            .filter(pk__in=list(rendered), pdf_sha256="")
            .only("pk", "number", "pdf_path", "pdf_sha256", "pdf_size")
            .order_by("pk")
        )
        for invoice in locked:
            invoice.pdf_path, invoice.pdf_sha256 = rendered[invoice.pk]
            invoice.pdf_size = (Path(settings.MEDIA_ROOT) / invoice.pdf_path).stat().st_size
        Invoice.objects.bulk_update(locked, ["pdf_path", "pdf_sha256", "pdf_size"])
        audit_record_many(
            [
                {
                    "actor": actor,
                    "action": AuditAction.INVOICE_DOCUMENT_STORED,
                    "obj": invoice,
                    "changes": {
                        "number": invoice.number,
                        "pdf_path": invoice.pdf_path,
                        "pdf_sha256": invoice.pdf_sha256,
                        "pdf_size": invoice.pdf_size,
                    },
                }
                for invoice in locked
            ]
        )
    return len(locked)


def invoice_document_ensure(*, invoice: Invoice, actor=None) -> Invoice:
    """The invoice with its document recorded: a finalized invoice whose PDF the worker has not
    rendered yet is rendered now (the same bytes the worker would store). Drafts are returned as
    they are (they have no document)."""
    if invoice.pdf_sha256 or not invoice.number or invoice.status == Invoice.Status.DRAFT:
        return invoice
    invoice_documents_store(invoice_ids=[invoice.pk], actor=actor or "documents")
    return Invoice.objects.select_related("customer", "contract", "legal_entity").get(pk=invoice.pk)


def invoice_documents_missing_queue(
    *, older_than_seconds: int = SWEEP_AFTER_SECONDS, limit: int = 10_000
) -> int:
    """Beat: queue the rendering of finalized invoices still without their document ``older_than_seconds``
    after finalization (their task was lost). Safe to over-trigger: a recorded document is never
    rendered again. Returns how many invoices were queued."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    ids = list(
        Invoice.objects.filter(pdf_sha256="", number__isnull=False, finalized_at__lte=cutoff)
        .exclude(status=Invoice.Status.DRAFT)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    invoice_documents_queue(ids)
    return len(ids)


def credit_note_pdf(*, credit_note) -> bytes:
    """The credit note's PDF: rendered from the stored credit note (never changed once issued), so the
    same bytes every time."""
    from billing.documents.drawing import render_credit_note_pdf
    from billing.models import CreditNote, CreditNoteLine

    note = (
        CreditNote.objects.select_related("invoice__customer", "invoice__contract", "invoice__legal_entity")
        .prefetch_related(
            Prefetch("lines", queryset=CreditNoteLine.objects.select_related("invoice_line").order_by("id"))
        )
        .get(pk=credit_note.pk)
    )
    return render_credit_note_pdf(note)


def invoice_statement_pdf(*, invoice: Invoice, as_of) -> bytes:
    """The statement of a finalized invoice's balance as of ``as_of`` (payments, payment reversals and
    credit notes recorded by then). A draft has no statement."""
    from billing.documents.drawing import render_statement_pdf
    from billing.documents.storage import InvoicePdfError

    if not invoice.number or invoice.status == Invoice.Status.DRAFT:
        raise InvoicePdfError("Only a finalized invoice has a statement.", field="number")
    invoice = (
        Invoice.objects.select_related("customer", "contract", "legal_entity")
        .prefetch_related(
            Prefetch("payments", queryset=invoice.payments.model.objects.order_by("date", "id")),
            Prefetch(
                "payment_reversals", queryset=invoice.payment_reversals.model.objects.order_by("date", "id")
            ),
            Prefetch(
                "credit_notes", queryset=invoice.credit_notes.model.objects.order_by("issue_date", "id")
            ),
        )
        .get(pk=invoice.pk)
    )
    return render_statement_pdf(invoice, as_of=as_of)
