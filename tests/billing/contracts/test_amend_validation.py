"""Amendment input is validated as a 400 problem naming the field (reviewer finding F8): two changes
to the same line, an amount finer than the currency's minor unit, a zero quantity."""

import pytest

from billing.contracts.models import ContractLine
from tests.builders import api_activate, through_override

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def contract(api_for, catalog, django_capture_on_commit_callbacks):
    api = api_for("finance")
    api.post("/api/v1/customers", {"external_id": "av", "name": "AV Co", "currency": "USD"}, format="json")
    created = api.post(
        "/api/v1/contracts",
        {
            "customer": "av",
            "currency": "USD",
            "start_date": "2026-01-01",
            "end_date": "2027-01-01",
            "lines": [
                {"key": "A", "product": "onboarding", "billing": "one_time", "amount": "10000.00"},
                {"key": "B", "product": "onboarding", "billing": "one_time", "amount": "500.00"},
            ],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    with django_capture_on_commit_callbacks(execute=True):
        activated = api_activate(api, created.json()["id"])  # custom prices: a second person approves
    assert activated.status_code == 200 and activated.json()["status"] == "active", activated.json()
    return api, created.json()["id"]


def _amend(api, pk, changes):
    return api.post(
        f"/api/v1/contracts/{pk}/amend", {"effective_date": "2026-03-01", "changes": changes}, format="json"
    )


def _fields(response) -> set[str]:
    body = response.json()
    return {e["field"] for e in body.get("errors", [])}


def test_two_changes_to_the_same_line_are_a_400_naming_the_second(contract):
    api, pk = contract
    response = _amend(api, pk, [{"line": "A", "amount": "11000.00"}, {"line": "A", "amount": "12000.00"}])
    assert response.status_code == 400, response.content
    assert "changes[1].line" in _fields(response)
    assert ContractLine.objects.filter(contract_id=pk, key="A").count() == 1  # nothing applied
    # a change and a removal of the same line too
    response = _amend(api, pk, [{"line": "B", "amount": "600.00"}, {"remove": "B"}])
    assert response.status_code == 400 and "changes[1].remove" in _fields(response)


def test_an_amount_finer_than_the_currencys_minor_unit_is_a_400(contract):
    api, pk = contract
    response = _amend(api, pk, [{"line": "A", "amount": "0.001"}])
    assert response.status_code == 400, response.content
    assert "changes[0].amount" in _fields(response)
    assert through_override(api, _amend(api, pk, [{"line": "A", "amount": "10000.50"}])).status_code == 200


def test_a_zero_quantity_is_a_400_pointing_at_remove(contract):
    api, pk = contract
    response = _amend(api, pk, [{"line": "A", "quantity": "0"}])
    assert response.status_code == 400, response.content
    assert "changes[0].quantity" in _fields(response)
    assert ContractLine.objects.filter(contract_id=pk, key="A").count() == 1


def test_an_added_line_is_an_object_so_its_errors_name_add_dot_field(contract):
    """``add`` is one line (an object), not a list: a constrained amount above the estimate is a 400 on
    ``changes[0].add.variable_constrained``, in the amendment and in its preview alike."""
    api, pk = contract
    line = {
        "key": "C",
        "product": "onboarding",
        "billing": "one_time",
        "amount": "100.00",
        "variable_method": "most_likely_amount",
        "variable_estimate": "10.00",
        "variable_constrained": "20.00",
    }
    body = {"effective_date": "2026-03-01", "changes": [{"add": line}]}
    for path in (f"/api/v1/contracts/{pk}/amend/preview", f"/api/v1/contracts/{pk}/amend"):
        response = api.post(path, body, format="json")
        assert response.status_code == 400, response.content
        assert "changes[0].add.variable_constrained" in _fields(response), response.json()
    assert not ContractLine.objects.filter(contract_id=pk, key="C").exists()
