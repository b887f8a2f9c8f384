"""A request field the endpoint does not know is a 400 problem naming it (issue 14 §5), on every write
endpoint: one mechanism (revops.core.api.serializers), stated in the OpenAPI schema as well."""

from __future__ import annotations

import pytest
import yaml
from django.core.management import call_command

from revops.core.api.serializers import InputSerializer


def _fields(response) -> dict[str, str]:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def test_an_unknown_contract_field_is_a_400_naming_it(api_for):
    api = api_for("admin")
    body = {
        "customer": "nobody",
        "currency": "USD",
        "start_date": "2026-01-01",
        "end_date": "2027-01-01",
        "billing_ancor": "calendar",  # misspelt: refused, not dropped
        "lines": [{"key": "a", "product": "p", "colour": "red"}],
    }
    fields = _fields(api.post("/api/v1/contracts", body, format="json"))
    assert fields["billing_ancor"] == "Unknown field."
    assert fields["lines[0].colour"] == "Unknown field."


def test_a_read_only_field_in_a_body_is_a_400(api_for):
    body = {"id": 7, "external_id": "x-1", "name": "X", "currency": "USD"}
    assert _fields(api_for("admin").post("/api/v1/customers", body, format="json")) == {
        "id": "This field is read-only."
    }


def test_unknown_top_level_fields_of_a_usage_batch_are_refused(api_for):
    response = api_for("admin").post("/api/v1/events", {"events": [], "dry_run": True}, format="json")
    assert _fields(response) == {"dry_run": "Unknown field."}


def test_the_check_runs_with_the_serializers_own_errors():
    class In(InputSerializer):
        from rest_framework import serializers

        amount = serializers.IntegerField()

    data = In(data={"amount": "x", "extra": 1})
    assert not data.is_valid()
    assert set(data.errors) == {"amount", "extra"}


@pytest.fixture(scope="module")
def schema(tmp_path_factory):
    path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    call_command("spectacular", "--file", str(path))
    return yaml.safe_load(path.read_text())


def _resolve(schema, node):
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def test_every_request_body_with_named_fields_admits_no_others(schema):
    """Each JSON request body (and each object nested in it) that names its properties says
    additionalProperties: false — what the view answers with a 400."""
    open_bodies = []

    def walk(node, where, seen):
        node = _resolve(schema, node)
        if id(node) in seen:
            return
        seen.add(id(node))
        if node.get("properties"):
            if node.get("additionalProperties") is not False:
                open_bodies.append(where)
            for name, sub in node["properties"].items():
                walk(sub, f"{where}.{name}", seen)
        if "items" in node:
            walk(node["items"], f"{where}[]", seen)

    for path, item in schema["paths"].items():
        for method, operation in item.items():
            body = (operation.get("requestBody") or {}).get("content", {}).get("application/json")
            if body:
                walk(body["schema"], f"{method.upper()} {path}", set())
    assert open_bodies == []


def test_fractional_numbers_in_free_form_json_are_kept_as_exact_decimal_strings(api_for):
    """The parser reads 1.5 as Decimal('1.5'), never a float; charge properties and filters store it
    as the decimal string every amount is sent as."""
    api = api_for("admin")
    meter = {"code": "m1", "name": "M", "aggregation": "count", "filters": {"region": [1.5, 2]}}
    assert api.post("/api/v1/meters", meter, format="json").json()["filters"] == {"region": ["1.5", 2]}
    api.post("/api/v1/products", {"code": "p1", "name": "P", "recognition": "point_in_time"}, format="json")
    charge = {
        "code": "c",
        "product": "p1",
        "meter": "m1",
        "model": "standard",
        "properties": {"unit_amount": 1.5},
        "timing": "in_arrears",
        "filters": [{"match": {"region": 1.5}, "properties": {"unit_amount": 2.25}}],
    }
    plan = {"code": "pl", "name": "P", "currency": "USD", "interval": "month", "charges": [charge]}
    response = api.post("/api/v1/plans", plan, format="json")
    assert response.status_code == 201
    saved = response.json()["charges"][0]
    assert saved["properties"] == {"unit_amount": "1.5"}
    assert saved["filters"] == [{"match": {"region": "1.5"}, "properties": {"unit_amount": "2.25"}}]
