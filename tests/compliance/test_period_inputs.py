"""Abuse test F10: period filters go through the shared period parser, closing a period before the
books begin is a clear 4xx (not checklist failures), and a payment dated in a closed period says where
it posts — in the UI message and in the API response."""

from __future__ import annotations

import pytest

from billing.models import Invoice
from revrec.models import AccountingPeriod, JournalEntry
from tests.closing import close_period

pytestmark = [pytest.mark.django_db, pytest.mark.real_books_clock]


@pytest.mark.parametrize("period", ["10000-01", "2026-13", "0999-01", "2200-01"])
def test_journal_entry_period_filter_is_validated(book, period):
    response = book["finance"].get(f"/api/v1/journal-entries?period={period}")
    assert response.status_code == 400, response.content
    assert [e["field"] for e in response.json()["errors"]] == ["period"]


def test_closing_a_period_before_the_books_begin_is_a_clear_4xx(book):
    before = sorted(AccountingPeriod.objects.values_list("period", "status"))
    response = book["finance"].post("/api/v1/periods/2025-06/close")
    assert 400 <= response.status_code < 500, response.content
    body = response.json()
    assert "not a period of the books" in body["detail"] and "2026-01" in body["detail"]
    assert not any(e["field"].startswith("checklist.") for e in body["errors"])
    assert sorted(AccountingPeriod.objects.values_list("period", "status")) == before


def test_a_payment_dated_in_a_closed_period_says_where_it_posts(
    book, ui_for, django_capture_on_commit_callbacks
):
    finance = book["finance"]
    for period in ("2026-01", "2026-02"):
        assert close_period(finance, period).status_code == 202
    invoices = list(Invoice.objects.filter(status="finalized").order_by("billing_date"))
    with django_capture_on_commit_callbacks(execute=True):
        response = finance.post(
            f"/api/v1/invoices/{invoices[0].pk}/payments",
            {"amount": "1.00", "date": "2026-02-10", "reference": "api"},
            format="json",
        )
    assert response.status_code == 201, response.content
    assert (response.json()["period"], response.json()["correction_for_period"]) == ("2026-03", "2026-02")
    entry = JournalEntry.objects.get(source="payment", source_id=str(response.json()["id"]))
    assert (entry.period, entry.correction_for_period) == ("2026-03", "2026-02")
    client = ui_for("finance")
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(
            f"/invoices/{invoices[1].pk}/payments/",
            {"amount": "1.00", "date": "2026-01-15", "reference": "ui", "confirm": "1", "paid_before": "0"},
            follow=True,
        )
    assert page.status_code == 200
    html = page.content.decode()
    assert "posts into the first open period 2026-03 as a correction for 2026-01" in html
