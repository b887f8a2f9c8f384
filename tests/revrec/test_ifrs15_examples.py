"""Golden tests: IFRS 15 Illustrative Examples on contract modifications, through the public API,
exact to the cent (issue 13, accounting.md §10). Each test cites its paragraphs.

Every example goes: catalog and SSP book (approved) → contract → activation → schedules approved →
amendment (POST /contracts/{id}/amend) → the modification preview (GET /contracts/{id}/modifications:
the three treatments side by side and the one the standard requires) → the approver signs it off →
allocations and schedules (GET /contracts/{id}, GET /contracts/{id}/schedule)."""

from collections import defaultdict
from decimal import Decimal

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

TREATMENTS = {"separate_contract", "prospective", "cumulative_catch_up"}


@pytest.fixture
def scenario(scenario, catalog):
    """The examples' customer, "IE Co", on the shared catalog (tests/scenario.py)."""
    return scenario.customer("ie", name="IE Co")


def _side_by_side(mod, price):
    """The preview shows all three treatments, each allocating exactly the new transaction price."""
    analysis = mod["analysis"]
    assert set(analysis["treatments"]) == TREATMENTS
    for treatment, option in analysis["treatments"].items():
        if option["applicable"]:
            assert Decimal(option["total"]) == Decimal(price), treatment
            for row in analysis["obligations"]:
                assert treatment in row["options"], (treatment, row["key"])
    return {
        row["key"]: {t: Decimal(o["allocation"]) for t, o in row["options"].items()}
        for row in analysis["obligations"]
    }


def _widgets(scenario, case_price):
    """IE 5: 120 products for 12,000 (100 each), control at a point in time, over six months; after 60
    have transferred the contract is modified to add 30 products. SSP per product: 100 at inception,
    95 from the modification date (the book entry in force then, 15.20)."""
    scenario.product("widget", "point_in_time")
    scenario.ssp("widget", "100.00", "2025-01-01")
    scenario.ssp("widget", "95.00", "2026-03-01")
    scenario.contract(
        "2026-01-01",
        "2026-07-01",
        [
            {
                "key": "batch-1",
                "product": "widget",
                "billing": "one_time",
                "quantity": "60",
                "unit_price": "100.00",
                "service_start": "2026-01-15",
            },
            {
                "key": "batch-2",
                "product": "widget",
                "billing": "one_time",
                "quantity": "60",
                "unit_price": "100.00",
                "service_start": "2026-04-15",
            },
        ],
        approved_by="approver",
    )
    assert scenario.allocations() == {"batch-1": Decimal("6000.00"), "batch-2": Decimal("6000.00")}
    return {
        "add": {
            "key": "batch-3",
            "product": "widget",
            "billing": "one_time",
            "quantity": "30",
            "unit_price": case_price,
            "service_start": "2026-05-15",
        }
    }


def test_ie5_case_a_products_added_at_their_ssp_are_a_separate_contract(scenario):
    """IFRS 15 IE19–IE21 (Example 5 Case A), 15.20: the 30 products are added at 95 each, the SSP as of
    the modification date: a separate contract; 100 per product for the 120, 95 for the 30."""
    added = _widgets(scenario, "95.00")
    scenario.amend({"effective_date": "2026-03-01", "changes": [added]})
    mod = scenario.modification()
    assert mod["proposed_treatment"] == "separate_contract", mod["reason"]
    options = _side_by_side(mod, "14850.00")
    assert options["batch-3"]["separate_contract"] == Decimal("2850.00")
    scenario.approve_as("approver")
    allocations = scenario.allocations()
    assert allocations == {
        "batch-1": Decimal("6000.00"),
        "batch-2": Decimal("6000.00"),
        "batch-3": Decimal("2850.00"),
    }
    assert allocations["batch-2"] / 60 == Decimal("100") and allocations["batch-3"] / 30 == Decimal("95")
    schedule = scenario.schedule()
    assert schedule["batch-1"] == {"2026-01": Decimal("6000.00")}
    assert schedule["batch-3"] == {"2026-05": Decimal("2850.00")}


