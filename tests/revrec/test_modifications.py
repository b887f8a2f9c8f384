"""Contract modifications (issue 6 §7, accounting.md §5): classified, each treatment previewed side by
side, nothing applied before an approver signs off; a catch-up lands in the modification's period."""

from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Sum

from revops.core.approvals.models import Approval
from revrec.models import ContractModification, JournalLine, RevenueSchedule
from revrec.services.modifications import modification_analyze
from revrec.services.periods import period_close
from tests.builders import api_activate, through_override

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def running(api_for, catalog, django_capture_on_commit_callbacks):
    """A 2026 contract at 31.00 a month, schedules approved, revenue posted and Q1 closed."""
    finance, approver = api_for("finance"), api_for("approver")
    finance.post(
        "/api/v1/customers", {"external_id": "mod", "name": "Mod Co", "currency": "USD"}, format="json"
    )
    contract = finance.post(
        "/api/v1/contracts",
        {
            "customer": "mod",
            "currency": "USD",
            "start_date": "2026-01-01",
            "end_date": "2027-01-01",
            "lines": [{"key": "svc", "product": "platform", "unit_price": "31.00"}],
        },
        format="json",
    ).json()
    with django_capture_on_commit_callbacks(execute=True):
        api_activate(finance, contract["id"])
    for s in finance.get("/api/v1/schedules?status=pending_approval").json()["results"]:
        approver.post(f"/api/v1/schedules/{s['id']}/approve", {}, format="json")
    for period in ("2026-01", "2026-02", "2026-03"):
        with django_capture_on_commit_callbacks(execute=True):
            finance.post("/api/v1/revenue-runs", {"period": period}, format="json")
        period_close(key=period)
    return finance, approver, contract


def _recognized(period: str) -> Decimal:
    totals = JournalLine.objects.filter(
        account__role__in=["revenue", "revenue_sub"], entry__period=period
    ).aggregate(c=Sum("credit"), d=Sum("debit"))
    return (totals["c"] or 0) - (totals["d"] or 0)


def test_amendment_is_previewed_and_waits_for_approval(running):
    finance, _approver, contract = running
    finance.post(
        f"/api/v1/contracts/{contract['id']}/amend",
        {"effective_date": "2026-04-01", "changes": [{"line": "svc", "unit_price": "62.00"}]},
        format="json",
    )
    mod = ContractModification.objects.get()
    assert mod.proposed_treatment == "prospective" and "distinct" in mod.reason
    row = mod.analysis["obligations"][0]
    assert row["old_allocation"] == "372.00" and row["new_allocation"] == "651.00"
    # Both treatments computed side by side, each summing to the new allocation.
    for treatment in ("prospective", "cumulative_catch_up"):
        assert sum(Decimal(a) for _p, a in row["options"][treatment]["lines"]) == Decimal("651.00")
    assert Decimal(row["options"]["prospective"]["adjustment"]) == 0
    assert Decimal(row["options"]["cumulative_catch_up"]["adjustment"]) > 0
    # Nothing changed yet: the old schedule is still the approved one.
    assert RevenueSchedule.objects.get(status="approved").amount == Decimal("372.00")
    assert Approval.objects.filter(kind="contract_modification", status="pending").exists()


def test_catch_up_posts_in_the_modification_period_not_in_a_closed_one(
    running, django_capture_on_commit_callbacks
):
    finance, approver, contract = running
    before_q1 = {p: _recognized(p) for p in ("2026-01", "2026-02", "2026-03")}
    finance.post(
        f"/api/v1/contracts/{contract['id']}/amend",
        {"effective_date": "2026-04-01", "changes": [{"line": "svc", "unit_price": "62.00"}]},
        format="json",
    )
    mod = ContractModification.objects.get()
    from revrec.services.modifications import modification_choose

    modification_choose(modification=mod, treatment="cumulative_catch_up")
    # Choosing another treatment voided the request for the proposed one and opened a new request.
    approval = Approval.objects.get(kind="contract_modification", status="pending")
    assert finance.post(f"/api/v1/approvals/{approval.pk}/approve", {}, format="json").status_code == 403
    assert (
        approver.post(
            f"/api/v1/approvals/{approval.pk}/approve", {"comment": "ok"}, format="json"
        ).status_code
        == 200
    )
    new = RevenueSchedule.objects.get(status="approved")
    assert new.treatment == "cumulative_catch_up" and new.amount == Decimal("651.00")
    with django_capture_on_commit_callbacks(execute=True):
        finance.post("/api/v1/revenue-runs", {"period": "2026-04"}, format="json")
    # Closed periods did not change; April carries its own revenue plus the catch-up.
    assert {p: _recognized(p) for p in before_q1} == before_q1
    april = _recognized("2026-04")
    exact_through_march = Decimal("651.00") * 90 / 365 - sum(before_q1.values())
    april_own = Decimal("651.00") * 120 / 365 - Decimal("651.00") * 90 / 365
    assert abs(april - (exact_through_march + april_own)) <= Decimal("0.02")
    assert april > Decimal("62.00")


