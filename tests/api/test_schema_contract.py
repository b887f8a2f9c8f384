"""The OpenAPI schema states every response (issue 14 §5): no response is a bare ``{"id"}`` stub or
an object without properties, so an API client (and the fuzzer's response check) knows each field.

Walks every 2xx JSON response of every operation, through ``$ref``s, arrays and nested objects. A
nested object may be free-form only where the contract says so (``FREE_FORM``: its shape depends on
the data — a charge's properties, a usage group's key, a modification's analysis); anywhere else a
free object is a stub to type."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

# (component, property) pairs api.md documents as free-form objects.
FREE_FORM = {
    ("ModificationOut", "analysis"),  # api.md: the side-by-side preview, keyed by treatment
    ("UsageGroup", "key"),  # {prop: value} of the group_by properties
    ("ChargeOut", "properties"),  # by charge model (api.md: Charge)
    ("ChargeFilterOut", "match"),  # {prop: value}
    ("ChargeFilterOut", "properties"),
    ("Meter", "filters"),  # {prop: [values]}
    ("CheckRunOut", "results"),  # {check code: result}: a map of typed values
}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _walk(schema, node, where, component, prop, seen, found):
    components = schema["components"]["schemas"]
    if not isinstance(node, dict):
        return
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            _walk(schema, components[name], f"{where}<{name}>", name, None, seen | {name}, found)
        return
    for key in ("allOf", "oneOf", "anyOf"):
        for sub in node.get(key, []):
            _walk(schema, sub, where, component, prop, seen, found)
    if node.get("type") == "array":
        _walk(schema, node.get("items"), f"{where}[]", component, prop, seen, found)
        return
    props = node.get("properties")
    if props is not None and set(props) == {"id"}:
        found.append(f"{where}: only an id")
    composed = any(key in node for key in ("allOf", "oneOf", "anyOf"))
    if node.get("type") == "object" and not props and not composed:
        extra = node.get("additionalProperties")
        typed_map = isinstance(extra, dict) and extra != {}
        if not typed_map and (component, prop) not in FREE_FORM:
            found.append(f"{where}: an object without properties")
    for name, sub in (props or {}).items():
        _walk(schema, sub, f"{where}.{name}", component, name, seen, found)
    if isinstance(node.get("additionalProperties"), dict):
        _walk(schema, node["additionalProperties"], f"{where}.*", component, prop, seen, found)


def stubs(schema) -> list[str]:
    found: list[str] = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            for status, response in operation.get("responses", {}).items():
                if not status.startswith("2"):
                    continue
                body = (response.get("content") or {}).get("application/json")
                if body is None:
                    continue
                where = f"{method.upper()} {path} {status}"
                if not body.get("schema"):
                    found.append(f"{where}: no schema")
                    continue
                _walk(schema, body["schema"], where, None, None, frozenset(), found)
    return found


def test_no_response_schema_is_a_stub(schema):
    assert stubs(schema) == []


def test_the_walk_finds_a_stub():
    """The check itself: an ``{"id"}`` response, a free object in a list, and an empty schema."""
    schema = {
        "paths": {
            "/x/": {
                "get": {
                    "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/c/S"}}}}}
                },
                "post": {"responses": {"201": {"content": {"application/json": {"schema": {}}}}}},
            }
        },
        "components": {
            "schemas": {
                "S": {
                    "type": "object",
                    "properties": {
                        "child": {"type": "object", "properties": {"id": {"type": "integer"}}},
                        "lines": {"type": "array", "items": {"type": "object"}},
                        "by_code": {"type": "object", "additionalProperties": {"type": "string"}},
                    },
                }
            }
        },
    }
    assert stubs(schema) == [
        "GET /x/ 200<S>.child: only an id",
        "GET /x/ 200<S>.lines[]: an object without properties",
        "POST /x/ 201: no schema",
    ]
