"""A revenue run, a posting or a period may not reach into the future (abuse test F6): a run for
2199-12 used to recognize every remaining schedule line at once and open 2,073 accounting periods."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import CreditGrant, Invoice, Payment
from revops.errors import ValidationFailed
from revrec.models import AccountingPeriod, JournalEntry, RevenueRun, ScheduleLine
from revrec.services.periods import current_key, ensure_period, next_key, period_close, posting_horizon_key
from revrec.services.runs import revenue_run_execute, revenue_run_start
from tests.compliance.conftest import book  # noqa: F401 - the fixture

pytestmark = [pytest.mark.django_db, pytest.mark.real_books_clock]


@pytest.fixture
def long_book(book, django_capture_on_commit_callbacks):  # noqa: F811
    """The book plus a contract running to 2028, so schedule lines lie beyond the current month."""
    finance, approver = book["finance"], book["approver"]
    contract = finance.post(
        "/api/v1/contracts",
        {
            "customer": "book",
            "currency": "USD",
            "start_date": "2026-06-01",
            "end_date": "2028-06-01",
            "lines": [{"key": "platform", "product": "platform", "plan": "hybrid"}],
        },
        format="json",
    ).json()
    with django_capture_on_commit_callbacks(execute=True):
        assert finance.post(f"/api/v1/contracts/{contract['id']}/activate").status_code == 200
    for sched in finance.get("/api/v1/schedules?status=pending_approval").json()["results"]:
        approver.post(f"/api/v1/schedules/{sched['id']}/approve", {"comment": "ok"}, format="json")
    assert ScheduleLine.objects.filter(period__gt=current_key(), schedule__status="approved").exists()
    return book


def _state():
    return (
        RevenueRun.objects.count(),
        JournalEntry.objects.count(),
        ScheduleLine.objects.filter(posted_entry__isnull=False).count(),
        sorted(AccountingPeriod.objects.values_list("period", flat=True)),
    )


@pytest.mark.parametrize("period", ["2199-12", "next"])
def test_api_refuses_a_revenue_run_for_a_future_period(long_book, period, django_capture_on_commit_callbacks):  # noqa: F811
    finance = long_book["finance"]
    period = next_key(current_key()) if period == "next" else period
    before = _state()
    with django_capture_on_commit_callbacks(execute=True):
        response = finance.post("/api/v1/revenue-runs", {"period": period}, format="json")
    assert response.status_code == 400, response.json()
    body = response.json()
    assert response["Content-Type"].startswith("application/problem+json")
    assert [e["field"] for e in body["errors"]] == ["period"]
    assert current_key() in body["detail"]
    assert _state() == before
    assert not AccountingPeriod.objects.filter(period__gt=posting_horizon_key()).exists()


def test_a_run_for_the_current_month_recognizes_only_through_its_end(
    long_book, django_capture_on_commit_callbacks
):
    finance = long_book["finance"]
    today = current_key()
    with django_capture_on_commit_callbacks(execute=True):
        response = finance.post("/api/v1/revenue-runs", {"period": today}, format="json")
    assert response.status_code == 202, response.json()
    assert RevenueRun.objects.get(pk=response.json()["id"]).status == "completed"
    assert ScheduleLine.objects.filter(period__lte=today, posted_entry__isnull=True).count() == 0
    later = ScheduleLine.objects.filter(period__gt=today)
    assert later.exists() and not later.filter(posted_entry__isnull=False).exists()
    assert ScheduleLine.objects.filter(period=today, posted_entry__isnull=False).exists()
    assert not AccountingPeriod.objects.filter(period__gt=posting_horizon_key()).exists()
    assert max(JournalEntry.objects.values_list("period", flat=True)) <= today


def test_ui_refuses_a_future_revenue_run_with_a_form_error(book, ui_for):  # noqa: F811
    client = ui_for("finance")
    before = _state()
    response = client.post("/revenue/runs/", {"period": "2199-12"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="run-error"' in html and "has not begun" in html
    assert _state() == before


def test_service_refuses_a_future_run_and_a_stale_queued_one_recognizes_nothing(book):  # noqa: F811
    # The service itself refuses (the beat task and management commands go through it).
    with pytest.raises(ValidationFailed):
        revenue_run_start(period="2199-12", actor="beat")
    # A run queued before the bound existed fails when executed, posting nothing.
    run = revenue_run_start(period=current_key(), actor="beat")
    RevenueRun.objects.filter(pk=run.pk).update(period="2199-12", status="queued")
    before = JournalEntry.objects.count()
    assert revenue_run_execute(run_id=run.pk) == 0
    run.refresh_from_db()
    assert run.status == "failed" and "has not begun" in run.error
    assert JournalEntry.objects.count() == before
    assert not AccountingPeriod.objects.filter(period__gt=posting_horizon_key()).exists()


def test_no_period_opens_beyond_next_month(book):  # noqa: F811
    finance = book["finance"]
    before = _state()
    with pytest.raises(ValidationFailed):
        ensure_period("2199-12")
    response = finance.post("/api/v1/periods/2199-12/close")
    assert 400 <= response.status_code < 500, response.json()
    with pytest.raises(ValidationFailed):
        period_close(key="2199-12")
    assert _state() == before
    ensure_period(posting_horizon_key())  # next month may open (billing in advance)
    assert AccountingPeriod.objects.filter(period=posting_horizon_key()).exists()


def test_a_payment_dated_in_the_future_is_refused(book, django_capture_on_commit_callbacks):  # noqa: F811
    finance = book["finance"]
    invoice = Invoice.objects.filter(status="finalized").first()
    before = _state()
    for day in (timezone.localdate() + timedelta(days=1), "2199-12-31"):
        with django_capture_on_commit_callbacks(execute=True):
            response = finance.post(
                f"/api/v1/invoices/{invoice.pk}/payments",
                {"amount": "1.00", "date": str(day), "reference": "future"},
                format="json",
            )
        assert response.status_code == 400, response.json()
        assert [e["field"] for e in response.json()["errors"]] == ["date"]
    assert not Payment.objects.exists()
    assert _state() == before


def test_a_credit_grant_dated_in_the_future_is_refused(book, django_capture_on_commit_callbacks):  # noqa: F811
    finance = book["finance"]
    before = _state()
    with django_capture_on_commit_callbacks(execute=True):
        response = finance.post(
            "/api/v1/customers/book/credit-grants",
            {"amount": "100.00", "granted_on": "2199-06-01", "kind": "purchased"},
            format="json",
        )
    assert response.status_code == 400, response.json()
    assert "granted_on" in [e["field"] for e in response.json()["errors"]]
    assert not CreditGrant.objects.exists()
    assert _state() == before
