"""Golden tests: IFRS 15 IE Example 6 (the re-estimate after a prospective modification) and IE
Example 8 (input-method progress and a cumulative catch-up), through the public API, exact to the cent
(issue 13 points 4 and 5, accounting.md §10a). Each test cites its paragraphs; the modification step
is the modification engine's (accounting.md §10), the re-estimate and the progress are §10a's."""

from decimal import Decimal

import pytest

from compliance.checks.revenue import allocation_equals_price, schedule_equals_allocation

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def scenario(scenario, catalog):
    """The examples' customer, "IE Co", on the shared catalog (tests/scenario.py)."""
    return scenario.customer("ie", name="IE Co")


def _approve(scenario, response) -> dict:
    """The 202 request a re-estimate or a total expected costs answers with, approved by a second
    person (the approver; maker-checker): returns the approved request."""
    pending = scenario.ok(response, 202)["approval"]
    assert pending["status"] == "pending"
    approved = scenario.ok(
        scenario.approver.post(f"/api/v1/approvals/{pending['id']}/approve", {}, format="json")
    )
    assert approved["status"] == "approved"
    return approved


def _latest_estimate(scenario) -> dict:
    return scenario.ok(scenario.finance.get(f"/api/v1/contracts/{scenario.id}/estimates"))["results"][-1]


def _months(first, last):
    y, m = (int(x) for x in first.split("-"))
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def test_ie6_re_estimate_after_the_prospective_modification(scenario, django_capture_on_commit_callbacks):
    """IFRS 15 IE19–IE24 (Example 6): X and Y at equal SSPs; fixed 1,000 plus variable consideration
    estimated at 200 (most likely amount, not constrained) → 600 each; X is delivered and its 600
    recognized. 15.21(a) (IE22): Z is added for 300 (not its SSP, 600): X keeps 600; 600 + 300 over Y
    and Z → 450 each. IE23–IE24, 15.87–90: the estimate rises to 240; the 40 is allocated on the
    inception basis to X and Y (20 each, 15.90(a)); X's 20 is recognized at once; Y's 20, because of the
    prospective modification, goes to Y and Z (10 each) → X 620, Y 460, Z 460."""
    for code in ("px", "py", "pz"):
        scenario.product(code, "point_in_time")
        scenario.ssp(code, "600.00", "2025-01-01")
    scenario.contract(
        "2026-07-01",
        "2027-07-01",
        [
            {
                "key": "x",
                "product": "px",
                "billing": "one_time",
                "amount": "500.00",
                "service_start": "2026-07-01",
            },
            {
                "key": "y",
                "product": "py",
                "billing": "one_time",
                "amount": "500.00",
                "service_start": "2027-05-03",
                "variable_method": "most_likely_amount",
                "variable_estimate": "200.00",
                "variable_constrained": "200.00",
            },
        ],
        approved_by="approver",
    )
    assert scenario.allocations() == {"x": Decimal("600.00"), "y": Decimal("600.00")}
    scenario.recognize("2026-07")
    assert scenario.recognized()["x"] == Decimal("600.00")

    scenario.amend(
        {
            "effective_date": "2026-11-30",
            "changes": [
                {
                    "add": {
                        "key": "z",
                        "product": "pz",
                        "billing": "one_time",
                        "amount": "300.00",
                        "service_start": "2027-06-30",
                    }
                }
            ],
        }
    )
    mod = scenario.modification()
    assert mod["proposed_treatment"] == "prospective", mod["reason"]
    scenario.approve_as("approver")
    assert scenario.allocations() == {"x": Decimal("600.00"), "y": Decimal("450.00"), "z": Decimal("450.00")}

    scenario.recognize(*_months("2026-08", "2027-02"))
    _approve(
        scenario,
        scenario.finance.post(
            f"/api/v1/contracts/{scenario.id}/estimates",
            {
                "line": "y",
                "method": "most_likely_amount",
                "estimate": "240.00",
                "constrained": "240.00",
                "as_of": "2027-03-31",
                "reason": "IE23: the estimate of variable consideration rises to 240",
            },
            format="json",
        ),
    )
    record = _latest_estimate(scenario)
    assert {r["key"]: (r["share"], r["catch_up"]) for r in record["allocation"]} == {
        "x": ("20.00", "20.00"),
        "y": ("10.00", "0.00"),
        "z": ("10.00", "0.00"),
    }
    assert scenario.allocations() == {"x": Decimal("620.00"), "y": Decimal("460.00"), "z": Decimal("460.00")}
    scenario.recognize("2027-03")
    assert scenario.recognized() == {"x": Decimal("620.00"), "y": Decimal("0.00"), "z": Decimal("0.00")}
    scenario.recognize("2027-04", "2027-05", "2027-06")
    assert scenario.recognized() == {"x": Decimal("620.00"), "y": Decimal("460.00"), "z": Decimal("460.00")}
    contract = scenario.ok(scenario.finance.get(f"/api/v1/contracts/{scenario.id}"))
    assert contract["transaction_price"] == "1540.00"
    assert allocation_equals_price() == [] and schedule_equals_allocation() == []


