"""The price impact's CSV export (issue 16 §5): one row per compared contract line, the amounts the
page shows, exact."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from billing.catalog.services import plan_version_create
from billing.models import Plan
from billing.pricing_impact import version_impact
from tests.billing.factories import ContractFactory
from tests.revops.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_impact_csv_has_one_exact_row_per_contract_line(catalog, ui_for):
    for key in ("heavy", "=light"):
        ContractFactory(
            lines=[{"key": "sub", "product": "platform", "plan": "hybrid"}],
            start_date=date(2026, 1, 1),
            customer=CustomerFactory(external_id=key.strip("="), name=key),
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
                    "properties": {"amount": "120.005"},
                }
            ],
        )
    url = f"/pricing/plans/hybrid/versions/{draft.number}/impact?as_of=2026-11-15"
    ui = ui_for("pricing")
    assert 'id="export-csv"' in ui.get(url).content.decode()
    response = ui.get(url + "&format=csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    result = version_impact(version=draft, as_of=date(2026, 11, 15))
    expected = [(c["contract"], c["new"]) for r in result["customers"] for c in r["contracts"]]
    assert [(r["contract"], Decimal(r["this_version"])) for r in rows] == expected and len(rows) == 2
    assert {r["customer"] for r in rows} == {"heavy", "'=light"}
    assert all(
        Decimal(r["difference"]) == Decimal(r["this_version"]) - Decimal(r["current_prices"]) for r in rows
    )
