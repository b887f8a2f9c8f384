"""Regressions for what the API fuzzing (test_schemathesis.py) and the route walk found: each was a
500, or a response that did not match its declared schema. One test per bug, named after the fix."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

from billing.models import QuarantinedEvent

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def problem(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"] == PROBLEM
    return response.json()


# --- 500s ----------------------------------------------------------------------------------------------


def test_null_and_scalar_events_are_quarantined_not_a_500(api_for):
    """JSON null as an event was stored as SQL NULL in the NOT NULL payload column."""
    response = api_for("finance").post("/api/v1/events", {"events": [None, 5, "x"]}, format="json")
    assert response.status_code == 200, response.content
    assert [r["index"] for r in response.json()["rejected"]] == [0, 1, 2]
    assert sorted(QuarantinedEvent.objects.values_list("index", flat=True)) == [0, 1, 2]
    assert QuarantinedEvent.objects.get(index=0).payload is None


def test_nul_characters_in_a_rejected_event_are_kept_visible(api_for):
    """PostgreSQL jsonb refuses U+0000: the error messages quote the bad value, and were stored raw."""
    event = {"transaction_id": "t\x00", "customer": "a\x00b", "code": "m", "properties": {"\x00k": "v\x00"}}
    response = api_for("finance").post("/api/v1/events", {"events": [event]}, format="json")
    assert response.status_code == 200, response.content
    item = QuarantinedEvent.objects.get()
    assert "\x00" not in str(item.payload) and "\x00" not in str(item.errors)
    assert "\\u0000" in item.customer_ref and any("\\u0000" in e["message"] for e in item.errors)


def test_products_can_be_created_inactive(api_for):
    """``active`` is a writable field of POST /products, but product_create did not take it."""
    response = api_for("pricing").post(
        "/api/v1/products", {"code": "old", "name": "Old", "active": False}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["active"] is False


@pytest.mark.parametrize("path", ["/api/v1/contracts", "/api/v1/invoices", "/api/v1/plans", "/api/v1/ssp"])
def test_options_answers_without_a_serializer(api_for, path):
    """DRF's OPTIONS metadata built each view's serializer; views that shape payloads by hand have none."""
    response = api_for("admin").options(path)
    assert response.status_code == 200, response.content
    assert {"name", "renders", "parses"} <= set(response.json())


@pytest.mark.parametrize("value", ["null", "-1", "1.5", "9" * 30])
def test_journal_entries_contract_filter_is_validated(api_for, value):
    body = problem(api_for("finance").get(f"/api/v1/journal-entries?contract={value}"), 400)
    assert body["errors"][0]["field"] == "contract"


def test_a_csv_request_that_fails_gets_a_problem_body(api_for):
    """The CSV renderer used to render the problem dict as its keys joined: 'typetitlestatusdetail'."""
    body = problem(api_for("finance").get("/api/v1/journal-entries?format=csv&contract=x"), 400)
    assert body["type"] == "/problems/validation-error"


def test_nul_in_a_query_parameter_is_a_400(api_for):
    """PostgreSQL cannot compare text with U+0000 (DataError → 500)."""
    api = api_for("finance")
    for path in ("/api/v1/contracts?status=%00", "/api/v1/audit-events?object_type=a%00b"):
        body = problem(api.get(path), 400)
        assert "NUL" in body["detail"], path


def test_nul_in_the_bulk_replay_filters_is_a_400(api_for):
    body = problem(
        api_for("finance").post("/api/v1/events/quarantine/replay", {"meter": "a\x00"}, format="json"), 400
    )
    assert body["errors"][0]["field"] == "meter"
    ok = api_for("finance").post("/api/v1/events/quarantine/replay", {"customer": ""}, format="json")
    assert ok.status_code == 200 and ok.json() == {"accepted": 0, "duplicates": 0, "still_invalid": 0}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/api/v1/meters",
            {"code": "m", "name": "M", "aggregation": "count", "filters": {"k": ["a\x00"]}},
            "filters.k[0]",
        ),
        (
            "/api/v1/meters",
            {"code": "m", "name": "M", "aggregation": "count", "filters": {"\x00": []}},
            "filters.\\u0000",
        ),
        (
            "/api/v1/plans",
            {
                "code": "p",
                "name": "P",
                "currency": "USD",
                "charges": [{"code": "c", "model": "flat", "properties": {"amount": "1", "note": "\x00"}}],
            },
            "charges[0].properties.note",
        ),
    ],
)
def test_nul_anywhere_in_a_stored_body_is_a_400(api_for, path, body, field):
    """PostgreSQL jsonb refuses U+0000 (DataError → 500): bodies are checked once, in the base view."""
    errors = problem(api_for("admin").post(path, body, format="json"), 400)["errors"]
    assert errors == [{"field": field, "message": "Text cannot contain the NUL character (U+0000)."}]


def test_an_idempotent_ingestion_that_echoes_a_nul_is_stored_and_replayed(api_for):
    """The ingestion response quotes the bad value; the idempotency store keeps responses in jsonb."""
    api = api_for("finance")
    body = {"events": [{"transaction_id": "n1", "customer": "a\x00b", "code": "m", "timestamp": "x"}]}
    first = api.post("/api/v1/events", body, format="json", HTTP_IDEMPOTENCY_KEY="nul-1")
    again = api.post("/api/v1/events", body, format="json", HTTP_IDEMPOTENCY_KEY="nul-1")
    assert first.status_code == again.status_code == 200, first.content
    assert again["Idempotent-Replayed"] == "true"
    assert "\\u0000" in str(again.json()["rejected"])


def test_replaying_an_id_beyond_the_column_range_is_a_404(api_for):
    """``pk__in=[10**30]`` overflowed SQLite's integer (OverflowError → 500)."""
    problem(api_for("finance").post(f"/api/v1/events/quarantine/{'9' * 30}/replay"), 404)


