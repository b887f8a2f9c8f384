"""Maker-checker on the judgements that move revenue (compliance/approvals.py): a variable-consideration
re-estimate and a new total expected costs of an input-method obligation are held in an approval request
(202) and applied only when someone other than the requester, with the approver role, approves them —
from the request's payload. Costs incurred (facts) are recorded at once. Attack tests through the API."""

from decimal import Decimal

import pytest

from revops.core.approvals.models import Approval
from revops.core.audit.models import AuditEvent
from revops.errors import InvalidTransition
from revrec.models import ObligationCost, PerformanceObligation, RevenueSchedule, VariableEstimate
from revrec.services.estimates import estimate_record
from tests.revrec.test_variable_consideration import _line, _months, world  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db(transaction=True)


def _ie6(world):  # noqa: F811
    """IE Example 6 before its modification: X (delivered, 600 recognized) and Y (600), Y's variable
    consideration estimated at 200."""
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
    world.run(*_months("2026-07", "2027-02"))
    return contract


RE_ESTIMATE = {
    "line": "y",
    "method": "most_likely_amount",
    "estimate": "240.00",
    "constrained": "240.00",
    "as_of": "2027-03-31",
    "reason": "Q1 review",
}


def _state(contract):
    """Everything a re-estimate would change: allocations, schedules, estimates, the price."""
    pos = PerformanceObligation.objects.filter(contract_id=contract["id"]).order_by("id")
    return {
        "allocations": [(po.key, po.allocated_amount, po.variable_consideration) for po in pos],
        "schedules": sorted(
            RevenueSchedule.objects.filter(obligation__contract_id=contract["id"]).values_list(
                "id", "version", "status", "amount"
            )
        ),
        "estimates": VariableEstimate.objects.filter(contract_id=contract["id"]).count(),
        "price": pos.first().contract.transaction_price,
    }


def test_finance_records_a_re_estimate_and_cannot_approve_it_until_an_approver_does(world):  # noqa: F811
    contract = _ie6(world)
    before = _state(contract)
    response = world.submit(contract, **RE_ESTIMATE)
    assert response.status_code == 202, response.json()
    approval = response.json()["approval"]
    assert (approval["kind"], approval["status"]) == ("variable_estimate", "pending")
    assert approval["payload"]["constrained"] == "240.00"
    assert approval["payload"]["previous"]["constrained"] == "200.00"
    assert _state(contract) == before  # a 202 changed nothing

    # the maker cannot decide: finance is no approver (403) …
    denied = world.finance.post(f"/api/v1/approvals/{approval['id']}/approve", {}, format="json")
    assert denied.status_code == 403, denied.json()
    # … and asking again with other figures while it waits is refused, the pending one unchanged
    other = world.submit(contract, **{**RE_ESTIMATE, "constrained": "220.00", "estimate": "220.00"})
    assert other.status_code == 409, other.json()
    same = world.submit(contract, **RE_ESTIMATE)
    assert same.status_code == 202 and same.json()["approval"]["id"] == approval["id"]
    world.run("2027-03")
    assert _state(contract) == before
    assert Approval.objects.get(pk=approval["id"]).status == "pending"

    rejected_by_maker = world.finance.post(f"/api/v1/approvals/{approval['id']}/reject", {"comment": "x"})
    assert rejected_by_maker.status_code == 403

    decided = world.approver.post(f"/api/v1/approvals/{approval['id']}/approve", {}, format="json")
    assert decided.status_code == 200, decided.json()
    after = {
        po.key: po.allocated_amount for po in PerformanceObligation.objects.filter(contract_id=contract["id"])
    }
    assert after == {"x": Decimal("620.00"), "y": Decimal("620.00")}
    record = VariableEstimate.objects.get(contract_id=contract["id"], sequence=2)
    assert record.recorded_by == Approval.objects.get(pk=approval["id"]).requested_by  # the maker
    assert Approval.objects.get(pk=approval["id"]).decided_by != record.recorded_by  # the checker
    applied = AuditEvent.objects.get(action="variable_consideration.re_estimated")
    assert applied.changes["approval"] == approval["id"]
    assert applied.changes["requested_by"] != applied.changes["approved_by"]


def test_a_rejected_re_estimate_changes_nothing_and_is_audited(world):  # noqa: F811
    contract = _ie6(world)
    before = _state(contract)
    approval = world.submit(contract, **RE_ESTIMATE).json()["approval"]
    rejected = world.approver.post(
        f"/api/v1/approvals/{approval['id']}/reject", {"comment": "no evidence yet"}, format="json"
    )
    assert rejected.status_code == 200, rejected.json()
    assert _state(contract) == before
    event = AuditEvent.objects.get(action="variable_consideration.re_estimate_rejected")
    assert event.changes["approval"] == approval["id"] and event.changes["comment"] == "no evidence yet"


