"""The small ledger the report tests share (not a test module: fixtures only).

Two contracts, billed in January and February 2026 and recognized January–March 2026:
- A (customer "Alpha", tax 10%): platform 100.00/month in advance (ratable daily, 1,200.00 a year)
  with API usage in arrears (1,500 calls in January → 500 paid × 0.01 = 5.00, billed on the February
  invoice), and a 1,200.00 one-time onboarding recognized at the start (point in time).
- B (customer named like a spreadsheet formula): 3,600.00 one-time support, billed in January,
  recognized ratably over three years (2026-01-01 → 2029-01-01, 1,096 days).
Invoices are issued on their billing dates; revenue runs post 2026-01, 2026-02 and 2026-03.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.db import transaction
from django.urls import include, path

from billing.invoicing.lifecycle import invoice_finalize
from billing.models import Invoice
from revops import urls as project_urls
from revops.contracts.models import Contract, Customer
from tests.builders import day, send_events

# Mount the revenue pages and report API even before revops/urls.py includes them (first match wins).
urlpatterns = [
    path("api/v1/", include("revrec.api.report_urls")),
    path("", include("revrec.urls")),
    *project_urls.urlpatterns,
]
URLS = __name__

FORMULA_NAME = '=HYPERLINK("http://x","Beta")'


def _approve_all(finance, approver):
    for sched in finance.get("/api/v1/schedules?status=pending_approval").json()["results"]:
        response = approver.post(f"/api/v1/schedules/{sched['id']}/approve", {"comment": "ok"}, format="json")
        assert response.status_code == 200, response.content


@pytest.fixture
def world(api_for, catalog, django_capture_on_commit_callbacks):
    from revrec.services.runs import revenue_run_start

    finance, approver = api_for("finance"), api_for("approver")
    finance.post(
        "/api/v1/customers",
        {"external_id": "alpha", "name": "Alpha", "currency": "USD", "tax_rate": "10"},
        format="json",
    )
    finance.post(
        "/api/v1/customers", {"external_id": "beta", "name": FORMULA_NAME, "currency": "USD"}, format="json"
    )
    a = finance.post(
        "/api/v1/contracts",
        {
            "customer": "alpha",
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
    b = finance.post(
        "/api/v1/contracts",
        {
            "customer": "beta",
            "currency": "USD",
            "start_date": "2026-01-01",
            "end_date": "2029-01-01",
            "lines": [
                {
                    "key": "support",
                    "product": "platform",
                    "amount": "3600.00",
                    "billing": "one_time",
                    "recognition": "ratable_daily",
                }
            ],
        },
        format="json",
    ).json()
    for contract in (a, b):
        with django_capture_on_commit_callbacks(execute=True):
            assert finance.post(f"/api/v1/contracts/{contract['id']}/activate").status_code == 200
    _approve_all(finance, approver)
    send_events(
        Customer.objects.get(external_id="alpha"),
        [
            {"code": "api_calls", "timestamp": day(date(2026, 1, 10)), "transaction_id": f"jan-{i}"}
            for i in range(1500)
        ],
        received_at=datetime(2026, 1, 20, tzinfo=UTC),
    )
    for as_of in ("2026-01-01", "2026-02-01"):
        with django_capture_on_commit_callbacks(execute=True):
            assert finance.post("/api/v1/billing-runs", {"as_of": as_of}, format="json").status_code == 202
    for invoice in Invoice.objects.filter(status="draft").order_by("billing_date", "id"):
        with transaction.atomic(), django_capture_on_commit_callbacks(execute=True):
            invoice_finalize(invoice=invoice, actor=finance.user, issue_date=invoice.billing_date)
    for period in ("2026-01", "2026-02", "2026-03"):
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                revenue_run_start(period=period, actor=finance.user)
    return {
        "finance": finance,
        "approver": approver,
        "a": Contract.objects.get(pk=a["id"]),
        "b": Contract.objects.get(pk=b["id"]),
    }