def test_added_line_at_ssp_is_a_separate_contract(running):
    finance, _approver, contract = running
    through_override(  # a custom-priced line (no plan) waits for a second person first
        finance,
        finance.post(
            f"/api/v1/contracts/{contract['id']}/amend",
            {
                "effective_date": "2026-05-01",
                "changes": [{"add": {"key": "extra", "product": "seats", "unit_price": "5.00"}}],
            },
            format="json",
        ),
    )
    analysis = modification_analyze(contract=ContractModification.objects.get().contract)
    assert analysis["proposed"] == "separate_contract"
    assert date.fromisoformat(str(analysis["effective_date"])) == date(2026, 5, 1)


@pytest.mark.parametrize("series", [False, True])
def test_series_flag_decides_between_catch_up_and_prospective(
    api_for, catalog, django_capture_on_commit_callbacks, series
):
    """Issue 13 point 7, IFRS 15.21(a)/(b), 15.22(b): a single obligation satisfied over time (a build
    project, not a series) re-priced half-way is caught up; the same promise flagged as a series of
    distinct periods is modified prospectively over its remaining periods."""
    finance, approver = api_for("finance"), api_for("approver")
    finance.post(
        "/api/v1/customers", {"external_id": "ser", "name": "Ser Co", "currency": "USD"}, format="json"
    )
    line = {
        "key": "build",
        "product": "seats",
        "billing": "one_time",
        "amount": "12000.00",
        "recognition": "ratable_monthly",
    }
    if series:
        line["series"] = True
    contract = finance.post(
        "/api/v1/contracts",
        {
            "customer": "ser",
            "currency": "USD",
            "start_date": "2026-01-01",
            "end_date": "2027-01-01",
            "lines": [line],
        },
        format="json",
    ).json()
    with django_capture_on_commit_callbacks(execute=True):
        api_activate(finance, contract["id"])
    for s in finance.get("/api/v1/schedules?status=pending_approval").json()["results"]:
        approver.post(f"/api/v1/schedules/{s['id']}/approve", {}, format="json")
    assert (
        finance.get(f"/api/v1/contracts/{contract['id']}").json()["performance_obligations"][0]["series"]
        is series
    )
    response = finance.post(
        f"/api/v1/contracts/{contract['id']}/amend",
        {"effective_date": "2026-07-01", "changes": [{"line": "build", "amount": "18000.00"}]},
        format="json",
    )
    assert response.status_code == 200 and response.json()["transaction_price"] == "18000.00"
    mod = finance.get(f"/api/v1/contracts/{contract['id']}/modifications").json()["results"][0]
    row = mod["analysis"]["obligations"][0]
    assert row["satisfied_to_date"] == "6000.00"
    # Catch-up: 18,000 × 6/12 = 9,000 should have been recognized by June: 3,000 in July.
    assert row["options"]["cumulative_catch_up"]["adjustment"] == "3000.00"
    # Prospective: 6,000 kept, 12,000 over the six remaining months.
    prospective = dict(row["options"]["prospective"]["lines"])
    assert prospective["2026-06"] == "1000.00" and prospective["2026-07"] == "2000.00"
    if series:
        assert mod["proposed_treatment"] == "prospective", mod["reason"]
    else:
        assert mod["proposed_treatment"] == "cumulative_catch_up" and "single" in mod["reason"]
    approval = next(
        a
        for a in finance.get("/api/v1/approvals?status=pending").json()["results"]
        if a["kind"] == "contract_modification"
    )
    assert approver.post(f"/api/v1/approvals/{approval['id']}/approve", {}, format="json").status_code == 200
    periods = finance.get(f"/api/v1/contracts/{contract['id']}/schedule").json()["performance_obligations"][0]
    july = next(p for p in periods["schedule"]["periods"] if p["period"] == "2026-07")
    assert july["amount"] == ("2000.00" if series else "4500.00")  # 1,500 own + 3,000 caught up
