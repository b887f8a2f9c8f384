"""Removing an over-time line in an amendment (reviewer finding F4, accounting.md §10, IFRS 15.21(a)):
the removed obligation keeps only what it earned through the removal date (its recognized revenue
stands) and its schedule stops there; the rest of the consideration is re-allocated over the remaining
obligations; Σ allocations stays the transaction price."""

from decimal import Decimal

import pytest

from tests.builders import api_activate

pytestmark = pytest.mark.django_db(transaction=True)


def _ok(response, status=(200, 201, 202)):
    assert response.status_code in status, response.json()
    return response.json()


def _contract(finance, approver, capture, second_line):
    _ok(
        finance.post(
            "/api/v1/customers", {"external_id": "rm", "name": "Rm", "currency": "USD"}, format="json"
        )
    )
    contract = _ok(
        finance.post(
            "/api/v1/contracts",
            {
                "customer": "rm",
                "currency": "USD",
                "start_date": "2026-01-01",
                "end_date": "2027-01-01",
                "lines": [{"key": "a", "product": "platform", "unit_price": "100.00"}, second_line],
            },
            format="json",
        )
    )
    with capture(execute=True):
        api_activate(finance, contract["id"])
    for s in _ok(finance.get("/api/v1/schedules?status=pending_approval"))["results"]:
        _ok(approver.post(f"/api/v1/schedules/{s['id']}/approve", {}, format="json"))
    return contract["id"]


def _remove_and_approve(finance, approver, pk, effective_date):
    _ok(
        finance.post(
            f"/api/v1/contracts/{pk}/amend",
            {"effective_date": effective_date, "changes": [{"remove": "b"}]},
            format="json",
        )
    )
    [approval] = [
        a
        for a in _ok(finance.get("/api/v1/approvals?status=pending"))["results"]
        if a["kind"] == "contract_modification"
    ]
    _ok(approver.post(f"/api/v1/approvals/{approval['id']}/approve", {}, format="json"))
    after = _ok(finance.get(f"/api/v1/contracts/{pk}"))
    pos = {po["key"]: po for po in after["performance_obligations"]}
    schedule = {
        po["key"]: {p["period"]: Decimal(p["amount"]) for p in po["schedule"]["periods"]}
        for po in _ok(finance.get(f"/api/v1/contracts/{pk}/schedule"))["performance_obligations"]
    }
    return after, pos, schedule


def test_removed_project_keeps_what_it_earned_and_the_rest_moves_to_the_remaining_obligation(
    api_for, catalog, django_capture_on_commit_callbacks
):
    """A build project (one-time 12,000, recognized monthly over 2026) removed on 1 July, after revenue
    posted through June: it keeps the 6,000 it earned (recognized revenue stands), its schedule ends
    in June; the platform line (1,200, 595.07 earned by June) takes the remaining consideration
    13,200 − 6,000 − 595.07 = 6,604.93 over July–December (15.21(a))."""
    capture = django_capture_on_commit_callbacks
    finance, approver = api_for("finance"), api_for("approver")
    project = {
        "key": "b",
        "product": "seats",
        "billing": "one_time",
        "amount": "12000.00",
        "recognition": "ratable_monthly",
    }
    pk = _contract(finance, approver, capture, project)
    for period in ("2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"):
        with capture(execute=True):
            _ok(finance.post("/api/v1/revenue-runs", {"period": period}, format="json"))
    after, pos, schedule = _remove_and_approve(finance, approver, pk, "2026-07-01")

    assert Decimal(pos["b"]["allocated_amount"]) == Decimal("6000.00")
    assert max(schedule["b"]) == "2026-06" and sum(schedule["b"].values()) == Decimal("6000.00")
    assert Decimal(pos["a"]["allocated_amount"]) == Decimal("7200.00")
    assert sum(v for p, v in schedule["a"].items() if p >= "2026-07") == Decimal("6604.93")
    assert sum(Decimal(po["allocated_amount"]) for po in pos.values()) == Decimal(after["transaction_price"])
    mod = _ok(finance.get(f"/api/v1/contracts/{pk}/modifications"))["results"][0]
    assert mod["proposed_treatment"] == "prospective"
    assert "b" in mod["analysis"]["removed"]


def test_removed_recurring_line_mid_month_keeps_its_days_and_stops_there(
    api_for, catalog, django_capture_on_commit_callbacks
):
    """A 50.00-a-month line removed on 15 July keeps its schedule through June (297.53 of 600 by days)
    and 14 of July's 31 days (50.96 × 14 ÷ 31 = 23.01): 320.54, nothing after July."""
    capture = django_capture_on_commit_callbacks
    finance, approver = api_for("finance"), api_for("approver")
    pk = _contract(finance, approver, capture, {"key": "b", "product": "seats", "unit_price": "50.00"})
    after, pos, schedule = _remove_and_approve(finance, approver, pk, "2026-07-15")

    assert Decimal(pos["b"]["allocated_amount"]) == Decimal("320.54")
    assert max(schedule["b"]) == "2026-07" and schedule["b"]["2026-07"] == Decimal("23.01")
    assert sum(schedule["b"].values()) == Decimal("320.54")
    assert sum(Decimal(po["allocated_amount"]) for po in pos.values()) == Decimal(after["transaction_price"])
    assert sum(schedule["a"].values()) == Decimal(pos["a"]["allocated_amount"])