def test_ie5_case_b_products_added_below_ssp_terminate_and_start_a_new_contract(scenario):
    """IFRS 15 IE22–IE24 (Example 5 Case B), 15.21(a), 15.87–88: 30 more products at 80 (not their SSP)
    and a 15-per-product credit (900) for defects in the 60 delivered, which reduces the price of the
    goods already transferred and is recognized at once. The 90 remaining products take the blended
    (100 × 60 + 80 × 30) ÷ 90 = 93.33 each: 5,600 and 2,800."""
    added = _widgets(scenario, "80.00")
    scenario.amend(
        {"effective_date": "2026-03-01", "changes": [{"line": "batch-1", "amount": "5100.00"}, added]}
    )
    mod = scenario.modification()
    assert mod["proposed_treatment"] == "prospective", mod["reason"]
    options = _side_by_side(mod, "13500.00")
    assert options["batch-2"]["prospective"] == Decimal("5600.00")
    assert mod["analysis"]["treatments"]["separate_contract"]["applicable"] is False  # goods changed
    scenario.approve_as("approver")
    allocations = scenario.allocations()
    assert allocations == {
        "batch-1": Decimal("5100.00"),
        "batch-2": Decimal("5600.00"),
        "batch-3": Decimal("2800.00"),
    }
    assert (allocations["batch-2"] + allocations["batch-3"]) / 90 == Decimal("8400") / 90  # 93.33 each
    schedule = scenario.schedule()
    # The credit reduces revenue in the modification's period; January's 6,000 stays as recognized.
    assert schedule["batch-1"] == {"2026-01": Decimal("6000.00"), "2026-03": Decimal("-900.00")}
    assert schedule["batch-2"] == {"2026-04": Decimal("5600.00")}
    assert schedule["batch-3"] == {"2026-05": Decimal("2800.00")}


def test_ie6_modification_keeps_the_delivered_product_and_reallocates_the_rest(
    scenario, django_capture_on_commit_callbacks
):
    """IFRS 15 IE25–IE29 (Example 6, the modification), 15.21(a): X (delivered, 600) and Y (600); Z is
    added for 300, which is not its SSP (600, like X and Y). Termination + new contract: X keeps the 600
    it has recognized; the remaining 600 + 300 are allocated over Y and Z at their SSPs: 450 each."""
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
                "amount": "600.00",
                "service_start": "2026-07-01",
            },
            {
                "key": "y",
                "product": "py",
                "billing": "one_time",
                "amount": "600.00",
                "service_start": "2027-03-31",
            },
        ],
        approved_by="approver",
    )
    with django_capture_on_commit_callbacks(execute=True):
        scenario.ok(scenario.finance.post("/api/v1/revenue-runs", {"period": "2026-07"}, format="json"))
    assert scenario.schedule()["x"] == {"2026-07": Decimal("600.00")}
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
    options = _side_by_side(mod, "1500.00")
    assert options["z"]["separate_contract"] == Decimal("300.00")  # shown, not proposed: not at SSP
    assert options["y"]["prospective"] == options["z"]["prospective"] == Decimal("450.00")
    scenario.approve_as("approver")
    assert scenario.allocations() == {"x": Decimal("600.00"), "y": Decimal("450.00"), "z": Decimal("450.00")}
    schedule = scenario.schedule()
    assert schedule == {
        "x": {"2026-07": Decimal("600.00")},
        "y": {"2027-03": Decimal("450.00")},
        "z": {"2027-06": Decimal("450.00")},
    }


