"""Variable consideration re-estimated (issue 13 point 4, accounting.md §10a, IFRS 15.50–59, 87–90),
through the public API: the change is allocated like at inception and the part that relates to
satisfied obligations is recognized at once, through the revenue run and the ledger."""

from decimal import Decimal

import pytest

from compliance.checks.revenue import allocation_equals_price, schedule_equals_allocation
from revrec.models import VariableEstimate

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(api_for, catalog, django_capture_on_commit_callbacks):
    finance, approver = api_for("finance"), api_for("approver")
    finance.post(
        "/api/v1/customers", {"external_id": "vc", "name": "VC Co", "currency": "USD"}, format="json"
    )

    class World:
        def __init__(self):
            self.finance, self.approver = finance, approver

        def contract(self, lines, start, end):
            response = finance.post(
                "/api/v1/contracts",
                {"customer": "vc", "currency": "USD", "start_date": start, "end_date": end, "lines": lines},
                format="json",
            )
            assert response.status_code == 201, response.json()
            contract = response.json()
            with django_capture_on_commit_callbacks(execute=True):
                assert finance.post(f"/api/v1/contracts/{contract['id']}/activate").status_code == 200
            self.approve_schedules()
            return finance.get(f"/api/v1/contracts/{contract['id']}").json()

        def approve_schedules(self):
            for s in finance.get("/api/v1/schedules?status=pending_approval").json()["results"]:
                assert (
                    approver.post(f"/api/v1/schedules/{s['id']}/approve", {}, format="json").status_code
                    == 200
                )

        def run(self, *periods):
            for period in periods:
                with django_capture_on_commit_callbacks(execute=True):
                    assert (
                        finance.post("/api/v1/revenue-runs", {"period": period}, format="json").status_code
                        == 202
                    )

        def obligations(self, contract):
            pos = finance.get(f"/api/v1/contracts/{contract['id']}/schedule").json()[
                "performance_obligations"
            ]
            return {po["key"]: po for po in pos}

        def submit(self, contract, **body):
            return finance.post(f"/api/v1/contracts/{contract['id']}/estimates", body, format="json")

        def estimate(self, contract, **body):
            """Finance submits the re-estimate (202, nothing changes), the approver approves it (a
            second person, maker-checker); returns the estimate recorded from the approval."""
            response = self.submit(contract, **body)
            assert response.status_code == 202, response.json()
            approval = response.json()["approval"]
            decided = approver.post(f"/api/v1/approvals/{approval['id']}/approve", {}, format="json")
            assert decided.status_code == 200 and decided.json()["status"] == "approved", decided.json()
            return finance.get(f"/api/v1/contracts/{contract['id']}/estimates").json()["results"][-1]

    return World()


def _months(first: str, last: str) -> list[str]:
    y, m = (int(x) for x in first.split("-"))
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _line(key, amount, ssp, start, **extra):
    return {
        "key": key,
        "product": "onboarding",
        "billing": "one_time",
        "amount": amount,
        "ssp": ssp,
        "service_start": start,
        **extra,
    }


def test_inception_estimate_is_in_the_price_and_a_re_estimate_is_allocated_like_at_inception(world):
    # IFRS 15 IE Example 6 (IE19–IE24), before its modification: X and Y, equal SSPs, fixed 1,000 +
    # variable 200 (most likely amount, not constrained) → transaction price 1,200, X 600 and Y 600;
    # X transfers first and its 600 is recognized. Re-estimated 200 → 240 (15.88): the 40 goes 20/20
    # on the inception basis, X's 20 recognized at once (in the period of the change), Y's when Y transfers.
    contract = world.contract(
        [
            _line("x", "500.00", "600", "2026-08-03"),
            _line(
                "y",
                "500.00",
                "600",
                "2027-05-03",
                variable_method="most_likely_amount",
                variable_estimate="200.00",
                variable_constrained="200.00",
            ),
        ],
        "2026-07-01",
        "2027-07-01",
    )
    assert contract["transaction_price"] == "1200.00"
    pos = world.obligations(contract)
    assert (pos["x"]["allocated_amount"], pos["y"]["allocated_amount"]) == ("600.00", "600.00")
    world.run(*_months("2026-07", "2027-02"))
    assert world.obligations(contract)["x"]["recognized_to_date"] == "600.00"

    response = world.estimate(
        contract,
        line="y",
        method="most_likely_amount",
        estimate="240.00",
        constrained="240.00",
        as_of="2027-03-31",
        reason="Q1 review",
    )
    record = response
    assert (record["sequence"], record["previous_constrained"], record["change"]) == (2, "200.00", "40.00")
    by_key = {row["key"]: row for row in record["allocation"]}
    assert (by_key["x"]["share"], by_key["x"]["catch_up"]) == ("20.00", "20.00")
    assert (by_key["y"]["share"], by_key["y"]["catch_up"]) == ("20.00", "0.00")

    world.run("2027-03")
    pos = world.obligations(contract)
    assert (pos["x"]["allocated_amount"], pos["x"]["recognized_to_date"]) == ("620.00", "620.00")
    assert (pos["y"]["allocated_amount"], pos["y"]["recognized_to_date"]) == ("620.00", "0.00")
    march = world.finance.get("/api/v1/journal-entries?period=2027-03&source=recognition").json()["results"]
    assert sum(Decimal(ln["credit"]) for e in march for ln in e["lines"]) == Decimal("20.00")
    assert world.finance.get(f"/api/v1/contracts/{contract['id']}").json()["transaction_price"] == "1240.00"
    # The history is append-only: the inception estimate, then the re-estimate (who, when, as of).
    history = world.finance.get(f"/api/v1/contracts/{contract['id']}/estimates").json()["results"]
    assert [(h["sequence"], h["constrained"], h["as_of"]) for h in history] == [
        (1, "200.00", "2026-07-01"),
        (2, "240.00", "2027-03-31"),
    ]
    assert history[1]["recorded_by"] and history[1]["reason"] == "Q1 review"
    assert allocation_equals_price() == [] and schedule_equals_allocation() == []


