"""Input-method progress (issue 13 point 5, accounting.md §10a, IFRS 15.B18–B19), through the API:
total expected costs and costs incurred per period, append-only and audited; progress = incurred ÷
expected (cumulative, capped, exact unless the obligation states a rounding); a change in the expected
costs or in the price is a cumulative catch-up in the first period not yet recognized."""

from decimal import Decimal

import pytest

from compliance.checks.revenue import allocation_equals_price, schedule_equals_allocation
from revops.core.audit.models import AuditEvent
from revrec.models import ObligationCost
from tests.builders import api_activate

pytestmark = pytest.mark.django_db(transaction=True)

MONTHS_2026 = [f"2026-{m:02d}" for m in range(1, 13)]


@pytest.fixture
def building(api_for, catalog, django_capture_on_commit_callbacks):
    """IFRS 15 IE Example 8 (IE37–IE39): a building for 1,000,000, a 200,000 bonus for completion
    within 24 months (constrained: not included), expected costs 700,000, measured by costs incurred."""
    finance, approver = api_for("finance"), api_for("approver")
    finance.post(
        "/api/v1/customers", {"external_id": "bld", "name": "Build Co", "currency": "USD"}, format="json"
    )

    def make(places=None):
        line = {
            "key": "building",
            "product": "platform",
            "billing": "one_time",
            "amount": "1000000.00",
            "recognition": "ratable_daily",
            "progress_measure": "input",
            "variable_method": "most_likely_amount",
            "variable_estimate": "200000.00",
            "variable_constrained": "0.00",
        }
        if places is not None:
            line["progress_places"] = places
        body = {"customer": "bld", "currency": "USD", "start_date": "2026-01-01", "end_date": "2028-01-01"}
        contract = finance.post("/api/v1/contracts", {**body, "lines": [line]}, format="json").json()
        with django_capture_on_commit_callbacks(execute=True):
            api_activate(finance, contract["id"])
        for s in finance.get("/api/v1/schedules?status=pending_approval").json()["results"]:
            approver.post(f"/api/v1/schedules/{s['id']}/approve", {}, format="json")
        po = finance.get(f"/api/v1/contracts/{contract['id']}").json()["performance_obligations"][0]
        assert po["progress_measure"] == "input"
        return contract, po

    def cost(po, kind, period, amount):
        """Costs incurred are recorded at once (201); total expected costs are an estimate: finance
        submits them (202, nothing changes) and the approver, a second person, approves them."""
        response = finance.post(
            f"/api/v1/obligations/{po['id']}/costs",
            {"kind": kind, "period": period, "amount": amount},
            format="json",
        )
        if kind != "expected_total":
            assert response.status_code == 201, response.json()
            return response.json()
        assert response.status_code == 202, response.json()
        approval = response.json()["approval"]
        decided = approver.post(f"/api/v1/approvals/{approval['id']}/approve", {}, format="json")
        assert decided.status_code == 200 and decided.json()["status"] == "approved", decided.json()
        state = finance.get(f"/api/v1/obligations/{po['id']}/costs").json()
        return {**state["results"][-1], "progress": {k: v for k, v in state.items() if k != "results"}}

    def run(*periods):
        for period in periods:
            with django_capture_on_commit_callbacks(execute=True):
                finance.post("/api/v1/revenue-runs", {"period": period}, format="json")

    def revenue(contract):
        return finance.get(f"/api/v1/contracts/{contract['id']}/schedule").json()["performance_obligations"][
            0
        ]

    def year_one(places=None):
        contract, po = make(places)
        cost(po, "expected_total", "2026-01", "700000.00")
        for period, amount in (("2026-03", "100000.00"), ("2026-06", "150000.00"), ("2026-12", "170000.00")):
            cost(po, "incurred", period, amount)
        run(*MONTHS_2026)
        return contract, po

    return type(
        "B",
        (),
        {
            "make": staticmethod(make),
            "cost": staticmethod(cost),
            "run": staticmethod(run),
            "revenue": staticmethod(revenue),
            "year_one": staticmethod(year_one),
            "finance": finance,
            "approver": approver,
        },
    )


