"""Issue 12 §9: bad input never gets a 500 or poisons work — the kernel-level guards (JSON depth, lone
surrogates, dates, amounts) exercised through the API. Each request here was a 500 before."""

from __future__ import annotations

import pytest

from billing.models import Meter
from revops.contracts.models import Product
from revops.core.models import IdempotencyKey

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