def test_ifrs15_ie35_case_b_royalties_split_relative_and_transferred_licence_recognized_at_once(world):
    # IFRS 15 IE183–IE187 (Example 35, Case B): licence X fixed 300 (transfers three months later),
    # licence Y for 5 % royalties (transfers at inception), SSPs 800 and 1,000. 15.85(b) fails, so the
    # fixed 300 is split 133.33 / 166.67; Y's 166.67 is recognized when Y transfers. The first month's
    # royalties of 200 (15.B63: included only as the sales occur) are allocated 88.89 to X and 111.11
    # to Y; Y's 111.11 is recognized at once, X's waits for X.
    contract = world.contract(
        [
            _line("x", "300.00", "800", "2026-04-01"),
            _line(
                "y",
                "0.00",
                "1000",
                "2026-01-01",
                variable_method="expected_value",
                variable_estimate="1500.00",
                variable_constrained="0.00",
            ),
        ],
        "2026-01-01",
        "2027-01-01",
    )
    pos = world.obligations(contract)
    assert (pos["x"]["allocated_amount"], pos["y"]["allocated_amount"]) == ("133.33", "166.67")
    world.run("2026-01")
    assert world.obligations(contract)["y"]["recognized_to_date"] == "166.67"

    response = world.estimate(
        contract,
        line="y",
        method="expected_value",
        estimate="1500.00",
        constrained="200.00",
        as_of="2026-01-31",
        reason="January royalties reported",
    )
    by_key = {row["key"]: row for row in response["allocation"]}
    assert (by_key["x"]["share"], by_key["y"]["share"]) == ("88.89", "111.11")
    world.run("2026-02")
    pos = world.obligations(contract)
    assert (pos["y"]["allocated_amount"], pos["y"]["recognized_to_date"]) == ("277.78", "277.78")
    assert (pos["x"]["allocated_amount"], pos["x"]["recognized_to_date"]) == ("222.22", "0.00")
    world.run("2026-03", "2026-04")
    assert world.obligations(contract)["x"]["recognized_to_date"] == "222.22"