def test_ie7_services_contract_repriced_and_extended_is_prospective_over_the_series(scenario):
    """IFRS 15 IE30–IE33 (Example 7), 15.21(a), 15.22(b): three years of annual service at 100,000 a
    year (its SSP). At the start of year 3 the fee for year 3 drops to 80,000 and the contract is
    extended by three years for 200,000 (SSP then 80,000 a year, so not a separate contract). The
    remaining services are distinct periods of a series: termination + new contract; 80,000 + 200,000
    = 280,000 over the four remaining years: 70,000 a year."""
    scenario.product("svc", "ratable_monthly")
    scenario.ok(
        scenario.admin.post(
            "/api/v1/plans",
            {
                "code": "svc-annual",
                "name": "Annual service",
                "currency": "USD",
                "interval": "year",
                "effective_from": "2020-01-01",
                "charges": [
                    {
                        "code": "fee",
                        "product": "svc",
                        "model": "flat",
                        "timing": "in_advance",
                        "properties": {"amount": "100000.00"},
                    }
                ],
            },
            format="json",
        )
    )
    scenario.ssp("svc", "100000.00", "2020-01-01")  # per year of service (a unit price, §10)
    scenario.ssp("svc", "80000.00", "2026-01-01")
    scenario.contract(
        "2024-01-01",
        "2027-01-01",
        [{"key": "svc", "product": "svc", "plan": "svc-annual", "unit_price": "100000.00", "series": True}],
        approved_by="approver",
    )
    assert scenario.allocations() == {"svc": Decimal("300000.00")}
    amended = scenario.amend(
        {
            "effective_date": "2026-01-01",
            "end_date": "2030-01-01",
            "changes": [
                {"line": "svc", "unit_price": "80000.00", "end": "2027-01-01"},
                {
                    "add": {
                        "key": "svc-ext",
                        "product": "svc",
                        "billing": "one_time",
                        "amount": "200000.00",
                        "quantity": "3",
                        "recognition": "ratable_monthly",
                        "series": True,
                        "service_start": "2027-01-01",
                        "service_end": "2030-01-01",
                    }
                },
            ],
        }
    )
    assert amended["end_date"] == "2030-01-01" and amended["transaction_price"] == "480000.00"
    mod = scenario.modification()
    assert mod["proposed_treatment"] == "prospective", mod["reason"]
    options = _side_by_side(mod, "480000.00")
    assert mod["analysis"]["treatments"]["prospective"]["remaining_consideration"] == "280000.00"
    assert options["svc"]["prospective"] == Decimal("270000.00")  # 200,000 recognized + 70,000
    assert options["svc-ext"]["prospective"] == Decimal("210000.00")
    scenario.approve_as("approver")
    by_year: dict[str, Decimal] = defaultdict(Decimal)
    for periods in scenario.schedule().values():
        for period, amount in periods.items():
            by_year[period[:4]] += amount
    assert dict(by_year) == {
        "2024": Decimal("100000.00"),
        "2025": Decimal("100000.00"),
        "2026": Decimal("70000.00"),
        "2027": Decimal("70000.00"),
        "2028": Decimal("70000.00"),
        "2029": Decimal("70000.00"),
    }


def test_ie6_preview_in_the_approval_queue_shows_the_three_treatments_and_the_required_one(scenario, ui_for):
    """The modification preview (UI): the three treatments side by side for IE 6 (15.21(a)), the
    prospective one marked as required, its 450 / 450 next to the separate contract's 600 / 300."""
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
                "amount": "600.00",
                "service_start": "2026-07-01",
            },
            {
                "key": "y",
                "product": "py",
                "billing": "one_time",
                "amount": "600.00",
                "service_start": "2027-03-31",
            },
        ],
        approved_by="approver",
    )
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
    page = ui_for("approver").get("/approvals/").content.decode()
    table = page[page.index("rv-treatments") :]
    table = table[: table.index("</table>")]
    heads = [h.split("<")[0].strip() for h in table.split('<th scope="col" class="num')[3:6]]
    assert [h.split(">", 1)[1] for h in heads] == ["Separate", "Prospective", "Catch-up"]
    assert 'Prospective <span class="badge">required</span>' in table and table.count(">required<") == 1
    row_y = table[table.index('mono">y') : table.index('mono">z')]
    assert row_y.count("450.00") == 2 and "600.00" in row_y  # prospective, catch-up; separate keeps 600
    row_z = table[table.index('mono">z') :]
    assert "300.00" in row_z and row_z.count("450.00") == 2