# --- declared schemas --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _response(schema, path: str, method: str, status: str) -> dict:
    content = schema["paths"][path][method]["responses"][status]["content"]
    ref = content["application/json"]["schema"]
    while "$ref" in ref:
        ref = schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]
    return ref


@pytest.mark.parametrize(
    "path",
    ["/api/v1/events/quarantine/", "/api/v1/plans/{code}/versions/", "/api/v1/contracts/{id}/modifications/"],
)
def test_hand_paginated_lists_are_documented_as_pages(schema, path):
    page = _response(schema, path, "get", "200")
    assert {"results", "next", "previous"} <= set(page["properties"]), path
    assert page["properties"]["results"]["type"] == "array"


def test_quarantined_event_fields_allow_what_an_open_item_has(schema):
    item = schema["components"]["schemas"]["QuarantinedEvent"]["properties"]
    assert item["resolved_by"].get("nullable") and item["batch"].get("nullable")
    outcome_refs = {x["$ref"].rsplit("/", 1)[1] for x in item["outcome"]["oneOf"]}
    assert "BlankEnum" in outcome_refs  # "" while open or discarded


@pytest.mark.parametrize("path", ["/api/v1/customers/", "/api/v1/products/", "/api/v1/meters/"])
def test_creates_are_documented_as_201(schema, path):
    assert "201" in schema["paths"][path]["post"]["responses"]


def test_period_close_documents_the_checklist(schema):
    # GET reads the checklist; POST asks an approver to close (202: maker-checker) and returns it too
    for method, status in (("get", "200"), ("post", "202")):
        body = _response(schema, "/api/v1/periods/{period}/close/", method, status)
        assert "checklist" in body["properties"], method
    assert "approval" in _response(schema, "/api/v1/periods/{period}/close/", "post", "202")["properties"]
    assert "status" not in _response(schema, "/api/v1/periods/{period}/close/", "get", "200").get(
        "required", []
    )


def test_operations_do_not_inherit_the_base_view_docstring(schema):
    descriptions = [op.get("description", "") for item in schema["paths"].values() for op in item.values()]
    assert not any("run_idempotent" in d or "DRF's dispatch" in d for d in descriptions)
