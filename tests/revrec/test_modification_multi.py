"""Modifications of contracts with several obligations, measured at the modification date (reviewer
finding F9, accounting.md §10): the preview computes the prospective (15.21(a)) and the cumulative
catch-up (15.21(b)) columns each truly, each open obligation caught up by its own measure of progress;
the satisfied part of an open obligation is day-exact (§3, as for a removed line)."""

from decimal import Decimal

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal


@pytest.fixture
def scenario(scenario, catalog):
    scenario.customer("mo", name="Mo Co")
    return scenario.product("build", "ratable_monthly")


def _project(key, amount, **fields):
    """A build project: a one-time price recognized monthly over its service period (not a series)."""
    return {"key": key, "product": "build", "billing": "one_time", "amount": amount, **fields}


def _columns(scenario):
    """{key: {treatment: (allocation, adjustment, {period: amount})}} and {key: satisfied to date}."""
    rows = scenario.modification()["analysis"]["obligations"]
    columns = {
        row["key"]: {
            t: (D(o["allocation"]), D(o["adjustment"]), {p: D(a) for p, a in o["lines"]})
            for t, o in row["options"].items()
        }
        for row in rows
    }
    return columns, {row["key"]: D(row["satisfied_to_date"]) for row in rows}


def _two_projects(scenario):
    """a: 12,000 monthly over 2026 (3 of 12 months by 1 April: 25 %); b: 6,000 monthly over
    January–June (3 of 6 months: 50 %); revenue posted through March (3,000 each)."""
    scenario.contract(
        "2026-01-01",
        "2027-01-01",
        [_project("a", "12000.00"), _project("b", "6000.00", service_end="2026-07-01")],
        approved_by="approver",
    )
    scenario.recognize("2026-01", "2026-02", "2026-03")
    assert scenario.recognized() == {"a": D("3000.00"), "b": D("3000.00")}


def test_two_partly_satisfied_projects_and_one_added_preview_both_columns(scenario):
    """On 1 April a is re-priced to 15,000 and c (3,000, April–December) is added: price 24,000.

    15.21(a) prospective: each keeps its satisfied part (3,000 + 3,000); the remaining consideration
    24,000 − 6,000 = 18,000 is allocated by the SSPs of the remaining parts as of 1 April (by days,
    §10 SSP units): a 15,000 × 275/365 = 11,301.37, b 6,000 × 91/181 = 3,016.57, c 3,000 (Σ 17,317.94)
    → a 11,746.47, b 3,135.38, c 3,118.15; so a 14,746.47, b 6,135.38, c 3,118.15 (Σ 24,000), nothing
    caught up, a's rest over April–December (11,746.47 ÷ 9 ≈ 1,305.16), b's over April–June (1,045.13).

    15.21(b) catch-up: whole SSPs 15,000 / 6,000 / 3,000 = the price; each open obligation is caught up
    by its own progress at 1 April: a 15,000 × 3/12 − 3,000 = 750 (April 1,250 + 750 = 2,000);
    b 6,000 × 3/6 − 3,000 = 0; c has not started: 0."""
    _two_projects(scenario)
    scenario.amend(
        {
            "effective_date": "2026-04-01",
            "changes": [{"line": "a", "amount": "15000.00"}, {"add": _project("c", "3000.00")}],
        }
    )
    columns, satisfied = _columns(scenario)
    assert satisfied == {"a": D("3000.00"), "b": D("3000.00"), "c": D("0.00")}
    prospective = {k: v["prospective"] for k, v in columns.items()}
    catch_up = {k: v["cumulative_catch_up"] for k, v in columns.items()}
    assert {k: v[0] for k, v in prospective.items()} == {
        "a": D("14746.47"),
        "b": D("6135.38"),
        "c": D("3118.15"),
    }
    assert {k: v[1] for k, v in prospective.items()} == {"a": 0, "b": 0, "c": 0}
    assert prospective["a"][2]["2026-03"] == D("1000.00") and prospective["a"][2]["2026-04"] == D("1305.16")
    assert sum(v for p, v in prospective["a"][2].items() if p >= "2026-04") == D("11746.47")
    assert prospective["b"][2]["2026-04"] == D("1045.13") and max(prospective["b"][2]) == "2026-06"
    assert {k: v[0] for k, v in catch_up.items()} == {
        "a": D("15000.00"),
        "b": D("6000.00"),
        "c": D("3000.00"),
    }
    assert {k: v[1] for k, v in catch_up.items()} == {"a": D("750.00"), "b": 0, "c": 0}
    assert catch_up["a"][2]["2026-04"] == D("2000.00") and catch_up["a"][2]["2026-05"] == D("1250.00")
    assert catch_up["b"][2]["2026-04"] == D("1000.00")
    for key in "abc":
        assert prospective[key] != catch_up[key], key


