"""Golden tests: IFRS 15 IE Example 6 (the re-estimate after a prospective modification) and IE
Example 8 (input-method progress and a cumulative catch-up), through the public API, exact to the cent
(issue 13 points 4 and 5, accounting.md §10a). Each test cites its paragraphs; the modification step
is the modification engine's (accounting.md §10), the re-estimate and the progress are §10a's."""

from decimal import Decimal

import pytest

from compliance.checks.invariants import allocation_equals_price, schedule_equals_allocation
from tests.revrec.test_ifrs15_examples import World

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(api_for, catalog, django_capture_on_commit_callbacks):
    return World(api_for, django_capture_on_commit_callbacks)


def _run(world, *periods):
    for period in periods:
        with world.capture(execute=True):
            world.ok(world.finance.post("/api/v1/revenue-runs", {"period": period}, format="json"))


def _recognized(world) -> dict[str, Decimal]:
    pos = world.ok(world.finance.get(f"/api/v1/contracts/{world.id}/schedule"))["performance_obligations"]
    return {po["line_keys"][0]: Decimal(po["recognized_to_date"]) for po in pos if not po["variable"]}


def _approve(world, response) -> dict:
    """The 202 request a re-estimate or a total expected costs answers with, approved by a second
    person (the approver; maker-checker): returns the approved request."""
    pending = world.ok(response, 202)["approval"]
    assert pending["status"] == "pending"
    approved = world.ok(world.approver.post(f"/api/v1/approvals/{pending['id']}/approve", {}, format="json"))
    assert approved["status"] == "approved"
    return approved


def _latest_estimate(world) -> dict:
    return world.ok(world.finance.get(f"/api/v1/contracts/{world.id}/estimates"))["results"][-1]


def _months(first, last):
    y, m = (int(x) for x in first.split("-"))
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def test_ie6_re_estimate_after_the_prospective_modification(world, django_capture_on_commit_callbacks):
    """IFRS 15 IE19–IE24 (Example 6): X and Y at equal SSPs; fixed 1,000 plus variable consideration
    estimated at 200 (most likely amount, not constrained) → 600 each; X is delivered and its 600
    recognized. 15.21(a) (IE22): Z is added for 300 (not its SSP, 600): X keeps 600; 600 + 300 over Y
    and Z → 450 each. IE23–IE24, 15.87–90: the estimate rises to 240; the 40 is allocated on the
    inception basis to X and Y (20 each, 15.90(a)); X's 20 is recognized at once; Y's 20, because of the
    prospective modification, goes to Y and Z (10 each) → X 620, Y 460, Z 460."""
    for code in ("px", "py", "pz"):
        world.product(code, "point_in_time")
        world.ssp(code, "600.00", "2025-01-01")
    world.contract(
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
    )
    assert world.allocations() == {"x": Decimal("600.00"), "y": Decimal("600.00")}
    _run(world, "2026-07")
    assert _recognized(world)["x"] == Decimal("600.00")

    world.amend(
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
    mod = world.modification()
    assert mod["proposed_treatment"] == "prospective", mod["reason"]
    world.approve_pending()
    assert world.allocations() == {"x": Decimal("600.00"), "y": Decimal("450.00"), "z": Decimal("450.00")}

    _run(world, *_months("2026-08", "2027-02"))
    _approve(
        world,
        world.finance.post(
            f"/api/v1/contracts/{world.id}/estimates",
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
    record = _latest_estimate(world)
    assert {r["key"]: (r["share"], r["catch_up"]) for r in record["allocation"]} == {
        "x": ("20.00", "20.00"),
        "y": ("10.00", "0.00"),
        "z": ("10.00", "0.00"),
    }
    assert world.allocations() == {"x": Decimal("620.00"), "y": Decimal("460.00"), "z": Decimal("460.00")}
    _run(world, "2027-03")
    assert _recognized(world) == {"x": Decimal("620.00"), "y": Decimal("0.00"), "z": Decimal("0.00")}
    _run(world, "2027-04", "2027-05", "2027-06")
    assert _recognized(world) == {"x": Decimal("620.00"), "y": Decimal("460.00"), "z": Decimal("460.00")}
    contract = world.ok(world.finance.get(f"/api/v1/contracts/{world.id}"))
    assert contract["transaction_price"] == "1540.00"
    assert allocation_equals_price() == [] and schedule_equals_allocation() == []


def _ie8(world, places):
    """IFRS 15 IE37–IE39 (Example 8): a building for 1,000,000 over two years, a 200,000 bonus for
    completion within 24 months (most likely amount; constrained to 0 at inception), expected costs
    700,000, progress by costs incurred (input method)."""
    world.product("build", "ratable_daily")
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
    world.contract("2026-01-01", "2028-01-01", [line])
    po = world.ok(world.finance.get(f"/api/v1/contracts/{world.id}"))["performance_obligations"][0]

    def cost(kind, period, amount):
        response = world.finance.post(
            f"/api/v1/obligations/{po['id']}/costs",
            {"kind": kind, "period": period, "amount": amount},
            format="json",
        )
        if kind == "expected_total":  # an estimate: approved by a second person
            _approve(world, response)
        else:  # costs incurred: a fact, recorded at once
            world.ok(response, 201)

    cost("expected_total", "2026-01", "700000.00")
    cost("incurred", "2026-06", "200000.00")
    cost("incurred", "2026-12", "220000.00")
    _run(world, *_months("2026-01", "2026-12"))
    # IE39: 420,000 ÷ 700,000 = 60 % → 600,000 by the end of the first year
    assert _recognized(world) == {"building": Decimal("600000.00")}
    # IE40–IE41, 15.21(b), 15.88: at the start of year 2 the floor plan changes: +150,000 of price and
    # +120,000 of expected costs; the bonus is now highly probable (constraint released: 200,000)
    _approve(
        world,
        world.finance.post(
            f"/api/v1/contracts/{world.id}/estimates",
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
    world.amend({"effective_date": "2027-01-01", "changes": [{"line": "building", "amount": "1150000.00"}]})
    mod = world.modification()
    assert mod["proposed_treatment"] == "cumulative_catch_up", mod["reason"]
    world.approve_pending()
    assert world.allocations() == {"building": Decimal("1350000.00")}
    _run(world, "2027-01")
    return world.schedule()["building"], _recognized(world)["building"]


def test_ie8_input_method_catch_up_with_progress_stated_as_51_2_percent(world):
    """IE42–IE43: progress 51.2 % (420,000 ÷ 820,000, as the standard states it) × 1,350,000 = 691,200
    cumulative − 600,000 recognized = a cumulative catch-up of 91,200 at the modification."""
    schedule, recognized = _ie8(world, places=1)
    assert schedule["2027-01"] == Decimal("91200.00")
    assert recognized == Decimal("691200.00")
    assert sum(schedule.values()) == Decimal("1350000.00")
    assert allocation_equals_price() == [] and schedule_equals_allocation() == []


def test_ie8_with_exact_progress_by_default(world):
    """The same example with Concord's default exact progress (accounting.md §1): 1,350,000 × 420/820 =
    691,463.41 cumulative, a catch-up of 91,463.41 (the standard's 91,200 rounds progress to 51.2 %)."""
    schedule, recognized = _ie8(world, places=None)
    assert schedule["2027-01"] == Decimal("91463.41")
    assert recognized == Decimal("691463.41")