def test_ifrs15_ie8_year_one_progress_60_percent_recognizes_600000(building):
    # IE Example 8, IE39: costs incurred 420,000 of 700,000 expected → 60 % → 600,000 by year end,
    # recognized month by month as the costs were incurred (March, June, December)
    contract, po = building.year_one()
    rev = building.revenue(contract)
    assert rev["recognized_to_date"] == "600000.00"
    periods = {p["period"]: p["amount"] for p in rev["schedule"]["periods"]}
    assert (periods["2026-03"], periods["2026-06"], periods["2026-12"]) == (
        "142857.14",
        "214285.72",
        "242857.14",
    )
    assert periods["2027-12"] == "400000.00"  # not yet earned: scheduled at the end until costs say otherwise
    state = building.finance.get(f"/api/v1/obligations/{po['id']}/costs").json()
    assert (state["expected_total"], state["incurred_to_date"], state["progress_percent"]) == (
        "700000.00",
        "420000.00",
        "60",
    )
    assert len(state["results"]) == 4
    assert AuditEvent.objects.filter(action="obligation.cost_recorded").count() == 4
    assert allocation_equals_price() == [] and schedule_equals_allocation() == []


def test_a_change_in_expected_costs_is_a_cumulative_catch_up_exact_by_default(building):
    # IE Example 8, IE40–IE41 (the cost side alone): expected costs 700,000 → 820,000 with 420,000
    # incurred; progress is exact (§1): 420/820 of 1,000,000 = 512,195.12, so January 2027 reverses
    # 87,804.88 of the 600,000 recognized.
    contract, po = building.year_one()
    response = building.cost(po, "expected_total", "2027-01", "820000.00")
    assert response["progress"]["progress_percent"] == "51.2195"
    building.run("2027-01")
    rev = building.revenue(contract)
    assert rev["recognized_to_date"] == "512195.12"
    periods = {p["period"]: p["amount"] for p in rev["schedule"]["periods"]}
    assert periods["2027-01"] == "-87804.88"
    assert sum(Decimal(a) for a in periods.values()) == Decimal("1000000.00")
    assert schedule_equals_allocation() == []


def test_progress_stated_to_one_decimal_of_a_percent_as_in_the_example(building):
    # IE Example 8 states progress as 51.2 %: with progress_places=1 the obligation rounds the
    # percentage (the stated policy) — 1,000,000 × 51.2 % = 512,000, a catch-up of −88,000
    contract, po = building.year_one(places=1)
    assert (
        building.cost(po, "expected_total", "2027-01", "820000.00")["progress"]["progress_percent"] == "51.2"
    )
    building.run("2027-01")
    assert building.revenue(contract)["recognized_to_date"] == "512000.00"


def test_progress_is_capped_at_one_and_costs_records_are_append_only(building):
    contract, po = building.make()
    building.cost(po, "expected_total", "2026-01", "100.00")
    building.cost(po, "incurred", "2026-02", "150.00")  # over budget: capped at 100 %
    building.run("2026-01", "2026-02")
    assert building.revenue(contract)["recognized_to_date"] == "1000000.00"
    building.cost(po, "incurred", "2026-03", "-60.00")  # a correction is a further record
    building.run("2026-03")
    assert building.revenue(contract)["recognized_to_date"] == "900000.00"
    assert ObligationCost.objects.count() == 3


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"kind": "incurred", "period": "2026-13", "amount": "1"}, 400, "period"),
        ({"kind": "spent", "period": "2026-01", "amount": "1"}, 400, "kind"),
        ({"kind": "expected_total", "period": "2026-01", "amount": "0"}, 400, "amount"),
        ({"kind": "incurred", "period": "2026-01", "amount": "1", "memo": "x"}, 400, "memo"),
        ({"kind": "incurred", "period": "2026-01", "amount": "1"}, 409, None),  # no expected total yet
    ],
)
def test_bad_cost_records_are_problems_and_record_nothing(building, body, status, field):
    _contract, po = building.make()
    response = building.finance.post(f"/api/v1/obligations/{po['id']}/costs", body, format="json")
    assert response.status_code == status, response.json()
    if field:
        assert field in [e["field"] for e in response.json()["errors"]]
    assert not ObligationCost.objects.exists()
