"""The grace periods through the API (issue 15 §1, docs/api.md: Invoice auto-finalization): a
customer's own ``auto_finalize_grace_hours`` and the organization's ``/billing-settings``."""

import pytest

from billing.models import BillingSettings
from revops.core.audit.models import AuditEvent
from revops.parties.models import Customer

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def problem(response, status: int = 400) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(PROBLEM)
    return response.json()


def test_a_customer_has_its_own_grace_period_or_none(api_for):
    api = api_for("finance")
    body = {"external_id": "acme", "name": "Acme", "currency": "USD", "auto_finalize_grace_hours": 48}
    created = api.post("/api/v1/customers", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["auto_finalize_grace_hours"] == 48
    plain = api.post("/api/v1/customers", {"external_id": "b", "name": "B", "currency": "USD"}, format="json")
    assert plain.json()["auto_finalize_grace_hours"] is None  # the organization's
    changed = api.patch("/api/v1/customers/acme", {"auto_finalize_grace_hours": 0}, format="json")
    assert changed.status_code == 200 and changed.json()["auto_finalize_grace_hours"] == 0
    assert api.get("/api/v1/customers/acme").json()["auto_finalize_grace_hours"] == 0
    back = api.patch("/api/v1/customers/acme", {"auto_finalize_grace_hours": None}, format="json")
    assert back.json()["auto_finalize_grace_hours"] is None
    assert Customer.objects.get(external_id="acme").auto_finalize_grace_hours is None
    untouched = api.patch("/api/v1/customers/b", {"name": "Bee"}, format="json")
    assert untouched.status_code == 200 and untouched.json()["auto_finalize_grace_hours"] is None


@pytest.mark.parametrize("bad", [-1, 8761, "soon", 1.5, True])
def test_a_bad_grace_period_is_a_problem_naming_the_field(api_for, bad):
    api = api_for("finance")
    api.post("/api/v1/customers", {"external_id": "acme", "name": "Acme", "currency": "USD"}, format="json")
    body = problem(api.patch("/api/v1/customers/acme", {"auto_finalize_grace_hours": bad}, format="json"))
    assert [e["field"] for e in body["errors"]] == ["auto_finalize_grace_hours"]
    assert Customer.objects.get(external_id="acme").auto_finalize_grace_hours is None


def test_the_organizations_grace_period_is_read_and_changed_with_a_version(api_for):
    finance = api_for("finance")
    assert finance.get("/api/v1/billing-settings").json() == {
        "version": 0,
        "auto_finalize_grace_hours": None,
        "reason": "",
        "changed_by": "",
        "changed_at": None,
    }
    changed = finance.patch(
        "/api/v1/billing-settings",
        {"auto_finalize_grace_hours": 72, "reason": "Lago's 3 days"},
        format="json",
    )
    assert changed.status_code == 200, changed.content
    body = changed.json()
    assert (body["version"], body["auto_finalize_grace_hours"]) == (1, 72)
    assert body["changed_by"] == finance.user.username and body["changed_at"]
    assert finance.get("/api/v1/billing-settings").json() == body
    event = AuditEvent.objects.get(action="billing_settings.changed")
    assert event.actor_id == finance.user.pk
    assert event.changes["auto_finalize_grace_hours"] == {"from": None, "to": 72}
    off = finance.patch("/api/v1/billing-settings", {"auto_finalize_grace_hours": None}, format="json")
    assert (off.json()["version"], off.json()["auto_finalize_grace_hours"]) == (2, None)


def test_changing_the_organizations_grace_period_is_checked(api_for):
    finance = api_for("finance")
    path = "/api/v1/billing-settings"
    body = problem(finance.patch(path, {"auto_finalize_grace_hours": -2}, format="json"))
    assert body["errors"][0]["field"] == "auto_finalize_grace_hours"
    body = problem(finance.patch(path, {"reason": "no value"}, format="json"))
    assert body["errors"][0]["field"] == "auto_finalize_grace_hours"
    body = problem(finance.patch(path, {"auto_finalize_grace_hours": 1, "colour": "red"}, format="json"))
    assert body["errors"][0]["field"] == "colour"
    finance.patch(path, {"auto_finalize_grace_hours": 1}, format="json")
    stale = {"auto_finalize_grace_hours": 2, "expected_version": 0}
    problem(finance.patch(path, stale, format="json"), status=409)
    problem(api_for("auditor").patch(path, {"auto_finalize_grace_hours": 5}, format="json"), status=403)
    assert api_for("auditor").get(path).json()["auto_finalize_grace_hours"] == 1
    assert list(BillingSettings.objects.values_list("version", "auto_finalize_grace_hours")) == [(1, 1)]
