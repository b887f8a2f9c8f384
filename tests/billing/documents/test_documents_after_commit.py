"""Invoice documents off the finalizing transaction (issue 15 §2): finalizing renders nothing; the PDF is
rendered after commit by a task, stored with its SHA-256 and audited; the same bytes come out of any
later render (on demand, after a payment, a re-delivered task)."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction

from billing.documents.drawing import render_invoice_pdf
from billing.documents.services import RENDER_TASK, invoice_document_ensure, invoice_documents_store
from billing.invoicing.build import invoice_build
from billing.invoicing.lifecycle import invoice_finalize, payment_record
from billing.invoicing.selectors import invoice_with_lines
from billing.models import Invoice
from revops.core.audit.models import AuditEvent
from tests.billing.factories import ContractFactory
from tests.builders import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def draft(catalog):
    contract = ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}], start_date=date(2026, 4, 1)
    )
    with transaction.atomic():
        return invoice_build(contract_id=contract.pk, billing_date=date(2026, 4, 1), now=NOW)


def _stored_events(invoice) -> int:
    return AuditEvent.objects.filter(action="invoice.document_stored", object_id=str(invoice.pk)).count()


def test_finalizing_renders_nothing_and_queues_the_document_after_commit(
    draft, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr("revops.core.enqueue.enqueue", lambda task, *args, **kw: sent.append((task, args)))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        with transaction.atomic():
            invoice_finalize(invoice=draft, now=NOW)
        finalized = Invoice.objects.get(pk=draft.pk)
        assert finalized.status == "finalized" and finalized.number
        assert (finalized.pdf_path, finalized.pdf_sha256) == ("", "")  # nothing drawn in the transaction
        assert not list(Path(settings.MEDIA_ROOT).rglob("*.pdf"))
    for callback in callbacks:
        callback()
    assert (RENDER_TASK, ([draft.pk],)) in sent


def test_a_rolled_back_finalization_queues_no_document(draft, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            invoice_finalize(invoice=draft, now=NOW)
            raise RuntimeError("the caller's transaction fails after finalizing")
    assert callbacks == []
    assert Invoice.objects.get(pk=draft.pk).status == "draft"


def test_the_task_stores_path_and_hash_once_and_any_later_render_is_identical(
    draft, django_capture_on_commit_callbacks, media
):
    with transaction.atomic():
        invoice_finalize(invoice=draft, now=NOW)
    before_worker = render_invoice_pdf(invoice_with_lines(draft.pk))  # what an on-demand render gives
    assert invoice_documents_store(invoice_ids=[draft.pk]) == 1  # the worker's task
    invoice = Invoice.objects.get(pk=draft.pk)
    stored = (Path(media) / invoice.pdf_path).read_bytes()
    assert (
        invoice.pdf_sha256 == hashlib.sha256(stored).hexdigest() == hashlib.sha256(before_worker).hexdigest()
    )
    assert stored == before_worker
    # A re-delivered task records nothing and audits nothing more.
    assert invoice_documents_store(invoice_ids=[draft.pk]) == 0
    assert _stored_events(invoice) == 1
    # Paying the invoice changes its status, not its document: a re-render is byte-identical.
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        payment_record(invoice=invoice, amount=invoice.total, paid_on=date(2026, 4, 2))
    paid = invoice_with_lines(draft.pk)
    assert paid.status == "paid" and paid.total == Decimal("10.00")
    assert render_invoice_pdf(paid) == stored


def test_a_download_before_the_worker_renders_on_demand_and_the_worker_then_changes_nothing(draft, media):
    with transaction.atomic():
        invoice_finalize(invoice=draft, now=NOW)
    invoice = invoice_document_ensure(invoice=Invoice.objects.get(pk=draft.pk), actor="test")
    on_demand = (Path(media) / invoice.pdf_path).read_bytes()
    assert hashlib.sha256(on_demand).hexdigest() == invoice.pdf_sha256
    assert invoice_documents_store(invoice_ids=[draft.pk]) == 0  # the late worker: already recorded
    assert Invoice.objects.get(pk=draft.pk).pdf_sha256 == invoice.pdf_sha256
    assert _stored_events(invoice) == 1
    # Drafts have no document: ensure leaves them alone.
    assert invoice_document_ensure(invoice=draft).pdf_sha256 == ""


def test_the_sweep_queues_finalized_invoices_whose_document_task_was_lost(
    draft, monkeypatch, django_capture_on_commit_callbacks
):
    from billing.documents.services import invoice_documents_missing_queue

    with transaction.atomic():
        invoice_finalize(invoice=draft, now=NOW)  # its render task is never run here (no commit)
    sent = []
    monkeypatch.setattr("revops.core.enqueue.enqueue", lambda task, *args, **kw: sent.append((task, args)))
    assert invoice_documents_missing_queue(older_than_seconds=3600) == 0  # not overdue yet
    with django_capture_on_commit_callbacks(execute=True):  # the beat task's commit sends it
        assert invoice_documents_missing_queue(older_than_seconds=0) == 1
    assert sent == [(RENDER_TASK, ([draft.pk],))]
    invoice_documents_store(invoice_ids=[draft.pk])
    assert invoice_documents_missing_queue(older_than_seconds=0) == 0  # recorded: nothing left to sweep


def test_one_failing_render_does_not_hold_back_the_rest_of_its_chunk(
    catalog, media, monkeypatch, settings, caplog, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    from billing.documents import storage
    from billing.documents.services import invoice_documents_missing_queue
    from compliance.checks.invoices import invoice_documents_stored

    ids = []
    for _ in range(3):
        contract = ContractFactory(
            lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}], start_date=date(2026, 4, 1)
        )
        with transaction.atomic():
            built = invoice_build(contract_id=contract.pk, billing_date=date(2026, 4, 1), now=NOW)
            ids.append(invoice_finalize(invoice=built, now=NOW).pk)
    bad = ids[1]
    real = storage.render_invoice_pdf

    def render(invoice):
        if invoice.pk == bad:
            raise OSError("one bad document")
        return real(invoice)

    monkeypatch.setattr(storage, "render_invoice_pdf", render)
    with pytest.raises(OSError, match="one bad document"):  # the task fails visibly...
        invoice_documents_store(invoice_ids=ids)
    # ...after recording its neighbours, audited.
    stored = Invoice.objects.filter(pk__in=ids).exclude(pdf_sha256="")
    assert sorted(stored.values_list("pk", flat=True)) == [ids[0], ids[2]]
    assert all((Path(media) / inv.pdf_path).is_file() for inv in stored)
    assert [_stored_events(Invoice(pk=pk)) for pk in ids] == [1, 0, 1]
    assert any(str(bad) in r.getMessage() and r.exc_info for r in caplog.records)
    # The sweep re-queues the failing invoice alone, and the control names it once the delay has passed.
    sent = []
    monkeypatch.setattr("revops.core.enqueue.enqueue", lambda task, *args, **kw: sent.append((task, args)))
    with django_capture_on_commit_callbacks(execute=True):
        assert invoice_documents_missing_queue(older_than_seconds=0) == 1
    assert sent == [(RENDER_TASK, ([bad],))]
    settings.INVOICE_DOCUMENT_MAX_DELAY_SECONDS = 900
    Invoice.objects.filter(pk__in=ids).update(finalized_at=timezone.now() - timedelta(minutes=16))
    assert [f.object_id for f in invoice_documents_stored()] == [str(bad)]
    # Once the render works again, the retry stores it.
    monkeypatch.setattr(storage, "render_invoice_pdf", real)
    assert invoice_documents_store(invoice_ids=ids) == 1
    assert invoice_documents_stored() == []


def test_the_document_prints_the_parties_as_finalized_not_as_edited_later(draft, media):
    """Rendering is delayed and customers are editable: the stored PDF, and any re-render, shows the
    customer and the issuer as they were when the invoice was finalized."""
    from revops.parties.models import LegalEntity
    from revops.parties.services.customers import customer_update
    from tests.billing.documents.pdftext import pdf_text

    with transaction.atomic():
        invoice_finalize(invoice=draft, now=NOW)
    at_finalization = render_invoice_pdf(invoice_with_lines(draft.pk))
    old_name = draft.customer.name
    customer_update(customer=draft.customer, name="Renamed After Issue GmbH", address="New street 1")
    LegalEntity.objects.filter(pk=draft.legal_entity_id).update(name="Renamed Issuer", tax_id="XX 9")
    assert invoice_documents_store(invoice_ids=[draft.pk]) == 1  # the worker runs later
    invoice = Invoice.objects.get(pk=draft.pk)
    stored = (Path(media) / invoice.pdf_path).read_bytes()
    assert stored == at_finalization == render_invoice_pdf(invoice_with_lines(draft.pk))
    text = pdf_text(stored)
    assert old_name in text and "Renamed" not in text and "XX 9" not in text


def test_the_migration_backfills_invoices_finalized_before_it_from_the_current_rows(draft):
    from importlib import import_module

    from django.apps import apps

    backfill = import_module("billing.migrations.0015_invoice_document_parties").backfill
    with transaction.atomic():
        invoice_finalize(invoice=draft, now=NOW)
    blank = {"issuer_name": "", "issuer_tax_id": "", "bill_to_name": "", "bill_to_external_id": ""}
    Invoice.objects.filter(pk=draft.pk).update(**blank)
    backfill(apps, None)
    invoice = Invoice.objects.select_related("customer", "legal_entity").get(pk=draft.pk)
    assert (invoice.issuer_name, invoice.issuer_tax_id) == (
        invoice.legal_entity.name,
        invoice.legal_entity.tax_id,
    )
    assert (invoice.bill_to_name, invoice.bill_to_external_id) == (
        invoice.customer.name,
        invoice.customer.external_id,
    )
    assert Invoice.objects.filter(status="draft").exclude(bill_to_name="").count() == 0