def test_a_re_estimate_cannot_be_applied_without_an_approved_request(world):  # noqa: F811
    contract = _ie6(world)
    before = _state(contract)
    from billing.contracts.models import Contract

    pending = Approval.objects.get(pk=world.submit(contract, **RE_ESTIMATE).json()["approval"]["id"])
    for approval in (None, pending):
        with pytest.raises(InvalidTransition):
            estimate_record(
                contract=Contract.objects.get(pk=contract["id"]),
                line="y",
                method="most_likely_amount",
                estimate="240.00",
                constrained="240.00",
                as_of=__import__("datetime").date(2027, 3, 31),
                approval=approval,
            )
    assert _state(contract) == before


def test_total_expected_costs_wait_for_an_approver_costs_incurred_do_not(world):  # noqa: F811
    contract = world.contract(
        [
            {
                "key": "b",
                "product": "platform",
                "billing": "one_time",
                "amount": "1000.00",
                "recognition": "ratable_daily",
                "progress_measure": "input",
            }
        ],
        "2026-01-01",
        "2027-01-01",
    )
    po = world.obligations(contract)["b"]
    url = f"/api/v1/obligations/{po['id']}/costs"
    before = _state(contract)
    response = world.finance.post(
        url, {"kind": "expected_total", "period": "2026-01", "amount": "800"}, format="json"
    )
    assert response.status_code == 202, response.json()
    approval = response.json()["approval"]
    assert approval["kind"] == "obligation_expected_costs" and response.json()["expected_total"] is None
    assert (
        world.finance.post(f"/api/v1/approvals/{approval['id']}/approve", {}, format="json").status_code
        == 403
    )
    assert not ObligationCost.objects.exists() and _state(contract) == before
    # costs incurred need an approved expected total first
    early = world.finance.post(url, {"kind": "incurred", "period": "2026-02", "amount": "200"}, format="json")
    assert early.status_code == 409
    assert (
        world.approver.post(f"/api/v1/approvals/{approval['id']}/approve", {}, format="json").status_code
        == 200
    )
    incurred = world.finance.post(
        url, {"kind": "incurred", "period": "2026-02", "amount": "200"}, format="json"
    )
    assert incurred.status_code == 201, incurred.json()
    assert incurred.json()["progress"]["progress_percent"] == "25"
    assert ObligationCost.objects.filter(obligation_id=po["id"]).count() == 2


def test_a_pending_expected_costs_request_is_voided_when_a_re_estimate_changes_its_allocation(
    world,  # noqa: F811
):
    # Nothing is applied behind an approval: the expected-costs request is bound to the obligation's
    # allocation; an approved re-estimate that re-allocates part of its change to it voids the request
    # (409 approval-content-changed, naming the replacement) — the approver reviews it again.
    contract = world.contract(
        [
            {
                "key": "b",
                "product": "platform",
                "billing": "one_time",
                "amount": "1000.00",
                "ssp": "1000",
                "recognition": "ratable_daily",
                "progress_measure": "input",
            },
            _line(
                "y",
                "500.00",
                "1000",
                "2026-09-01",
                variable_method="most_likely_amount",
                variable_estimate="200.00",
                variable_constrained="200.00",
            ),
        ],
        "2026-01-01",
        "2027-01-01",
    )
    po = world.obligations(contract)["b"]
    costs = world.finance.post(
        f"/api/v1/obligations/{po['id']}/costs",
        {"kind": "expected_total", "period": "2026-01", "amount": "800"},
        format="json",
    )
    assert costs.status_code == 202, costs.json()
    world.estimate(
        contract,
        line="y",
        method="most_likely_amount",
        estimate="300.00",
        constrained="300.00",
        as_of="2026-03-31",
    )
    assert world.obligations(contract)["b"]["allocated_amount"] == "900.00"  # 100 split 1000 : 1000
    stale = world.approver.post(
        f"/api/v1/approvals/{costs.json()['approval']['id']}/approve", {}, format="json"
    )
    assert stale.status_code == 409 and stale.json()["type"].endswith("approval-content-changed"), (
        stale.json()
    )
    assert not ObligationCost.objects.exists()
    replacement = stale.json()["replacement"]
    assert (
        world.approver.post(f"/api/v1/approvals/{replacement}/approve", {}, format="json").status_code == 200
    )
    assert ObligationCost.objects.filter(obligation_id=po["id"]).count() == 1


def test_the_re_estimate_summary_reads_amounts_at_the_currencys_minor_unit(world):  # noqa: F811
    """The reviewer read "constrained 200.0000 → 100.00 (USD)": both amounts are money, at cents."""
    contract = _ie6(world)
    response = world.submit(contract, **{**RE_ESTIMATE, "estimate": "100", "constrained": "100"})
    assert response.status_code == 202, response.json()
    approval = response.json()["approval"]
    assert approval["summary"].endswith("constrained 200.00 USD → 100.00 USD"), approval["summary"]
    assert approval["payload"]["constrained"] == "100.00"
