"""A small but complete book: one contract billed and recognized for Q1 2026 through the API."""

from datetime import UTC, date, datetime

import pytest

from billing.models import Invoice
from tests.builders import api_activate, day, send_events


@pytest.fixture
def book(api_for, catalog, django_capture_on_commit_callbacks):
    finance, approver = api_for("finance"), api_for("approver")
    finance.post(
        "/api/v1/customers",
        {"external_id": "book", "name": "Book Ltd", "currency": "USD", "tax_rate": "10"},
        format="json",
    )
    contract = finance.post(
        "/api/v1/contracts",
        {
            "customer": "book",
            "currency": "USD",
            "start_date": "2026-01-01",
            "end_date": "2027-01-01",
            "lines": [
                {"key": "platform", "product": "platform", "plan": "hybrid"},
                {"key": "setup", "product": "onboarding", "amount": "1200.00", "billing": "one_time"},
            ],
        },
        format="json",
    ).json()
    with django_capture_on_commit_callbacks(execute=True):
        api_activate(finance, contract["id"])
    for sched in finance.get("/api/v1/schedules?status=pending_approval").json()["results"]:
        approver.post(f"/api/v1/schedules/{sched['id']}/approve", {"comment": "ok"}, format="json")
    from revops.contracts.models import Customer

    send_events(
        Customer.objects.get(external_id="book"),
        [
            {"code": "api_calls", "timestamp": day(date(2026, m, 10)), "transaction_id": f"b{m}-{i}"}
            for m in (1, 2, 3)
            for i in range(1000 + 100 * m)
        ],
        received_at=datetime(2026, 4, 1, tzinfo=UTC),
    )
    for as_of in ("2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01"):
        with django_capture_on_commit_callbacks(execute=True):
            finance.post("/api/v1/billing-runs", {"as_of": as_of}, format="json")
    for invoice in Invoice.objects.filter(status="draft").order_by("billing_date"):
        with django_capture_on_commit_callbacks(execute=True):
            finance.post(f"/api/v1/invoices/{invoice.pk}/finalize")
    for period in ("2026-01", "2026-02", "2026-03"):
        with django_capture_on_commit_callbacks(execute=True):
            finance.post("/api/v1/revenue-runs", {"period": period}, format="json")
    return {"finance": finance, "approver": approver, "contract": contract}
