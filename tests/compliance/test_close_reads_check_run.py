"""The close checklist reads the latest completed check run instead of running the checks (issue 15
§4): it says which run and when, and a change to a financial record after the run started makes it
stale — the close is then refused until the checks run again; a run that leaves a critical exception
open refuses it too."""

from __future__ import annotations

import pytest

from compliance.checks import CHECKS, Check
from compliance.models import CheckRun
from compliance.services.close import checks_status, close_checklist
from compliance.services.exceptions import compliance_run
from tests.builders import through_approval
from tests.closing import close_period

pytestmark = pytest.mark.django_db


def _item(key: str, code: str):
    return next(i for i in close_checklist(key) if i.code == code)


def _credit_note(finance, django_capture_on_commit_callbacks) -> None:
    """A financial change through the API: a goodwill credit note on a January line."""
    from billing.models import InvoiceLine

    line = InvoiceLine.objects.filter(invoice__billing_date="2026-01-01", kind="one_time").get()
    with django_capture_on_commit_callbacks(execute=True):
        note = finance.post(
            "/api/v1/credit-notes",
            {
                "invoice": line.invoice_id,
                "reason": "Goodwill",
                "lines": [{"invoice_line": line.pk, "amount": "10.00"}],
            },
            format="json",
        )
        through_approval(note)  # a credit note is a request until a second person approves it


def test_the_checklist_names_the_latest_run_and_reads_it_without_running_a_check(book, monkeypatch):
    run = compliance_run(trigger="test")

    def crash():
        raise AssertionError("the checklist ran a check")

    monkeypatch.setattr(
        "compliance.checks.CHECKS",
        {code: Check(c.code, c.title, c.invariant, c.severity, crash) for code, c in CHECKS.items()},
    )
    item = _item("2026-01", "checks_current")
    assert item.ok, item.detail
    assert f"Run #{run.pk}" in item.detail and "no financial record changed" in item.detail
    assert f"after check run #{run.pk}" in _item("2026-01", "no_critical_exceptions").detail


def test_a_change_after_the_run_makes_it_stale_and_the_close_waits_for_a_fresh_run(
    book, django_capture_on_commit_callbacks
):
    finance = book["finance"]
    run = compliance_run(trigger="test")
    _credit_note(finance, django_capture_on_commit_callbacks)
    stale = checks_status()
    assert stale.run.pk == run.pk and not stale.current and stale.changes >= 1
    item = _item("2026-01", "checks_current")
    assert not item.ok and f"Run #{run.pk}" in item.detail and "is stale" in item.detail
    assert "(latest: Credit note CN-" in item.detail and "— credit note issued," in item.detail
    assert "billing.creditnote" not in item.detail and "Run the checks again" in item.detail

    refused = finance.post("/api/v1/periods/2026-01/close")
    assert refused.status_code == 409
    assert "checklist.checks_current" in {e["field"] for e in refused.json()["errors"]}

    assert finance.post("/api/v1/compliance/runs").status_code == 201
    assert _item("2026-01", "checks_current").ok
    assert close_period(finance, "2026-01").status_code == 202


def test_compliance_records_and_downloads_after_the_run_do_not_make_it_stale(book, api_for):
    finance = book["finance"]
    run = compliance_run(trigger="test")
    assert api_for("auditor").get("/api/v1/evidence?period=2026-01").status_code == 200
    compliance_run(trigger="test", codes=["audit_chain_intact"])  # a partial run is not the latest full one
    status = checks_status()
    assert status.run.pk != run.pk and status.missing
    assert not status.current and "ran only some checks" in status.detail()
    compliance_run(trigger="test")
    assert checks_status().current
    assert close_period(finance, "2026-01").status_code == 202
    # the close itself (period.closed, its snapshot and checkpoint) changes nothing a check reads
    assert checks_status().current


def test_a_failing_run_refuses_the_close(book):
    from billing.models import Invoice

    finance = book["finance"]
    invoice = Invoice.objects.filter(status__in=["finalized", "paid"]).first()
    Invoice.objects.filter(pk=invoice.pk).update(total=invoice.total + 1)  # a rogue edit, not audited
    compliance_run(trigger="test")
    assert checks_status().current  # fresh, but it found the fault
    refused = finance.post("/api/v1/periods/2026-01/close")
    assert refused.status_code == 409
    fields = {e["field"] for e in refused.json()["errors"]}
    assert fields == {"checklist.no_critical_exceptions"}, refused.json()


def test_no_completed_run_asks_for_one(book):
    CheckRun.objects.update(finished_at=None)  # every run still under way
    item = _item("2026-01", "checks_current")
    assert not item.ok and item.detail == "No completed check run: run the checks."


def test_an_invoice_pdf_stored_after_the_run_does_not_make_it_stale(book, settings, tmp_path):
    """Documents render in the background after finalization (issue 15 §2): storing a PDF changes no
    amount a check reads, so the close does not wait for the renders — a credit note still does."""
    from billing.documents.services import invoice_documents_store
    from billing.models import Invoice
    from revops.core.audit.models import AuditEvent

    settings.MEDIA_ROOT = str(tmp_path)
    invoice = Invoice.objects.filter(status__in=["finalized", "paid"]).order_by("id").first()
    Invoice.objects.filter(pk=invoice.pk).update(pdf_path="", pdf_sha256="")
    run = compliance_run(trigger="test")
    assert invoice_documents_store(invoice_ids=[invoice.pk]) == 1
    assert AuditEvent.objects.filter(seq__gt=run.audit_seq, action="invoice.document_stored").exists()
    status = checks_status()
    assert status.run.pk == run.pk and status.current, status.detail()
