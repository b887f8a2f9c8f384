"""Closed periods (issue 12 §1 and the close checklist of §10, accounting.md §9): periods close in order
and reopen from the latest closed one back; a backdated posting lands in the first open period; a change
to a closed period's balances is caught by the control and by re-performance; close needs a full
billing run, the previous period closed and no draft invoice left for the period."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import F

from billing.invoicing.lifecycle import invoice_finalize
from billing.models import Invoice
from compliance.checks.ledger import nothing_posted_in_closed_periods
from revops.core.approvals.models import Approval
from revops.errors import InvalidTransition
from revrec.models import Account, AccountingPeriod, JournalEntry, JournalLine, PeriodCloseSnapshot
from revrec.services.periods import period_close
from tests.closing import close_period

pytestmark = pytest.mark.django_db


def _close(client, *periods):
    for period in periods:
        response = close_period(client, period)
        assert response.status_code == 202, response.json()


def _trial_balances(client, periods) -> str:
    out = {}
    for period in periods:
        end = {"2026-01": "2026-02", "2026-02": "2026-03", "2026-03": "2026-04"}[period]
        for start in (period, "2020-01"):
            response = client.get(f"/api/v1/reports/trial-balance?start={start}&end={end}&currency=USD")
            assert response.status_code == 200
            out[f"{start}..{end}"] = response.json()
        response = client.get(f"/api/v1/reports/deferred-revenue?period={period}&currency=USD")
        out[f"rollforward {period}"] = response.json()
    return json.dumps(out, sort_keys=True)


def _status(period: str) -> str:
    return AccountingPeriod.objects.get(period=period).status


# --- backdated posting ----------------------------------------------------------------------------------


def test_a_payment_dated_before_the_books_lands_in_the_first_open_period(
    book, django_capture_on_commit_callbacks
):
    finance = book["finance"]
    _close(finance, "2026-01", "2026-02")
    before = _trial_balances(finance, ["2026-01", "2026-02"])
    invoice = Invoice.objects.filter(billing_date="2026-02-01").first()
    with django_capture_on_commit_callbacks(execute=True):
        response = finance.post(
            f"/api/v1/invoices/{invoice.pk}/payments",
            {"amount": "25.00", "date": "2025-06-15", "reference": "backdated"},
            format="json",
        )
    assert response.status_code in (200, 201), response.json()
    entry = JournalEntry.objects.get(source="payment")
    # Posted into the first open period, on its first day, as a correction keeping the business date.
    assert (entry.period, entry.date) == ("2026-03", date(2026, 3, 1))
    assert (entry.business_date, entry.correction_for_period) == (date(2025, 6, 15), "2025-06")
    # No "open" period appeared in the past, and the closed months' reports did not move.
    assert not AccountingPeriod.objects.filter(period__lt="2026-01").exists()
    assert _trial_balances(finance, ["2026-01", "2026-02"]) == before
    listed = finance.get("/api/v1/journal-entries?period=2026-03&source=payment")
    assert listed.status_code == 200
    (row,) = listed.json()["results"]
    assert (row["date"], row["correction_for_period"], row["business_date"]) == (
        "2026-03-01",
        "2025-06",
        "2025-06-15",
    )


# --- order of close and reopen --------------------------------------------------------------------------


def test_periods_close_strictly_in_order(book):
    finance = book["finance"]
    refused = finance.post("/api/v1/periods/2026-02/close")
    assert refused.status_code == 409
    body = refused.json()
    assert "checklist.previous_closed" in {e["field"] for e in body["errors"]}
    assert "2026-01 is still open" in body["detail"]
    assert _status("2026-02") == "open"
    # The service refuses on its own too (not only the checklist), also across a gap of months.
    with pytest.raises(InvalidTransition, match="2026-01 is still open"), transaction.atomic():
        period_close(key="2026-02")
    with pytest.raises(InvalidTransition, match="periods close in order"), transaction.atomic():
        period_close(key="2026-11")
    assert not AccountingPeriod.objects.filter(status="closed").exists()
    _close(finance, "2026-01", "2026-02")
    with pytest.raises(InvalidTransition, match="2026-01 is already closed"), transaction.atomic():
        period_close(key="2026-01")
    # Months never posted to are part of the sequence: closing a later one needs them closed first.
    with pytest.raises(InvalidTransition, match="2026-03 is still open"), transaction.atomic():
        period_close(key="2026-06")


def test_periods_reopen_only_from_the_latest_closed_backwards(book):
    finance, approver = book["finance"], book["approver"]
    _close(finance, "2026-01")
    stale = finance.post("/api/v1/periods/2026-01/reopen", {"reason": "late invoice"}, format="json")
    assert stale.status_code == 202
    _close(finance, "2026-02")
    # The request for January was made while January was the latest closed; now February is.
    decided = approver.post(
        f"/api/v1/approvals/{stale.json()['approval']}/approve", {"comment": "ok"}, format="json"
    )
    assert decided.status_code == 409, decided.json()
    assert _status("2026-01") == "closed"
    refused = finance.post("/api/v1/periods/2026-01/reopen", {"reason": "late invoice"}, format="json")
    assert refused.status_code == 409
    assert "not the latest closed period (2026-02)" in refused.json()["detail"]
    feb = finance.post("/api/v1/periods/2026-02/reopen", {"reason": "late invoice"}, format="json")
    assert feb.status_code == 202
    approval = Approval.objects.get(pk=feb.json()["approval"])
    assert (
        approver.post(
            f"/api/v1/approvals/{approval.pk}/approve", {"comment": "ok"}, format="json"
        ).status_code
        == 200
    )
    assert _status("2026-02") == "open"
    jan = finance.post("/api/v1/periods/2026-01/reopen", {"reason": "late invoice"}, format="json")
    assert jan.status_code == 202


# --- the control and re-performance detect a changed closed period --------------------------------------


def _swap_line_amounts(period: str) -> str:
    """Bypass the services: add 1.00 to a debit and a credit line of an entry of ``period`` (the entry
    and the period's trial balance still balance). Returns the debited account's code."""
    entry = JournalEntry.objects.filter(period=period).exclude(lines=None).first()
    debit = entry.lines.filter(debit__gt=0).select_related("account").first()
    credit = entry.lines.filter(credit__gt=0).first()
    JournalLine.objects.filter(pk=debit.pk).update(debit=F("debit") + Decimal("1.00"))
    JournalLine.objects.filter(pk=credit.pk).update(credit=F("credit") + Decimal("1.00"))
    return debit.account.code


def test_the_control_catches_a_changed_line_in_a_closed_period(book):
    _close(book["finance"], "2026-01")
    snapshot = PeriodCloseSnapshot.objects.get(period__period="2026-01")
    assert snapshot.digest and snapshot.lines > 0
    assert nothing_posted_in_closed_periods() == []
    _swap_line_amounts("2026-01")
    findings = nothing_posted_in_closed_periods()
    assert any("2026-01 changed since it closed" in f.explanation for f in findings), findings


def test_the_control_catches_an_entry_planted_before_a_closed_period(book):
    """An entry written straight into the database in a month before the books (so no entry of the
    closed period itself changed), backdated to look old: the balances through January changed."""
    _close(book["finance"], "2026-01")
    cash, revenue = Account.objects.get(role="cash"), Account.objects.get(role="revenue")
    entry = JournalEntry.objects.create(
        date=date(2025, 6, 15),
        period="2025-06",
        source="correction",
        source_type="manual",
        source_id="x",
        source_key="planted",
        memo="planted",
        currency="USD",
    )
    JournalEntry.objects.filter(pk=entry.pk).update(created_at=datetime(2025, 6, 15, tzinfo=UTC))
    JournalLine.objects.create(entry=entry, account=cash, debit=Decimal("500.00"))
    JournalLine.objects.create(entry=entry, account=revenue, credit=Decimal("500.00"))
    findings = nothing_posted_in_closed_periods()
    explanations = " ".join(f.explanation for f in findings)
    assert "2026-01 changed since it closed" in explanations
    assert re.search(r"USD 1000: at close Dr [\d.]+ / Cr [\d.]+, now Dr", explanations)


def test_reperform_detects_a_changed_closed_period_balance(book, capsys):
    _close(book["finance"], "2026-01")
    call_command("reperform", period="2026-01")
    assert "0 differences" in capsys.readouterr().out
    code = _swap_line_amounts("2026-01")
    with pytest.raises(CommandError, match="differences"):
        call_command("reperform", period="2026-01")
    out = capsys.readouterr().out
    assert f"ledger through 2026-01 account {code} (USD) debits" in out


def test_snapshots_are_append_only(book):
    _close(book["finance"], "2026-01")
    snapshot = PeriodCloseSnapshot.objects.get()
    snapshot.digest = "0" * 64
    with pytest.raises(Exception, match="append-only"):
        snapshot.save()
    with pytest.raises(Exception, match="append-only"):
        snapshot.delete()


# --- close checklist ------------------------------------------------------------------------------------


def test_close_needs_a_full_billing_run_and_no_draft_left(book, django_capture_on_commit_callbacks):
    finance = book["finance"]
    _close(finance, "2026-01", "2026-02", "2026-03")
    with django_capture_on_commit_callbacks(execute=True):
        finance.post("/api/v1/revenue-runs", {"period": "2026-04"}, format="json")
        # A run for one customer only, as of the period end: not a billing run of the period.
        finance.post("/api/v1/billing-runs", {"as_of": "2026-05-01", "customers": ["book"]}, format="json")
    refused = finance.post("/api/v1/periods/2026-04/close")
    assert refused.status_code == 409
    failing = {e["field"] for e in refused.json()["errors"]}
    assert {"checklist.billing_run", "checklist.drafts_finalized"} <= failing
    with django_capture_on_commit_callbacks(execute=True):
        finance.post("/api/v1/billing-runs", {"as_of": "2026-05-01"}, format="json")
    # The draft holding April's usage (billed in arrears on 1 May) is still not finalized.
    refused = finance.post("/api/v1/periods/2026-04/close")
    assert refused.status_code == 409
    failing = {e["field"] for e in refused.json()["errors"]}
    assert failing == {"checklist.drafts_finalized"}
    assert _status("2026-04") == "open"
    for invoice in Invoice.objects.filter(status="draft"):
        with transaction.atomic(), django_capture_on_commit_callbacks(execute=True):
            invoice_finalize(invoice=invoice, actor=finance.user, issue_date=date(2026, 4, 30))
    with django_capture_on_commit_callbacks(execute=True):
        finance.post("/api/v1/revenue-runs", {"period": "2026-04"}, format="json")
    _close(finance, "2026-04")


def test_close_page_shows_the_previous_period_item_and_refuses(book, client, make_user):
    user = make_user("finance-ui", "finance")
    client.force_login(user)
    page = client.get("/compliance/periods/2026-02/").content.decode()
    assert "Previous period closed" in page and "2026-01 is still open: periods close in order." in page
    assert "No draft invoice left for the period" in page and "Full billing run complete" in page
    refused = client.post("/compliance/periods/2026-02/close/")
    assert refused.status_code == 409
    assert "2026-02 cannot close yet." in refused.content.decode()
    assert _status("2026-02") == "open"
    _close(book["finance"], "2026-01", "2026-02")
    page = client.get("/compliance/periods/2026-01/").content.decode()
    assert "is not the latest closed period (2026-02)" in page
