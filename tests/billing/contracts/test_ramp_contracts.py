"""Ramp deals (issue 17 §5, accounting.md §5a) — the contract side: a line's ``ramp`` through the API
(create, read, RFC 9457 errors on the step at fault), price-override approval per step, amendments,
and ``amount`` steps (the contract editor and page: tests/billing/views/test_ramp_editor.py)."""

from decimal import Decimal

import pytest

from billing.contracts.models import Contract
from billing.contracts.value import ramp_step_values
from compliance.checks.invoices import price_overrides_approved
from revops.core.approvals.models import Approval
from tests.revops.factories import CustomerFactory

pytestmark = pytest.mark.django_db

D = Decimal


def _contract(lines, *, start="2026-01-01", end="2027-01-01") -> dict:
    return {"customer": "acme", "currency": "USD", "start_date": start, "end_date": end, "lines": lines}


def _ramp_line(steps, **extra) -> dict:
    return {"key": "platform", "product": "platform", "plan": "hybrid", "ramp": steps, **extra}


@pytest.fixture
def finance(api_for, catalog):
    CustomerFactory(external_id="acme")
    return api_for("finance")


def _problem(response, field: str) -> str:
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert field in errors, errors
    return errors[field]


def test_a_ramp_line_is_created_read_back_and_worth_the_sum_of_its_steps(finance):
    """hybrid: platform fee 100.00 a month (tests/builders.py). 90.00 Jan–Jun, 110.00 Jul–Dec."""
    body = _contract(
        [
            _ramp_line(
                [{"from": "2026-01-01", "unit_price": "90.00"}, {"from": "2026-07-01", "unit_price": "110"}]
            )
        ]
    )
    response = finance.post("/api/v1/contracts", body, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["transaction_price"] == "1200.00"  # 6 × 90 + 6 × 110
    assert created["lines"][0]["ramp"] == [
        {"from": "2026-01-01", "unit_price": "90"},
        {"from": "2026-07-01", "unit_price": "110"},
    ]
    read = finance.get(f"/api/v1/contracts/{created['id']}").json()
    assert read["lines"][0]["ramp"] == created["lines"][0]["ramp"]
    # A line without a ramp says so with an empty list.
    plain = finance.post(
        "/api/v1/contracts", _contract([{"key": "p", "product": "platform", "plan": "hybrid"}]), format="json"
    ).json()
    assert plain["lines"][0]["ramp"] == []


@pytest.mark.parametrize(
    ("steps", "extra", "field", "says"),
    [
        (
            [{"from": "2026-02-01", "unit_price": "90"}],
            {},
            "lines[0].ramp[0].from",
            "line's start (2026-01-01)",
        ),
        (
            [
                {"from": "2026-01-01", "unit_price": "90"},
                {"from": "2026-09-01", "unit_price": "95"},
                {"from": "2026-06-01", "unit_price": "99"},
            ],
            {},
            "lines[0].ramp[2].from",
            "ascending",
        ),
        (
            [{"from": "2026-01-01", "unit_price": "90"}, {"from": "2027-01-01", "unit_price": "95"}],
            {},
            "lines[0].ramp[1].from",
            "inside the line's service period",
        ),
        (
            [{"from": "2026-03-01", "unit_price": "90"}, {"from": "2026-02-01", "unit_price": "95"}],
            {"service_start": "2026-03-01", "service_end": "2026-06-01"},
            "lines[0].ramp[1].from",
            "inside the line's service period",
        ),
        ([{"from": "2026-01-01", "unit_price": "90", "amount": "90.00"}], {}, "lines[0].ramp[0]", "not both"),
        ([{"from": "2026-01-01"}], {}, "lines[0].ramp[0]", "a unit_price or an amount"),
        ([{"from": "2026-01-01", "amount": "90.001"}], {}, "lines[0].ramp[0].amount", "at most 2 decimal"),
        (
            [{"from": "2026-01-01", "unit_price": "90"}],
            {"unit_price": "90"},
            "lines[0].unit_price",
            "its steps",
        ),
        (
            [{"from": "2026-01-01", "unit_price": "90"}],
            {"plan": None, "billing": "one_time", "amount": "100.00"},
            "lines[0].ramp",
            "Only a recurring line",
        ),
    ],
)
def test_a_bad_ramp_is_a_problem_on_the_step_at_fault_and_nothing_is_kept(finance, steps, extra, field, says):
    response = finance.post("/api/v1/contracts", _contract([_ramp_line(steps, **extra)]), format="json")
    assert says in _problem(response, field)
    assert not Contract.objects.exists()


def test_a_step_beyond_the_threshold_below_list_needs_an_approver(
    finance, api_for, django_capture_on_commit_callbacks
):
    """A step is a line price like any other (issue 12.4): 70.00 from July is 30 % below the 100.00
    list → the contract waits for a price_override naming that step; 90.00 (10 % off) does not."""
    body = _contract(
        [
            _ramp_line(
                [{"from": "2026-01-01", "unit_price": "90.00"}, {"from": "2026-07-01", "unit_price": "70.00"}]
            )
        ]
    )
    contract = finance.post("/api/v1/contracts", body, format="json").json()
    with django_capture_on_commit_callbacks(execute=True):
        response = finance.post(f"/api/v1/contracts/{contract['id']}/activate")
    assert response.status_code == 202, response.json()
    approval = response.json()["approval"]
    overrides = approval["payload"]["overrides"]
    assert [(o["ramp_from"], o["pays"], o["list_pays"], o["discount_pct"]) for o in overrides] == [
        ("2026-07-01", "70", "100", "30.00")
    ]
    assert "from 2026-07-01 (ramp step)" in approval["summary"]
    with django_capture_on_commit_callbacks(execute=True):
        decided = api_for("approver").post(f"/api/v1/approvals/{approval['id']}/approve", {}, format="json")
    assert decided.status_code == 200, decided.json()
    assert Contract.objects.get(pk=contract["id"]).status == "active"
    # The approved step is recorded: the detective control finds no unapproved override on the line.
    line_id = str(Contract.objects.get(pk=contract["id"]).lines.get().pk)
    assert not [f for f in price_overrides_approved() if f.object_id == line_id]

    gentle = _contract(
        [
            _ramp_line(
                [{"from": "2026-01-01", "unit_price": "90.00"}, {"from": "2026-07-01", "unit_price": "85.00"}]
            )
        ]
    )
    second = finance.post("/api/v1/contracts", gentle, format="json").json()
    with django_capture_on_commit_callbacks(execute=True):
        assert finance.post(f"/api/v1/contracts/{second['id']}/activate").status_code == 200
    assert not Approval.objects.filter(object_id=str(second["id"]), kind="price_override").exists()


def test_an_amount_step_is_the_line_fee_per_period_whatever_the_quantity(finance):
    body = _contract(
        [
            {
                "key": "svc",
                "product": "platform",
                "quantity": "3",
                "ramp": [
                    {"from": "2026-01-01", "unit_price": "10.00"},
                    {"from": "2026-03-16", "amount": "500.00"},
                ],
            }
        ],
        end="2026-05-01",
    )
    created = finance.post("/api/v1/contracts", body, format="json").json()
    assert created["lines"][0]["ramp"][1] == {"from": "2026-03-16", "amount": "500.00"}
    contract = Contract.objects.get(pk=created["id"])
    line = contract.lines.get()
    values = [(str(lo), str(hi), total) for _step, lo, hi, total in ramp_step_values(line, contract)]
    # Jan, Feb: 3 × 10.00; March 1–15: 30.00 × 15/31 = 14.52; March 16–31: 500.00 × 16/31 = 258.06; April 500.00.
    assert values == [
        ("2026-01-01", "2026-03-16", D("74.52")),
        ("2026-03-16", "2026-05-01", D("758.06")),
    ]
    assert contract.transaction_price == D("832.58")


def test_an_amendment_cannot_change_a_ramp_line_but_can_end_it(finance, django_capture_on_commit_callbacks):
    body = _contract(
        [
            _ramp_line(
                [{"from": "2026-01-01", "unit_price": "90.00"}, {"from": "2026-07-01", "unit_price": "95"}]
            )
        ]
    )
    contract = finance.post("/api/v1/contracts", body, format="json").json()
    with django_capture_on_commit_callbacks(execute=True):
        finance.post(f"/api/v1/contracts/{contract['id']}/activate")
    refused = finance.post(
        f"/api/v1/contracts/{contract['id']}/amend",
        {"effective_date": "2026-04-01", "changes": [{"line": "platform", "quantity": "2"}]},
        format="json",
    )
    assert "is a ramp" in _problem(refused, "changes[0].line")
    with django_capture_on_commit_callbacks(execute=True):
        ended = finance.post(
            f"/api/v1/contracts/{contract['id']}/amend",
            {"effective_date": "2026-10-01", "changes": [{"remove": "platform"}]},
            format="json",
        )
    assert ended.status_code in (200, 202), ended.json()
    # 6 × 90 + 3 × 95: the removal cuts the last step.
    assert Contract.objects.get(pk=contract["id"]).transaction_price == D("825.00")
