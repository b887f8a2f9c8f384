"""Abuse test F9: a price whose quantity × price overflows is a 400 problem naming the field (or a
form error), never a 500, and nothing is half-written — on version creation (the publish check runs
the impact view), the impact view, the simulator, the preview and the approval preview."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import transaction

from billing.models import Charge, PlanVersion
from revops.core.approvals.models import Approval
from revops.core.audit.models import AuditEvent
from tests.billing.factories import ContractFactory
from tests.builders import approve_price_versions

pytestmark = pytest.mark.django_db

SEATS = {"code": "seats", "product": "seats", "model": "standard", "timing": "in_advance"}


def _charges(unit_amount: str) -> list[dict]:
    return [dict(SEATS, properties={"unit_amount": unit_amount})]


@pytest.fixture
def team_seats(api_for, catalog):
    pricing = api_for("pricing")
    response = pricing.post(
        "/api/v1/plans",
        {
            "code": "team-seats",
            "name": "Team seats",
            "currency": "USD",
            "interval": "month",
            "charges": _charges("10.00"),
            "effective_from": "2020-01-01",
        },
        format="json",
    )
    assert response.status_code == 202, response.json()  # back-dated: published once approved
    with transaction.atomic():
        approve_price_versions()
    ContractFactory(
        lines=[{"key": "seats", "product": "seats", "plan": "team-seats", "quantity": "25"}],
        start_date=date(2026, 1, 1),
        end_date=date(2028, 1, 1),
    )
    return pricing


def _written():
    return (
        PlanVersion.objects.count(),
        Charge.objects.count(),
        Approval.objects.count(),
        AuditEvent.objects.count(),
    )


@pytest.mark.parametrize("amount", ["1e30", "1e400"])
def test_version_creation_with_an_overflowing_price_is_a_400_naming_the_field(team_seats, amount):
    before = _written()
    response = team_seats.post(
        "/api/v1/plans/team-seats/versions",
        {"effective_from": "2027-02-01", "charges": _charges(amount)},
        format="json",
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert response["Content-Type"].startswith("application/problem+json")
    assert "charges[0].properties.unit_amount" in {e["field"] for e in body["errors"]}, body
    assert _written() == before


def _draft(pricing, amount="12.00") -> int:
    response = pricing.post(
        "/api/v1/plans/team-seats/versions",
        {"effective_from": "2027-02-01", "charges": _charges(amount), "status": "draft"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()["number"]


def test_a_draft_with_an_overflowing_price_is_refused_too(team_seats):
    before = _written()
    response = team_seats.post(
        "/api/v1/plans/team-seats/versions",
        {"effective_from": "2027-02-01", "charges": _charges("1e30"), "status": "draft"},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "charges[0].properties.unit_amount" in {e["field"] for e in response.json()["errors"]}
    assert _written() == before


def test_charge_editor_shows_a_form_error_for_an_overflowing_price(team_seats, ui_for):
    number = _draft(team_seats)
    client = ui_for("pricing")
    before = _written()
    response = client.post(
        f"/pricing/plans/team-seats/versions/{number}/charges/0/",
        {
            "code": "seats",
            "name": "Seats",
            "product": "seats",
            "meter": "",
            "model": "standard",
            "timing": "in_advance",
            "p-unit_amount": "1e30",
        },
    )
    assert response.status_code == 400
    assert "too large for an invoice" in response.content.decode()
    assert _written() == before
    assert Charge.objects.get(version__number=number, version__plan__code="team-seats").properties == {
        "unit_amount": "12.00"
    }


def test_a_stored_overflowing_draft_is_a_400_in_impact_publish_and_previews(team_seats, ui_for, api_for):
    """A draft stored before the check (or whose contracts grew since): every request path that rates
    it answers with a problem or a form error, never a 500."""
    number = _draft(team_seats)
    Charge.objects.filter(version__number=number, version__plan__code="team-seats").update(
        properties={"unit_amount": "1e30"}
    )
    impact = team_seats.get(f"/api/v1/plans/team-seats/versions/{number}/impact")
    assert impact.status_code == 400, impact.content
    assert "charges[0].properties.unit_amount" in {e["field"] for e in impact.json()["errors"]}
    before = _written()
    publish = team_seats.post(f"/api/v1/plans/team-seats/versions/{number}/publish")
    assert publish.status_code == 400, publish.content
    assert _written() == before
    assert PlanVersion.objects.get(plan__code="team-seats", number=number).status == "draft"
    ui = ui_for("pricing")
    page = ui.get(f"/pricing/plans/team-seats/versions/{number}/impact")
    assert page.status_code == 400 and "too large for an invoice" in page.content.decode()
    page = ui.get(f"/pricing/plans/team-seats/versions/{number}/publish")
    assert page.status_code == 400 and "too large for an invoice" in page.content.decode()
    simulated = team_seats.post(
        "/api/v1/pricing/simulate",
        {"plan": "team-seats", "version": number, "quantities": {"seats": "25"}},
        format="json",
    )
    assert simulated.status_code == 400, simulated.content
