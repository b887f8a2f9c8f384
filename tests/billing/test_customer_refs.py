"""Issue 12 §10: a numeric customer reference matches external_id before id only where api.md
documents ``{id or external_id}`` (the /customers/{ref} paths); elsewhere ``customer`` is the
external_id and ``customer_id`` the id — two parameters, never one guessed from the other."""

from datetime import date

import pytest

from billing.contracts.models import Contract
from tests.billing.factories import ContractFactory
from tests.revops.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two(catalog):
    """``alpha`` and a customer whose external_id is alpha's id written as a number."""
    alpha = CustomerFactory(external_id="alpha", name="Alpha")
    numeric = CustomerFactory(external_id=str(alpha.pk + 1000), name="Numeric")
    contract = ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}], customer=alpha
    )
    return alpha, numeric, contract


def test_the_documented_path_reference_matches_external_id_first_then_id(api_for, two):
    alpha, numeric, _ = two
    api = api_for("finance")
    assert api.get(f"/api/v1/customers/{numeric.external_id}").json()["name"] == "Numeric"
    assert api.get(f"/api/v1/customers/{alpha.pk}").json()["name"] == "Alpha"


def test_a_contract_for_a_customer_id_sent_as_customer_is_refused(api_for, catalog, two):
    alpha, _, _ = two
    before = Contract.objects.count()
    response = api_for("finance").post(
        "/api/v1/contracts",
        {
            "customer": str(alpha.pk),  # alpha's id, not an external_id: no longer silently alpha
            "currency": "USD",
            "start_date": "2026-01-01",
            "end_date": "2027-01-01",
            "lines": [{"key": "svc", "product": "platform", "unit_price": "10.00"}],
        },
        format="json",
    )
    assert response.status_code == 400, response.content
    assert {e["field"] for e in response.json()["errors"]} == {"customer"}
    assert Contract.objects.count() == before


@pytest.mark.parametrize("path", ["/api/v1/contracts", "/api/v1/invoices"])
def test_list_filters_take_external_id_and_id_as_separate_parameters(api_for, two, path):
    alpha, numeric, contract = two
    api = api_for("finance")
    if path.endswith("invoices"):
        from billing.invoicing.build import invoice_build

        invoice_build(contract_id=contract.pk, billing_date=date(2026, 1, 1))
    by_id = api.get(path, {"customer_id": alpha.pk})
    assert by_id.status_code == 200 and len(by_id.json()["results"]) == 1
    by_external = api.get(path, {"customer": "alpha"})
    assert [r["id"] for r in by_external.json()["results"]] == [r["id"] for r in by_id.json()["results"]]
    # alpha's id as ``customer`` is an external_id that does not exist: not alpha's records.
    assert api.get(path, {"customer": str(alpha.pk)}).status_code == 404
    assert api.get(path, {"customer": numeric.external_id}).json()["results"] == []
    both = api.get(path, {"customer": "alpha", "customer_id": alpha.pk})
    assert both.status_code == 400 and both.json()["errors"][0]["field"] == "customer_id"
    assert api.get(path, {"customer_id": "x1"}).status_code == 400


@pytest.mark.django_db
def test_patching_a_customers_external_id_is_refused_not_silently_dropped(api_for):
    api = api_for("finance")
    created = api.post(
        "/api/v1/customers", {"external_id": "r1516", "name": "R", "currency": "USD"}, format="json"
    )
    assert created.status_code == 201
    response = api.patch("/api/v1/customers/r1516", {"external_id": "r1516-new"}, format="json")
    assert response.status_code == 400  # was 200 with external_id unchanged
    assert [e["field"] for e in response.json()["errors"]] == ["external_id"]
    renamed = api.patch("/api/v1/customers/r1516", {"name": "R2"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["external_id"] == "r1516"
