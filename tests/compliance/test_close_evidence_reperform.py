"""Period close, evidence pack and re-performance (issue 7 acceptance)."""

import csv
import hashlib
import io
import zipfile
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Sum

from billing.models import InvoiceLine
from compliance.models import ComplianceException
from compliance.services.exceptions import compliance_run
from revops.core.approvals.models import Approval
from revrec.models import AccountingPeriod, JournalEntry, JournalLine
from tests.builders import through_approval
from tests.closing import close_period

pytestmark = pytest.mark.django_db


def test_close_checklist_blocks_until_complete_then_closes(book):
    finance = book["finance"]
    response = finance.post("/api/v1/periods/2026-04/close")
    assert response.status_code == 409
    fields = {e["field"] for e in response.json()["errors"]}
    assert "checklist.revenue_run" in fields
    ok = close_period(finance, "2026-01")
    assert ok.status_code == 202, ok.json()
    assert ok.json()["status"] == "open" and ok.json()["approval"]  # asked; closed once approved
    assert AccountingPeriod.objects.get(period="2026-01").status == "closed"


def test_closed_period_blocks_posting_and_late_correction_lands_in_next_open_period(
    book, django_capture_on_commit_callbacks
):
    finance = book["finance"]
    assert close_period(finance, "2026-01").status_code == 202
    before = JournalEntry.objects.filter(period="2026-01").count()
    # A credit note issued now for a January line: it posts, but not into the closed period.
    line = InvoiceLine.objects.filter(invoice__billing_date="2026-01-01", kind="one_time").get()
    with django_capture_on_commit_callbacks(execute=True):
        note = finance.post(
            "/api/v1/credit-notes",
            {
                "invoice": line.invoice_id,
                "reason": "Goodwill",
                "lines": [{"invoice_line": line.pk, "amount": "100.00"}],
            },
            format="json",
        )
        through_approval(note)  # a credit note is a request until a second person approves it
    assert JournalEntry.objects.filter(period="2026-01").count() == before
    entry = JournalEntry.objects.get(source="credit_note")
    assert entry.period > "2026-01"
    # Re-running January's revenue posts nothing into it either.
    with django_capture_on_commit_callbacks(execute=True):
        finance.post("/api/v1/revenue-runs", {"period": "2026-01"}, format="json")
    assert JournalEntry.objects.filter(period="2026-01").count() == before


def test_reopen_needs_an_approval_from_someone_else(book):
    finance, approver = book["finance"], book["approver"]
    close_period(finance, "2026-01")
    requested = finance.post(
        "/api/v1/periods/2026-01/reopen", {"reason": "late invoice correction"}, format="json"
    )
    assert requested.status_code == 202
    assert AccountingPeriod.objects.get(period="2026-01").status == "closed"
    approval = Approval.objects.get(pk=requested.json()["approval"])
    assert (
        approver.post(
            f"/api/v1/approvals/{approval.pk}/approve", {"comment": "ok"}, format="json"
        ).status_code
        == 200
    )
    assert AccountingPeriod.objects.get(period="2026-01").status == "open"


def test_evidence_pack_unpacks_verifies_and_ties_to_the_journal(book, api_for):
    auditor = api_for("auditor")
    response = auditor.get("/api/v1/evidence?period=2026-02")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = set(archive.namelist())
    assert {
        "policy.json",
        "ssp_versions.csv",
        "allocations.csv",
        "schedules.csv",
        "journal_entries.csv",
        "rollforward.csv",
        "approvals.csv",
        "audit_trail.csv",
        "exceptions.csv",
        "manifest.json",
        "MANIFEST.sha256",
    } <= names
    # sha256sum -c MANIFEST.sha256, done by hand.
    for row in archive.read("MANIFEST.sha256").decode().splitlines():
        digest, name = row.split("  ", 1)
        assert hashlib.sha256(archive.read(name)).hexdigest() == digest, name
    rows = list(csv.DictReader(io.StringIO(archive.read("rollforward.csv").decode())))
    total = next(r for r in rows if r["contract"] == "TOTAL")
    assert total["ties_out"] == "True"
    ledger = JournalLine.objects.filter(
        entry__period="2026-02", account__role__in=["revenue", "revenue_sub"]
    ).aggregate(c=Sum("credit"), d=Sum("debit"))
    assert Decimal(total["recognized"]) == (ledger["c"] or 0) - (ledger["d"] or 0)
    entries = list(csv.DictReader(io.StringIO(archive.read("journal_entries.csv").decode())))
    assert sum(Decimal(r["debit"]) for r in entries) == sum(Decimal(r["credit"]) for r in entries) > 0


def test_reperform_reports_zero_differences_then_a_planted_edit(book, capsys):
    call_command("reperform", period="2026-02")
    assert "0 differences" in capsys.readouterr().out
    line = InvoiceLine.objects.filter(invoice__billing_date="2026-02-01", kind="fee").first()
    InvoiceLine.objects.filter(pk=line.pk).update(amount=line.amount + Decimal("0.01"))
    with pytest.raises(CommandError, match="differences"):
        call_command("reperform", period="2026-02")
    out = capsys.readouterr().out
    assert f"line {line.pk}" in out and "amount" in out


def test_resolve_requires_the_fix_and_waive_requires_an_approver(book):
    finance, approver = book["finance"], book["approver"]
    invoice_line = InvoiceLine.objects.filter(kind="fee").first()
    InvoiceLine.objects.filter(pk=invoice_line.pk).update(amount=invoice_line.amount + 1)
    compliance_run(trigger="test")
    exc = ComplianceException.objects.filter(status="open", check_code="invoice_totals").first()
    still = finance.post(
        f"/api/v1/compliance/exceptions/{exc.pk}/resolve", {"comment": "fixed"}, format="json"
    )
    assert still.status_code == 409
    waiver = finance.post(
        f"/api/v1/compliance/exceptions/{exc.pk}/waive", {"comment": "known rounding"}, format="json"
    )
    assert waiver.status_code == 202
    approval = Approval.objects.get(pk=waiver.json()["approval"])
    assert finance.post(f"/api/v1/approvals/{approval.pk}/approve", {}, format="json").status_code == 403
    assert (
        approver.post(
            f"/api/v1/approvals/{approval.pk}/approve", {"comment": "accepted"}, format="json"
        ).status_code
        == 200
    )
    exc.refresh_from_db()
    assert exc.status == "waived" and "known rounding" in exc.resolution


def test_checks_run_after_a_billing_run(book, django_capture_on_commit_callbacks):
    from compliance.models import CheckRun

    before = CheckRun.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        book["finance"].post("/api/v1/billing-runs", {"as_of": "2026-05-01"}, format="json")
    assert CheckRun.objects.filter(trigger="billing_run").count() >= 1
    assert CheckRun.objects.count() > before