def test_catch_up_uses_each_obligations_own_progress(scenario):
    """Both projects re-priced on 1 April, a 12,000 → 15,000 (25 % done), b 6,000 → 8,000 (50 % done):
    15.21(b) catches each up by its own progress, not by one contract-wide ratio — a 15,000 × 3/12 −
    3,000 = 750, b 8,000 × 3/6 − 3,000 = 1,000 (so b's April is 8,000 ÷ 6 + 1,000 = 2,333.33).
    Approved, the schedules carry exactly those catch-ups in April."""
    _two_projects(scenario)
    scenario.amend(
        {
            "effective_date": "2026-04-01",
            "changes": [{"line": "a", "amount": "15000.00"}, {"line": "b", "amount": "8000.00"}],
        }
    )
    mod = scenario.modification()
    assert mod["proposed_treatment"] == "cumulative_catch_up"
    columns, _ = _columns(scenario)
    catch_up = {k: v["cumulative_catch_up"] for k, v in columns.items()}
    assert {k: (v[0], v[1]) for k, v in catch_up.items()} == {
        "a": (D("15000.00"), D("750.00")),
        "b": (D("8000.00"), D("1000.00")),
    }
    scenario.approve_as("approver")
    schedule = scenario.schedule()
    assert scenario.allocations() == {"a": D("15000.00"), "b": D("8000.00")}
    assert schedule["a"]["2026-04"] == D("2000.00") and schedule["b"]["2026-04"] == D("2333.33")
    assert sum(schedule["a"].values()) == D("15000.00") and sum(schedule["b"].values()) == D("8000.00")
    scenario.recognize("2026-04")
    assert scenario.recognized() == {"a": D("5000.00"), "b": D("5333.33")}


def test_mid_month_modification_measures_the_satisfied_part_by_days(scenario):
    """x (onboarding, 2,000, delivered in January: satisfied) and y (12,000 monthly over 2026, 3,000
    posted through March); y re-priced to 15,000 on 16 April.

    The satisfied part of y at 16 April is day-exact (§3): 3,000 + April's 1,000 × 15/30 = 3,500.
    15.21(a) prospective: remaining consideration 17,000 − 2,000 − 3,500 = 11,500 over 16 April –
    31 December (½ + 8 months) → 1,352.94 a month, April 500 + 676.47 = 1,176.47; nothing caught up.
    15.21(b) catch-up: 15,000 × 3.5/12 = 4,375 by 16 April − 3,500 satisfied = 875 (April's line is
    500 + 875 + 625 = 2,000). At month grain both would read 3,000 (prospective April 1,333.33, catch-up
    750). Approved prospectively, the schedule is the prospective column."""
    scenario.contract(
        "2026-01-01",
        "2027-01-01",
        [
            {
                "key": "x",
                "product": "onboarding",
                "billing": "one_time",
                "amount": "2000.00",
                "service_start": "2026-01-10",
            },
            _project("y", "12000.00"),
        ],
        approved_by="approver",
    )
    scenario.recognize("2026-01", "2026-02", "2026-03")
    scenario.amend({"effective_date": "2026-04-16", "changes": [{"line": "y", "amount": "15000.00"}]})
    columns, satisfied = _columns(scenario)
    assert satisfied["y"] == D("3500.00")
    prospective, catch_up = columns["y"]["prospective"], columns["y"]["cumulative_catch_up"]
    assert scenario.modification()["analysis"]["treatments"]["prospective"]["remaining_consideration"] == (
        "11500.00"
    )
    assert prospective[0] == D("15000.00") and prospective[1] == 0
    assert prospective[2]["2026-04"] == D("1176.47") and prospective[2]["2026-05"] == D("1352.94")
    assert sum(prospective[2].values()) == D("15000.00")
    assert catch_up[1] == D("875.00") and catch_up[2]["2026-04"] == D("2000.00")
    assert (
        columns["x"]["prospective"][2] == columns["x"]["cumulative_catch_up"][2] == {"2026-01": D("2000.00")}
    )

    mod = scenario.modification()
    scenario.post(f"modifications/{mod['id']}/treatment", {"treatment": "prospective"})
    scenario.approve_as("approver")
    schedule = scenario.schedule()
    assert schedule["y"]["2026-04"] == D("1176.47") and sum(schedule["y"].values()) == D("15000.00")
    assert scenario.allocations() == {"x": D("2000.00"), "y": D("15000.00")}
