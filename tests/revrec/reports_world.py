"""The small ledger the report tests share (not a test module: fixtures only).

Two contracts, billed in January and February 2026 and recognized January–March 2026:
- A (customer "Alpha", tax 10%): platform 100.00/month in advance (ratable daily, 1,200.00 a year)
  with API usage in arrears (1,500 calls in January → 500 paid × 0.01 = 5.00, billed on the February
  invoice), and a 1,200.00 one-time onboarding recognized at the start (point in time).
- B (customer named like a spreadsheet formula): 3,600.00 one-time support, billed in January,
  recognized ratably over three years (2026-01-01 → 2029-01-01, 1,096 days).
Invoices are issued on their billing dates; revenue runs post 2026-01, 2026-02 and 2026-03.
Told as a Scenario (tests/scenario.py) and built once per module that reads it (``world``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.urls import include, path

from billing.contracts.models import Contract
from revops import urls as project_urls
from tests.builders import build_catalog, built_once, day, settle_now
from tests.scenario import Scenario

# Mount the revenue pages and report API even before revops/urls.py includes them (first match wins).
urlpatterns = [
    path("api/v1/", include("revrec.api.report_urls")),
    path("", include("revrec.urls")),
    *project_urls.urlpatterns,
]
URLS = __name__

FORMULA_NAME = '=HYPERLINK("http://x","Beta")'


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once per module (``built_once``): the report and page tests only read it."""
    with built_once(django_db_blocker):
        yield build_world()


def build_world() -> dict:
    build_catalog()
    s = Scenario(settle=settle_now, name="reports")
    s.customer("alpha", name="Alpha", tax_rate="10").customer("beta", name=FORMULA_NAME)
    s.contract(
        "2026-01-01",
        "2027-01-01",
        [
            {"key": "platform", "product": "platform", "plan": "hybrid"},
            {"key": "setup", "product": "onboarding", "amount": "1200.00", "billing": "one_time"},
        ],
        key="a",
        customer="alpha",
    ).contract(
        "2026-01-01",
        "2029-01-01",
        [
            {
                "key": "support",
                "product": "platform",
                "amount": "3600.00",
                "billing": "one_time",
                "recognition": "ratable_daily",
            }
        ],
        key="b",
        customer="beta",
    ).approve_as("approver")
    s.usage(
        [
            {"code": "api_calls", "timestamp": day(date(2026, 1, 10)), "transaction_id": f"jan-{i}"}
            for i in range(1500)
        ],
        customer="alpha",
        received_at=datetime(2026, 1, 20, tzinfo=UTC),
    )
    s.bill("2026-01-01", "2026-02-01").finalize().recognize("2026-01", "2026-02", "2026-03")
    return {
        "finance": s.finance,
        "approver": s.approver,
        "a": Contract.objects.get(pk=s.contracts["a"]),
        "b": Contract.objects.get(pk=s.contracts["b"]),
    }
