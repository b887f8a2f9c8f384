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


MONTHS_2026 = [f"2026-{m:02d}" for m in range(1, 13)]


def test_removed_amended_one_time_line_keeps_its_price_and_what_it_earned(scenario, catalog):
    """Reviewer's case: a one-time 12,000 build project (monthly over 2026) amended to 15,000 from
    1 May (backdated after revenue through October: catch-up 2,500, price 16,200), revenue through
    November, then removed from 1 December. A one-time charge is not refunded by a removal (§10): the
    price stays 16,200 and the project keeps the 13,750 it earned (15,000 × 11/12); the platform line takes the rest, 2,450."""
    project = {"key": "b", "product": "seats", "billing": "one_time", "amount": "12000.00"}
    project = {**project, "recognition": "ratable_monthly"}
    lines = [{"key": "a", "product": "platform", "unit_price": "100.00"}, project]
    s = scenario.customer("rm1").contract("2026-01-01", "2027-01-01", lines, approved_by="approver")
    s.recognize(*MONTHS_2026[:10])
    s.amend({"effective_date": "2026-05-01", "changes": [{"line": "b", "amount": "15000.00"}]})
    first = s.modification()
    assert Decimal(first["analysis"]["transaction_price"]["to"]) == Decimal("16200.00")
    s.approve_as("approver", kind="contract_modification").recognize("2026-11")
    assert s.recognized()["b"] == Decimal("13750.00")

    after = s.amend({"effective_date": "2026-12-01", "changes": [{"remove": "b"}]})
    assert Decimal(after["transaction_price"]) == Decimal("16200.00")
    analysis = s.modification()["analysis"]
    assert Decimal(analysis["transaction_price"]["to"]) == Decimal("16200.00")
    rows = {r["key"]: r for r in analysis["obligations"]}
    for treatment in ("prospective", "cumulative_catch_up"):
        options = {k: r["options"][treatment] for k, r in rows.items()}
        assert Decimal(options["b"]["allocation"]) == Decimal("13750.00"), treatment
        assert Decimal(options["a"]["allocation"]) == Decimal("2450.00"), treatment
    s.approve_as("approver", kind="contract_modification")
    assert s.allocations() == {"a": Decimal("2450.00"), "b": Decimal("13750.00")}
    assert max(s.schedule()["b"]) == "2026-11" and s.recognized()["b"] == Decimal("13750.00")


def test_backdated_removal_reverses_what_posted_months_recognized_after_it_and_credits_the_fees(
    scenario, catalog
):
    """Reviewer's case: 100.00 and 50.00 a month over 2026, billed (in advance) and recognized through
    September, then ``b`` removed from 1 July. ``b`` keeps only what it earned through June (297.53 by
    days); the 151.24 its posted July–September months recognized is reversed in October, the first
    open month; its fees from July leave the price (1,500), so ``a`` takes 1,500 − 297.53 = 1,202.47.
    Billing credits the three months billed for after the removal, once each."""
    lines = [
        {"key": "a", "product": "platform", "unit_price": "100.00"},
        {"key": "b", "product": "seats", "unit_price": "50.00"},
    ]
    s = scenario.customer("rm2").contract("2026-01-01", "2027-01-01", lines, approved_by="approver")
    s.bill(*[f"{m}-01" for m in MONTHS_2026[:9]]).finalize().recognize(*MONTHS_2026[:9])
    assert s.recognized()["b"] == Decimal("448.77")

    after = s.amend({"effective_date": "2026-07-01", "changes": [{"remove": "b"}]})
    assert Decimal(after["transaction_price"]) == Decimal("1500.00")
    s.approve_as("approver", kind="contract_modification")
    assert s.allocations() == {"a": Decimal("1202.47"), "b": Decimal("297.53")}
    b = s.schedule()["b"]
    assert sum(v for p, v in b.items() if p <= "2026-06") == Decimal("297.53")
    assert b["2026-10"] == Decimal("-151.24") and max(b) == "2026-10" and sum(b.values()) == Decimal("297.53")
    s.recognize("2026-10")
    assert s.recognized()["b"] == Decimal("297.53")

    s.bill("2026-10-01")
    [draft] = [i for i in s.get("invoices")["results"] if i["status"] == "draft"]
    credits = [ln for ln in draft["lines"] if ln["description"].startswith("Unused time on Seats")]
    assert [Decimal(ln["amount"]) for ln in credits] == [Decimal("-50.00")] * 3
    assert {ln["description"][-11:] for ln in credits} == {"01 Jul 2026", "01 Aug 2026", "01 Sep 2026"}


def test_partly_delivered_removed_line_is_shown_as_removed_not_satisfied_and_amounts_keep_cents(
    scenario, catalog, client
):
    """A 50.00-a-month line removed on 15 July has earned 320.54 of its 600.00: the analysis and the
    approval queue say removed (earned 320.54 of 600.00), never satisfied; every adjustment in the
    analysis and in the approval's bound content is at the currency's minor unit ("0.00")."""
    lines = [
        {"key": "a", "product": "platform", "unit_price": "100.00"},
        {"key": "b", "product": "seats", "unit_price": "50.00"},
    ]
    s = scenario.customer("rm3").contract("2026-01-01", "2027-01-01", lines, approved_by="approver")
    s.amend({"effective_date": "2026-07-15", "changes": [{"remove": "b"}]})
    rows = {r["key"]: r for r in s.modification()["analysis"]["obligations"]}
    assert rows["b"]["removed"] is True and rows["b"]["satisfied"] is False
    assert (rows["b"]["satisfied_to_date"], rows["b"]["old_allocation"]) == ("320.54", "600.00")
    adjustments = [o["adjustment"] for r in rows.values() for o in r["options"].values() if "adjustment" in o]
    assert "0.00" in adjustments and all(len(a.split(".")[-1]) == 2 for a in adjustments)
    [approval] = [
        a for a in s.get("approvals?status=pending")["results"] if a["kind"] == "contract_modification"
    ]
    bound = [o["adjustment"] for o in approval["content"]["content"]["obligations"]]
    assert bound and all(len(a.split(".")[-1]) == 2 for a in bound)

    client.force_login(s.approver.user)
    page = client.get("/approvals/").content.decode()
    assert "earned 320.54 of 600.00" in page
    [row] = [tr for tr in page.split("<tr>") if "earned 320.54 of 600.00" in tr]
    assert ">removed<" in row and ">satisfied<" not in row
