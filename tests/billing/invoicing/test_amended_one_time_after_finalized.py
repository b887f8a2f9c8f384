"""An amended one-time line that was already billed and finalized bills its difference once, on the
next billing date after its own (reviewer finding F1; accounting.md §10: billed or credited once),
instead of every billing run failing with 'Invoice … is already finalized'."""

from decimal import Decimal

import pytest

from billing.models import Invoice, InvoiceLine
from tests.builders import api_activate

pytestmark = pytest.mark.django_db(transaction=True)


def _ok(response, status=(200, 201, 202)):
    assert response.status_code in status, response.json()
    return response.json()


def _run(api, capture, as_of):
    with capture(execute=True):
        run = _ok(api.post("/api/v1/billing-runs", {"as_of": as_of}, format="json"))
    return _ok(api.get(f"/api/v1/billing-runs/{run['id']}"))


def _approve_pending(finance, approver):
    for a in _ok(finance.get("/api/v1/approvals?status=pending"))["results"]:
        _ok(approver.post(f"/api/v1/approvals/{a['id']}/approve", {}, format="json"))


def test_the_difference_of_an_amended_finalized_one_time_line_bills_on_the_next_run(
    api_for, catalog, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    finance, approver = api_for("finance"), api_for("approver")
    _ok(
        finance.post(
            "/api/v1/customers", {"external_id": "f1", "name": "F1", "currency": "USD"}, format="json"
        )
    )
    contract = _ok(
        finance.post(
            "/api/v1/contracts",
            {
                "customer": "f1",
                "currency": "USD",
                "start_date": "2026-12-01",
                "end_date": "2027-12-01",
                "lines": [
                    {
                        "key": "lic",
                        "product": "onboarding",
                        "billing": "one_time",
                        "amount": "1000000.00",
                        "service_start": "2026-12-15",
                    }
                ],
            },
            format="json",
        )
    )
    with capture(execute=True):  # a custom price (no plan): a second person approves it first
        assert api_activate(finance, contract["id"]).json()["status"] == "active"
    _approve_pending(finance, approver)
    run = _run(finance, capture, "2026-12-15")
    assert run["failures"] == [], run
    first = Invoice.objects.get(contract_id=contract["id"])
    _ok(finance.post(f"/api/v1/invoices/{first.pk}/finalize"))

    _ok(
        finance.post(
            f"/api/v1/contracts/{contract['id']}/amend",
            {"effective_date": "2026-12-01", "changes": [{"line": "lic", "amount": "1350000.00"}]},
            format="json",
        )
    )
    _approve_pending(finance, approver)  # the contract modification

    for as_of in ("2026-12-20", "2027-01-10"):
        run = _run(finance, capture, as_of)
        assert run["status"] == "completed" and run["failures"] == [], run
    billed = list(
        InvoiceLine.objects.filter(contract_line__contract_id=contract["id"], kind="one_time")
        .exclude(invoice__status="void")
        .order_by("invoice__billing_date")
        .values_list("invoice__billing_date", "amount")
    )
    assert [a for _d, a in billed] == [Decimal("1000000.00"), Decimal("350000.00")]
    assert str(billed[1][0]) == "2026-12-20"  # the next billing date after the finalized one
    assert sum(a for _d, a in billed) == Decimal(
        _ok(finance.get(f"/api/v1/contracts/{contract['id']}"))["transaction_price"]
    )
