"""The control ``invoice_documents_stored`` (issue 15 §2): a finalized (or paid, or void) invoice still
without its stored document a bounded delay after finalization is flagged — not before the delay, and
not once the document is stored. It reads the stored columns only."""

from datetime import date, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from billing.invoicing.lifecycle import invoice_void
from billing.models import Invoice
from compliance.checks import CHECKS
from compliance.models import ComplianceException
from compliance.services.exceptions import compliance_run
from tests.billing.factories import ContractFactory, InvoiceFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog")]

CODE = "invoice_documents_stored"


def findings():
    return CHECKS[CODE].run()


@pytest.fixture
def invoice():
    invoice = InvoiceFactory(finalized=True, contract=ContractFactory(start_date=date(2026, 1, 1)))
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.FINALIZED and invoice.pdf_sha256 and invoice.pdf_path
    return invoice


def without_document(invoice, *, finalized_ago: timedelta):
    Invoice.objects.filter(pk=invoice.pk).update(
        pdf_path="", pdf_sha256="", finalized_at=timezone.now() - finalized_ago
    )


def test_an_invoice_with_its_document_is_not_flagged(invoice):
    Invoice.objects.filter(pk=invoice.pk).update(finalized_at=timezone.now() - timedelta(days=30))
    assert findings() == []


def test_no_flag_before_the_delay(invoice, settings):
    settings.INVOICE_DOCUMENT_MAX_DELAY_SECONDS = 900
    without_document(invoice, finalized_ago=timedelta(minutes=14))
    assert findings() == []


def test_flagged_once_the_delay_has_passed(invoice, settings):
    settings.INVOICE_DOCUMENT_MAX_DELAY_SECONDS = 900
    without_document(invoice, finalized_ago=timedelta(minutes=16))
    [finding] = findings()
    assert (finding.object_type, finding.object_id) == ("billing.invoice", str(invoice.pk))
    assert invoice.number in finding.explanation and "15 minutes" in finding.explanation
    run = compliance_run(trigger="test")
    assert run.results[CODE]["status"] == "fail"
    assert ComplianceException.objects.filter(
        check_code=CODE, object_id=str(invoice.pk), status="open"
    ).exists()


def test_the_delay_is_a_setting(invoice, settings):
    without_document(invoice, finalized_ago=timedelta(minutes=16))
    settings.INVOICE_DOCUMENT_MAX_DELAY_SECONDS = 3600
    assert findings() == []


def test_a_stored_hash_without_its_path_is_flagged_and_a_void_invoice_too(invoice):
    Invoice.objects.filter(pk=invoice.pk).update(
        pdf_path="", finalized_at=timezone.now() - timedelta(hours=1)
    )
    assert [f.object_id for f in findings()] == [str(invoice.pk)]
    Invoice.objects.filter(pk=invoice.pk).update(pdf_sha256="")
    invoice_void(invoice=Invoice.objects.get(pk=invoice.pk), reason="test", actor="test")
    assert [f.object_id for f in findings()] == [str(invoice.pk)]


def test_drafts_are_never_flagged():
    draft = InvoiceFactory(contract=ContractFactory(start_date=date(2026, 1, 1)))
    Invoice.objects.filter(pk=draft.pk).update(created_at=timezone.now() - timedelta(days=3))
    assert findings() == []


def _file(invoice):
    from django.conf import settings

    invoice.refresh_from_db()
    return Path(settings.MEDIA_ROOT) / invoice.pdf_path


def test_a_deleted_or_truncated_document_file_is_flagged_at_once(invoice):
    assert invoice.pdf_size == _file(invoice).stat().st_size and findings() == []
    data = _file(invoice).read_bytes()
    _file(invoice).write_bytes(data[:-10])  # truncated
    [finding] = findings()
    assert (
        finding.object_id == str(invoice.pk)
        and f"{len(data) - 10} bytes, {len(data)} recorded" in finding.explanation
    )
    _file(invoice).unlink()  # deleted
    [finding] = findings()
    assert "missing from storage" in finding.explanation and invoice.number in finding.explanation


def test_a_document_changed_in_place_is_found_by_the_rotating_hash_sample(invoice, monkeypatch):
    from unittest import mock

    from compliance.checks import invoices as checks

    other = InvoiceFactory(finalized=True, contract=ContractFactory(start_date=date(2026, 1, 1)))
    for stored in (invoice, other):  # same size, other bytes: only the hash tells
        data = bytearray(_file(stored).read_bytes())
        data[-20] ^= 0x01
        _file(stored).write_bytes(bytes(data))
    monkeypatch.setattr(checks, "DOCUMENT_HASH_SAMPLE", 1)  # one file re-hashed a run
    flagged = []
    for hour in range(2):
        moment = timezone.now().replace(minute=0) + timedelta(hours=hour)
        with mock.patch("django.utils.timezone.now", return_value=moment):
            [finding] = findings()
        assert "no longer matches its recorded SHA-256" in finding.explanation
        flagged.append(finding.object_id)
    assert sorted(flagged) == sorted([str(invoice.pk), str(other.pk)])  # the window moved on
