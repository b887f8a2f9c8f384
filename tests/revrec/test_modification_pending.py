"""A second amendment while a contract modification waits for approval (reviewer finding F5,
accounting.md §10): it is refused with a 409 problem naming the pending approval, so the first
modification keeps its own effective date (folding them would re-date it to the later one)."""

from decimal import Decimal

import pytest

from tests.builders import api_activate

pytestmark = pytest.mark.django_db(transaction=True)


def _ok(response, status=(200, 201, 202)):
    assert response.status_code in status, response.json()
    return response.json()


def test_second_amendment_while_one_is_pending_is_a_409_and_keeps_the_first_date(
    api_for, catalog, django_capture_on_commit_callbacks
):
    finance, approver = api_for("finance"), api_for("approver")
    _ok(
        finance.post(
            "/api/v1/customers", {"external_id": "f5", "name": "F5", "currency": "USD"}, format="json"
        )
    )
    contract = _ok(
        finance.post(
            "/api/v1/contracts",
            {
                "customer": "f5",
                "currency": "USD",
                "start_date": "2026-01-01",
                "end_date": "2027-01-01",
                "lines": [{"key": "svc", "product": "platform", "unit_price": "31.00"}],
            },
            format="json",
        )
    )
    pk = contract["id"]
    with django_capture_on_commit_callbacks(execute=True):
        api_activate(finance, pk)
    for s in _ok(finance.get("/api/v1/schedules?status=pending_approval"))["results"]:
        _ok(approver.post(f"/api/v1/schedules/{s['id']}/approve", {}, format="json"))
    first = {"effective_date": "2026-04-01", "changes": [{"line": "svc", "unit_price": "62.00"}]}
    _ok(finance.post(f"/api/v1/contracts/{pk}/amend", first, format="json"))
    [approval] = [
        a
        for a in _ok(finance.get("/api/v1/approvals?status=pending"))["results"]
        if a["kind"] == "contract_modification"
    ]

    second = {"effective_date": "2026-07-01", "changes": [{"line": "svc", "unit_price": "93.00"}]}
    refused = finance.post(f"/api/v1/contracts/{pk}/amend", second, format="json")
    assert refused.status_code == 409
    assert refused["Content-Type"].startswith("application/problem+json")
    assert f"#{approval['id']}" in refused.json()["detail"] and "2026-04-01" in refused.json()["detail"]
    after = _ok(finance.get(f"/api/v1/contracts/{pk}"))
    assert after["version"] == 2  # nothing of the second amendment was kept
    [mod] = _ok(finance.get(f"/api/v1/contracts/{pk}/modifications"))["results"]
    assert mod["status"] == "pending_approval" and mod["effective_date"] == "2026-04-01"

    _ok(approver.post(f"/api/v1/approvals/{approval['id']}/approve", {}, format="json"))
    _ok(finance.post(f"/api/v1/contracts/{pk}/amend", second, format="json"))
    mods = _ok(finance.get(f"/api/v1/contracts/{pk}/modifications"))["results"]
    assert sorted((m["effective_date"], m["status"]) for m in mods) == [
        ("2026-04-01", "applied"),
        ("2026-07-01", "pending_approval"),
    ]
    assert Decimal(_ok(finance.get(f"/api/v1/contracts/{pk}"))["transaction_price"]) > Decimal("651.00")
