"""POST /allocations/preview with variable consideration (IFRS 15.84–86, issue 13 point 8): the
per-line ``variable_amount`` is used, not dropped; 15.85 needs both criteria; unknown fields → 400."""

import pytest

pytestmark = pytest.mark.django_db

URL = "/api/v1/allocations/preview"


def _preview(api_for, body):
    return api_for("finance").post(URL, body, format="json")


def test_ifrs15_ie35_case_a_royalties_allocated_entirely_to_licence_y(api_for):
    # IFRS 15 IE178–IE182 (Example 35, Case A): licence X fixed 800, licence Y 3 % royalties estimated
    # at 1,000; SSPs 800 and 1,000. Both 15.85 criteria hold: the royalties go to Y alone, 800 to X.
    body = {
        "currency": "USD",
        "transaction_price": "800.00",
        "lines": [
            {"key": "X", "ssp": "800"},
            {
                "key": "Y",
                "ssp": "1000",
                "variable_amount": "1000.00",
                "variable_allocation": "specific",
                "relates_specifically": True,
                "consistent_with_objective": True,
            },
        ],
    }
    response = _preview(api_for, body)
    assert response.status_code == 200, response.json()
    lines = {ln["key"]: ln for ln in response.json()["lines"]}
    assert (lines["X"]["allocated"], lines["X"]["fixed"], lines["X"]["variable"]) == (
        "800.00",
        "800.00",
        "0.00",
    )
    assert (lines["Y"]["allocated"], lines["Y"]["fixed"], lines["Y"]["variable"]) == (
        "1000.00",
        "0.00",
        "1000.00",
    )


def test_ifrs15_ie35_case_b_fixed_and_royalties_split_by_relative_ssp(api_for):
    # IFRS 15 IE183–IE187 (Example 35, Case B): X fixed 300, Y 5 % royalties; allocating the royalties
    # to Y alone would not meet the allocation objective (15.85(b) fails), so both the fixed 300 and
    # the first month's royalties of 200 are split 800:1,000 — 133.33 / 166.67 and 88.89 / 111.11.
    body = {
        "currency": "USD",
        "transaction_price": "300.00",
        "lines": [{"key": "X", "ssp": "800"}, {"key": "Y", "ssp": "1000", "variable_amount": "200.00"}],
    }
    response = _preview(api_for, body)
    assert response.status_code == 200, response.json()
    got = [(ln["key"], ln["fixed"], ln["variable"], ln["allocated"]) for ln in response.json()["lines"]]
    assert got == [("X", "133.33", "88.89", "222.22"), ("Y", "166.67", "111.11", "277.78")]


def test_specific_allocation_without_15_85_b_is_a_problem_naming_the_criterion(api_for):
    # IE Example 35 Case B asserted as "specific" with only 15.85(a): refused, nothing allocated
    body = {
        "currency": "USD",
        "transaction_price": "300.00",
        "lines": [
            {"key": "X", "ssp": "800"},
            {
                "key": "Y",
                "ssp": "1000",
                "variable_amount": "200.00",
                "variable_allocation": "specific",
                "relates_specifically": True,
            },
        ],
    }
    response = _preview(api_for, body)
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["field"] == "lines[1].consistent_with_objective"
    assert "15.85(b)" in problem["detail"]


@pytest.mark.parametrize(
    ("body_extra", "line_extra", "field"),
    [
        ({}, {"variable_amont": "200.00"}, "lines[1].variable_amont"),
        ({"discount": "10"}, {}, "discount"),
    ],
)
def test_unknown_fields_are_a_400_problem_not_silently_dropped(api_for, body_extra, line_extra, field):
    body = {
        "currency": "USD",
        "transaction_price": "300.00",
        "lines": [{"key": "X", "ssp": "800"}, {"key": "Y", "ssp": "1000", **line_extra}],
        **body_extra,
    }
    response = _preview(api_for, body)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert field in [e["field"] for e in response.json()["errors"]]
