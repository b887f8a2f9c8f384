"""Issue 12 §9: bad input never gets a 500 or poisons work — the kernel-level guards (JSON depth, lone
surrogates, dates, amounts) exercised through the API. Each request here was a 500 before."""

from __future__ import annotations

import pytest

from billing.models import Meter
from revops.core.models import IdempotencyKey
from revops.parties.models import Product
from tests.revops.factories import CustomerFactory

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def problem(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"] == PROBLEM
    return response.json()


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


# --- JSON nested 100,000 deep ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/v1/products", "/api/v1/events", "/api/v1/ssp", "/api/v1/billing-runs", "/api/v1/meters"]
)
@pytest.mark.parametrize("depth", [100_000, 65])
def test_json_nested_too_deep_is_a_400_problem(api_for, path, depth):
    body = problem(
        api_for("admin").generic("POST", path, nested(depth), content_type="application/json"), 400
    )
    assert "nested deeper than 64" in body["detail"]


def test_json_nested_too_deep_with_an_idempotency_key_is_a_400_and_stores_nothing(api_for):
    api = api_for("admin")
    response = api.generic(
        "POST",
        "/api/v1/events",
        b'{"events":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="deep-1",
    )
    problem(response, 400)
    assert not IdempotencyKey.objects.exists()


def test_json_at_the_depth_limit_is_still_parsed(api_for):
    """64 levels is accepted by the parser (the view then judges the content)."""
    response = api_for("admin").generic(
        "POST", "/api/v1/products", nested(63), content_type="application/json"
    )
    body = problem(response, 400)
    assert "nested" not in body["detail"]


def test_a_json_number_out_of_float_range_is_a_400(api_for):
    body = problem(
        api_for("admin").generic(
            "POST",
            "/api/v1/allocations/preview",
            b'{"currency":"USD","transaction_price":1e400,"lines":[{"key":"a","ssp":"1"}]}',
            content_type="application/json",
        ),
        400,
    )
    assert "out of range" in body["detail"]


# --- lone surrogates ------------------------------------------------------------------------------------


def test_a_lone_surrogate_in_a_customer_ref_is_refused_naming_the_field(api_for):
    body = problem(
        api_for("admin").generic(
            "POST",
            "/api/v1/customers",
            b'{"external_id":"x\\ud800","name":"X"}',
            content_type="application/json",
        ),
        400,
    )
    assert body["errors"][0]["field"] == "external_id"
    assert "surrogate" in body["detail"]


def test_a_lone_surrogate_in_a_meter_filter_is_refused_and_nothing_is_written(api_for):
    raw = b'{"code":"m1","name":"M","aggregation":"count","filters":{"region":["\\udc00"]}}'
    body = problem(
        api_for("pricing").generic("POST", "/api/v1/meters", raw, content_type="application/json"), 400
    )
    assert body["errors"][0]["field"] == "filters.region[0]"
    assert not Meter.objects.filter(code="m1").exists()


def test_a_lone_surrogate_in_a_property_key_is_refused(api_for):
    raw = b'{"code":"p1","name":"P","description":"ok","extra":{"\\ud801k":1}}'
    body = problem(
        api_for("pricing").generic("POST", "/api/v1/products", raw, content_type="application/json"), 400
    )
    assert body["errors"][0]["field"].startswith("extra.")
    assert not Product.objects.filter(code="p1").exists()


# --- amounts beyond column precision, quantity × price overflow ----------------------------------------


def test_a_32_digit_ssp_is_a_400_not_a_database_error(api_for, catalog):
    from revrec.models import SSPEntry

    before = SSPEntry.objects.count()
    body = problem(
        api_for("finance").post(
            "/api/v1/ssp",
            {
                "product": "platform",
                "currency": "USD",
                "effective_from": "2026-01-01",
                "ssp": "9" * 32,
                "method": "observable",
            },
            format="json",
        ),
        400,
    )
    assert body["errors"][0]["field"] == "ssp" and "16 digits before the point" in body["detail"]
    assert SSPEntry.objects.count() == before


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("quantity", "1e30", "20 digits before the point"),
        ("quantity", "0.00000000001", "10 decimal places"),
        ("unit_price", "1" + "0" * 18, "18 digits before the point"),
        ("amount", "12345678901234567", "16 digits before the point"),
        ("ssp", "1.00001", "4 decimal places"),
    ],
)
def test_contract_line_numbers_beyond_their_columns_are_a_400(api_for, catalog, field, value, message):
    CustomerFactory(external_id="acme")
    line = {"key": "platform", "product": "platform", "unit_price": "10.00", field: value}
    body = problem(
        api_for("finance").post(
            "/api/v1/contracts",
            {
                "customer": "acme",
                "currency": "USD",
                "start_date": "2026-01-01",
                "end_date": "2027-01-01",
                "lines": [line],
            },
            format="json",
        ),
        400,
    )
    assert body["errors"][0]["field"] == f"lines[0].{field}" and message in body["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"charge": {"model": "standard", "properties": {"unit_amount": "1e12"}}, "quantity": "1e19"},
        {"charge": {"model": "standard", "properties": {"unit_amount": "1e400"}}, "quantity": "1"},
        {"charge": {"model": "flat", "properties": {"amount": "1e30"}}},
        {"charge": {"model": "dynamic", "field": "amt", "properties": {}}, "events": [{"amt": "1e400"}]},
    ],
)
def test_quantity_times_price_beyond_an_invoice_amount_is_a_400(api_for, body):
    response = api_for("pricing").post("/api/v1/pricing/preview", {"currency": "USD", **body}, format="json")
    assert "too large for an invoice" in problem(response, 400)["detail"]


@pytest.mark.parametrize("quantity", ["1e30", "1e400"])
def test_a_huge_quantity_is_refused_at_the_boundary(api_for, quantity):
    body = {
        "currency": "USD",
        "charge": {"model": "standard", "properties": {"unit_amount": "1"}},
        "quantity": quantity,
    }
    response = problem(api_for("pricing").post("/api/v1/pricing/preview", body, format="json"), 400)
    assert response["errors"][0]["field"] == "quantity"


def test_a_contract_whose_quantity_times_price_overflows_is_refused_not_a_500(api_for, catalog):
    from billing.contracts.models import Contract

    CustomerFactory(external_id="acme")
    line = {"key": "platform", "product": "platform", "quantity": "9" * 20, "unit_price": "9" * 18}
    response = api_for("finance").post(
        "/api/v1/contracts",
        {
            "customer": "acme",
            "currency": "USD",
            "start_date": "2026-01-01",
            "end_date": "2027-01-01",
            "lines": [line],
        },
        format="json",
    )
    assert response.status_code in (400, 422), response.content[:300]
    assert response["Content-Type"] == PROBLEM
    assert not Contract.objects.exists()


def test_a_simulation_window_over_1000_to_9000_is_a_400(api_for):
    body = problem(
        api_for("pricing").post(
            "/api/v1/pricing/simulate",
            {"plan": "none", "start": "1000-01-01T00:00:00Z", "end": "9000-01-01T00:00:00Z"},
            format="json",
        ),
        400,
    )
    assert {e["field"] for e in body["errors"]} == {"start", "end"}