def _ie8(scenario, places):
    """IFRS 15 IE37–IE39 (Example 8): a building for 1,000,000 over two years, a 200,000 bonus for
    completion within 24 months (most likely amount; constrained to 0 at inception), expected costs
    700,000, progress by costs incurred (input method)."""
    scenario.product("build", "ratable_daily")
    line = {
        "key": "building",
        "product": "build",
        "billing": "one_time",
        "amount": "1000000.00",
        "progress_measure": "input",
        "variable_method": "most_likely_amount",
        "variable_estimate": "200000.00",
        "variable_constrained": "0.00",
    }
    if places is not None:
        line["progress_places"] = places
    scenario.contract("2026-01-01", "2028-01-01", [line], approved_by="approver")
    po = scenario.ok(scenario.finance.get(f"/api/v1/contracts/{scenario.id}"))["performance_obligations"][0]

    def cost(kind, period, amount):
        response = scenario.finance.post(
            f"/api/v1/obligations/{po['id']}/costs",
            {"kind": kind, "period": period, "amount": amount},
            format="json",
        )
        if kind == "expected_total":  # an estimate: approved by a second person
            _approve(scenario, response)
        else:  # costs incurred: a fact, recorded at once
            scenario.ok(response, 201)

    cost("expected_total", "2026-01", "700000.00")
    cost("incurred", "2026-06", "200000.00")
    cost("incurred", "2026-12", "220000.00")
    scenario.recognize(*_months("2026-01", "2026-12"))
    # IE39: 420,000 ÷ 700,000 = 60 % → 600,000 by the end of the first year
    assert scenario.recognized() == {"building": Decimal("600000.00")}
    # IE40–IE41, 15.21(b), 15.88: at the start of year 2 the floor plan changes: +150,000 of price and
    # +120,000 of expected costs; the bonus is now highly probable (constraint released: 200,000)
    _approve(
        scenario,
        scenario.finance.post(
            f"/api/v1/contracts/{scenario.id}/estimates",
            {
                "line": "building",
                "method": "most_likely_amount",
                "estimate": "200000.00",
                "constrained": "200000.00",
                "as_of": "2027-01-01",
                "reason": "IE41: completion within 24 months now highly probable",
            },
            format="json",
        ),
    )
    cost("expected_total", "2027-01", "820000.00")
    scenario.amend(
        {"effective_date": "2027-01-01", "changes": [{"line": "building", "amount": "1150000.00"}]}
    )
    mod = scenario.modification()
    assert mod["proposed_treatment"] == "cumulative_catch_up", mod["reason"]
    scenario.approve_as("approver")
    assert scenario.allocations() == {"building": Decimal("1350000.00")}
    scenario.recognize("2027-01")
    return scenario.schedule()["building"], scenario.recognized()["building"]


def test_ie8_input_method_catch_up_with_progress_stated_as_51_2_percent(scenario):
    """IE42–IE43: progress 51.2 % (420,000 ÷ 820,000, as the standard states it) × 1,350,000 = 691,200
    cumulative − 600,000 recognized = a cumulative catch-up of 91,200 at the modification."""
    schedule, recognized = _ie8(scenario, places=1)
    assert schedule["2027-01"] == Decimal("91200.00")
    assert recognized == Decimal("691200.00")
    assert sum(schedule.values()) == Decimal("1350000.00")
    assert allocation_equals_price() == [] and schedule_equals_allocation() == []


def test_ie8_with_exact_progress_by_default(scenario):
    """The same example with Concord's default exact progress (accounting.md §1): 1,350,000 × 420/820 =
    691,463.41 cumulative, a catch-up of 91,463.41 (the standard's 91,200 rounds progress to 51.2 %)."""
    schedule, recognized = _ie8(scenario, places=None)
    assert schedule["2027-01"] == Decimal("91463.41")
    assert recognized == Decimal("691463.41")
