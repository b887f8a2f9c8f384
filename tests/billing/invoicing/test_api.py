"""Customers, contracts and billing API (api.md: Customers, contracts, usage; Billing)."""

from datetime import date

import pytest

from billing.models import Invoice
from tests.builders import api_activate

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance(api_for, catalog):
    return api_for("finance")


def _customer(api, external_id="acme", **extra):
    body = {
        "external_id": external_id,
        "name": "Acme Corp",
        "currency": "USD",
        "timezone": "Europe/Berlin",
        "tax_rate": "19",
        **extra,
    }
    response = api.post("/api/v1/customers", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_customer_create_read_by_external_id_and_patch(finance):
    created = _customer(finance)
    assert created["tax_rate"] == "19" and created["timezone"] == "Europe/Berlin"
    assert finance.get("/api/v1/customers/acme").json()["id"] == created["id"]
    assert finance.get(f"/api/v1/customers/{created['id']}").json()["external_id"] == "acme"
    patched = finance.patch("/api/v1/customers/acme", {"email": "ap@acme.test"}, format="json")
    assert patched.status_code == 200 and patched.json()["email"] == "ap@acme.test"


def test_customer_validation_errors(finance):
    response = finance.post(
        "/api/v1/customers",
        {"external_id": "x", "name": "X", "currency": "USD", "timezone": "Mars/Olympus", "tax_rate": "120"},
        format="json",
    )
    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert "tax_rate" in fields
    response = finance.post(
        "/api/v1/customers",
        {"external_id": "x", "name": "X", "currency": "USD", "timezone": "Mars/Olympus"},
        format="json",
    )
    assert response.json()["errors"][0]["field"] == "timezone"


def test_unknown_customer_is_404_problem(finance):
    response = finance.get("/api/v1/customers/nobody")
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"


CONTRACT = {
    "customer": "acme",
    "currency": "USD",
    "start_date": "2026-01-01",
    "end_date": "2027-01-01",
    "lines": [
        {"key": "platform", "product": "platform", "plan": "hybrid"},
        {"key": "setup", "product": "onboarding", "amount": "1500.00", "billing": "one_time"},
    ],
}


def test_contract_create_activate_and_read(finance, settings):
    settings.PRICE_OVERRIDE_CUSTOM_APPROVAL = True  # as in production: its custom-priced line waits
    _customer(finance)
    created = finance.post("/api/v1/contracts", CONTRACT, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["status"] == "draft" and body["number"].startswith("C-")
    assert body["transaction_price"] == "2700.00"  # 12 x 100.00 platform fee + 1,500.00 setup
    assert [ln["key"] for ln in body["lines"]] == ["platform", "setup"]
    held = finance.post(f"/api/v1/contracts/{body['id']}/activate")  # setup: a custom price (no plan)
    assert held.status_code == 202 and held.json()["status"] == "pending_approval"
    activated = api_activate(finance, body["id"])
    assert activated.status_code == 200 and activated.json()["status"] == "active"
    again = finance.post(f"/api/v1/contracts/{body['id']}/activate")
    assert again.status_code == 409


def test_contract_validation_reports_line_paths(finance):
    _customer(finance)
    bad = {
        **CONTRACT,
        "end_date": "2025-01-01",
        "lines": [
            {"key": "a", "product": "nope"},
            {"key": "a", "product": "platform", "plan": "ghost"},
            {"key": "b", "product": "platform", "quantity": "-1", "unit_price": "5"},
        ],
    }
    response = finance.post("/api/v1/contracts", bad, format="json")
    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"end_date", "lines[0].product", "lines[1].key", "lines[1].plan", "lines[2].quantity"} <= fields


def test_amend_preview_then_amend_then_terminate(finance, api_for):
    _customer(finance)
    contract = finance.post(
        "/api/v1/contracts",
        {
            **CONTRACT,
            "lines": [{"key": "seats", "product": "platform", "unit_price": "10.00", "quantity": "5"}],
        },
        format="json",
    ).json()
    api_activate(finance, contract["id"])
    change = {"effective_date": "2026-07-01", "changes": [{"line": "seats", "quantity": "8"}]}
    preview = finance.post(f"/api/v1/contracts/{contract['id']}/amend/preview", change, format="json")
    assert preview.status_code == 200, preview.json()
    assert preview.json()["transaction_price"] == {"from": "600.00", "to": "780.00"}
    assert finance.get(f"/api/v1/contracts/{contract['id']}").json()["version"] == 1  # preview saved nothing
    amended = finance.post(f"/api/v1/contracts/{contract['id']}/amend", change, format="json").json()
    assert amended["version"] == 2 and amended["transaction_price"] == "780.00"
    revisions = [(ln["key"], ln["revision"], ln["quantity"]) for ln in amended["lines"]]
    assert revisions == [("seats", 1, "5"), ("seats", 2, "8")]
    terminate = {"effective_date": "2026-10-01"}
    waiting = finance.post(f"/api/v1/contracts/{contract['id']}/terminate", terminate, format="json")
    assert waiting.status_code == 409  # the amendment's contract modification waits (accounting.md §10)
    [approval] = [
        a
        for a in finance.get("/api/v1/approvals?status=pending").json()["results"]
        if a["kind"] == "contract_modification"
    ]
    decided = api_for("approver").post(f"/api/v1/approvals/{approval['id']}/approve", {}, format="json")
    assert decided.status_code == 200, decided.json()
    ended = finance.post(
        f"/api/v1/contracts/{contract['id']}/terminate", {"effective_date": "2026-10-01"}, format="json"
    )
    assert ended.status_code == 200, ended.json()
    assert ended.json()["status"] == "terminated"
    assert ended.json()["transaction_price"] == "540.00"  # 6 x 50 + 3 x 80


def test_billing_run_api_returns_202_and_progress(finance, django_capture_on_commit_callbacks):
    _customer(finance)
    contract = finance.post("/api/v1/contracts", CONTRACT, format="json").json()
    api_activate(finance, contract["id"])
    with django_capture_on_commit_callbacks(execute=True):
        response = finance.post("/api/v1/billing-runs", {"as_of": "2026-02-01"}, format="json")
    assert response.status_code == 202
    run = finance.get(f"/api/v1/billing-runs/{response.json()['id']}").json()
    assert run["status"] == "completed" and run["progress"] == {"done": 2, "total": 2}
    assert run["invoices_created"] == 2 and run["failures"] == []
    invoices = finance.get("/api/v1/invoices?customer=acme&status=draft").json()["results"]
    assert len(invoices) == 2
    first = finance.get(f"/api/v1/invoices/{invoices[-1]['id']}").json()
    assert first["number"] is None and first["status"] == "draft"
    assert {ln["description"] for ln in first["lines"]} >= {"Onboarding"}
    assert all(isinstance(ln["amount"], str) for ln in first["lines"])
    assert Invoice.objects.filter(billing_date=date(2026, 1, 1)).get().subtotal == 1600


def test_billing_run_unknown_customer(finance):
    response = finance.post(
        "/api/v1/billing-runs", {"as_of": "2026-02-01", "customers": ["ghost"]}, format="json"
    )
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "customers[0]"


def test_invoice_filters_validate(finance):
    assert finance.get("/api/v1/invoices?status=weird").status_code == 400
    assert finance.get("/api/v1/invoices?period_start=notadate").status_code == 400


def test_pricing_role_cannot_start_billing(api_for):
    assert (
        api_for("pricing").post("/api/v1/billing-runs", {"as_of": "2026-02-01"}, format="json").status_code
        == 403
    )
