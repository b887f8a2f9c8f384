"""The impact view (issue 3 §4): re-rate customers' last closed period under a draft version and show
old vs new totals per customer before it is published."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import transaction

from billing.catalog.services import plan_version_create
from billing.models import Plan
from billing.pricing_impact import version_impact
from tests.billing.factories import ContractFactory
from tests.builders import day, send_events
from tests.revops.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_draft_version_impact_per_customer(catalog, api_for):
    heavy = CustomerFactory(external_id="heavy")
    light = CustomerFactory(external_id="light")
    ContractFactory(
        lines=[{"key": "sub", "product": "platform", "plan": "hybrid"}],
        start_date=date(2026, 1, 1),
        customer=heavy,
    )
    ContractFactory(
        lines=[{"key": "sub", "product": "platform", "plan": "hybrid"}],
        start_date=date(2026, 1, 1),
        customer=light,
    )
    send_events(
        heavy,
        [
            {"code": "api_calls", "timestamp": day(date(2026, 10, 5)), "transaction_id": f"h{i}"}
            for i in range(3000)
        ],
        received_at=datetime(2026, 11, 2, tzinfo=UTC),
    )
    with transaction.atomic():
        draft = plan_version_create(
            plan=Plan.objects.get(code="hybrid"),
            effective_from=date(2027, 1, 1),
            publish=False,
            charges=[
                {
                    "code": "platform",
                    "product": "platform",
                    "model": "flat",
                    "timing": "in_advance",
                    "properties": {"amount": "120.00"},
                },
                {
                    "code": "api",
                    "product": "api",
                    "meter": "api_calls",
                    "model": "graduated",
                    "properties": {
                        "tiers": [{"up_to": 1000, "unit_amount": "0"}, {"up_to": None, "unit_amount": "0.02"}]
                    },
                },
            ],
        )
    result = version_impact(version=draft, as_of=date(2026, 11, 15))
    rows = {r["customer"]: r for r in result["customers"]}
    # October: heavy 100.00 + 2,000 paid calls x 0.01 = 120.00 now; 120.00 + 2,000 x 0.02 = 160.00 under the draft.
    assert (rows["heavy"]["old"], rows["heavy"]["new"]) == (Decimal("120.00"), Decimal("160.00"))
    assert (rows["light"]["old"], rows["light"]["new"]) == (Decimal("100.00"), Decimal("120.00"))
    assert rows["heavy"]["delta_pct"] == Decimal("33.3")
    assert draft.status == "draft"  # nothing was published or saved
    api = api_for("pricing")
    body = api.get(f"/api/v1/plans/hybrid/versions/{draft.number}/impact?as_of=2026-11-15").json()
    assert {c["customer"]: c["new_total"] for c in body["customers"]} == {
        "heavy": "160.00",
        "light": "120.00",
    }


def test_impact_page_renders(ui_for, catalog):
    ContractFactory(
        lines=[{"key": "sub", "product": "platform", "plan": "hybrid"}], start_date=date(2026, 1, 1)
    )
    client = ui_for("pricing")
    html = client.get("/pricing/plans/hybrid/versions/1/impact?as_of=2026-11-15").content.decode()
    assert "Impact on customers" in html and "100.00" in html