def test_specific_allocation_keeps_the_change_on_its_own_obligation(world):
    # IFRS 15.85 + 15.89: a change in variable consideration allocated entirely to one obligation goes
    # to that obligation alone (here a performance bonus on the build, asserted under both criteria)
    contract = world.contract(
        [
            _line("x", "500.00", "600", "2026-08-03"),
            _line(
                "y",
                "500.00",
                "600",
                "2026-09-01",
                variable_method="most_likely_amount",
                variable_estimate="100.00",
                variable_constrained="0.00",
                variable_allocation="specific",
                relates_specifically=True,
                consistent_with_objective=True,
            ),
        ],
        "2026-07-01",
        "2027-07-01",
    )
    world.run(*_months("2026-07", "2026-10"))
    response = world.estimate(
        contract,
        line="y",
        method="most_likely_amount",
        estimate="100.00",
        constrained="100.00",
        as_of="2026-11-15",
    )
    assert [(r["key"], r["share"], r["catch_up"]) for r in response["allocation"]] == [
        ("y", "100.00", "100.00")
    ]
    world.run("2026-11")
    pos = world.obligations(contract)
    assert (pos["x"]["recognized_to_date"], pos["y"]["recognized_to_date"]) == ("500.00", "600.00")


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"method": "most_likely_amount", "estimate": "100", "constrained": "150"}, 400, "constrained"),
        ({"method": "guess", "estimate": "100", "constrained": "50"}, 400, "method"),
        ({"method": "expected_value", "estimate": "100", "constrained": "50", "note": "x"}, 400, "note"),
        ({"method": "expected_value", "estimate": "100", "constrained": "50", "line": "nope"}, 400, "line"),
    ],
)
def test_bad_estimates_are_problems_and_record_nothing(world, body, status, field):
    contract = world.contract([_line("x", "500.00", "600", "2026-08-03")], "2026-07-01", "2027-07-01")
    response = world.submit(contract, **{"line": "x", "as_of": "2026-09-30", **body})
    assert response.status_code == status, response.json()
    assert field in [e["field"] for e in response.json().get("errors", [{"field": None}])]
    assert not VariableEstimate.objects.exists()


def test_contract_line_refuses_specific_allocation_without_both_criteria_and_unknown_fields(world):
    lines = [
        _line("x", "300.00", "800", "2026-04-01"),
        _line(
            "y",
            "0.00",
            "1000",
            "2026-01-01",
            variable_method="expected_value",
            variable_estimate="10",
            variable_constrained="0",
            variable_allocation="specific",
            relates_specifically=True,
        ),
    ]
    body = {"customer": "vc", "currency": "USD", "start_date": "2026-01-01", "end_date": "2027-01-01"}
    response = world.finance.post("/api/v1/contracts", {**body, "lines": lines}, format="json")
    assert response.status_code == 400
    assert "lines[1].consistent_with_objective" in [e["field"] for e in response.json()["errors"]]
    lines[1].update(consistent_with_objective=True, variable_estimat="10")
    response = world.finance.post("/api/v1/contracts", {**body, "lines": lines}, format="json")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["lines[1].variable_estimat"]


def test_close_checklist_lists_estimates_not_re_assessed_this_period(world):
    # IFRS 15.59: the estimate is updated at the end of each reporting period; closing a period in which
    # it was not re-assessed is refused with the checklist item naming the line
    contract = world.contract(
        [
            _line(
                "y",
                "500.00",
                "600",
                "2026-09-01",
                variable_method="expected_value",
                variable_estimate="200.00",
                variable_constrained="100.00",
            )
        ],
        "2026-07-01",
        "2027-07-01",
    )

    def failing(period):
        response = world.finance.post(f"/api/v1/periods/{period}/close")
        assert response.status_code == 409
        return {e["field"]: e["message"] for e in response.json()["errors"]}

    assert "checklist.estimates_reassessed" not in failing("2026-07")  # estimated at inception in July
    august = failing("2026-08")
    assert f"{contract['number']}/y" in august["checklist.estimates_reassessed"]
    response = world.estimate(
        contract,
        line="y",
        method="expected_value",
        estimate="200.00",
        constrained="100.00",
        as_of="2026-08-31",
    )
    assert response["change"] == "0.00"
    assert "checklist.estimates_reassessed" not in failing("2026-08")


def test_ifrs15_ie35_case_a_through_a_contract_royalties_to_licence_y_alone(world):
    # IFRS 15 IE178–IE182 (Example 35, Case A) as a contract: X fixed 800 (SSP 800), Y royalties
    # estimated at 1,000 (SSP 1,000) asserted under both 15.85 criteria → X 800, Y 1,000 (the estimate
    # is included here to show the allocation; under 15.B63 royalties would enter as sales occur, as in
    # Case B below); the history starts with the estimate at inception.
    contract = world.contract(
        [
            _line("x", "800.00", "800", "2026-01-01"),
            _line(
                "y",
                "0.00",
                "1000",
                "2026-01-01",
                variable_method="expected_value",
                variable_estimate="1000.00",
                variable_constrained="1000.00",
                variable_allocation="specific",
                relates_specifically=True,
                consistent_with_objective=True,
            ),
        ],
        "2026-01-01",
        "2027-01-01",
    )
    assert contract["transaction_price"] == "1800.00"
    pos = world.obligations(contract)
    assert (pos["x"]["allocated_amount"], pos["y"]["allocated_amount"]) == ("800.00", "1000.00")
    history = world.finance.get(f"/api/v1/contracts/{contract['id']}/estimates").json()["results"]
    assert [(h["line"], h["sequence"], h["constrained"]) for h in history] == [("y", 1, "1000.00")]
