"""OpenAPI extensions: bearer auth and the RFC 9457 problem responses every operation can return."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as _AutoSchema
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "revops.core.api.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "Token from `manage.py create_api_token`."}


PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "additionalProperties": True,
}


def add_problem_responses(result, generator, request, public):
    """Every operation may answer with a problem: document it as the ``default`` response."""
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    ref = {"$ref": "#/components/schemas/Problem"}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault(
                    "default",
                    {
                        "description": "Error (RFC 9457)",
                        "content": {"application/problem+json": {"schema": ref}},
                    },
                )
    return result


def page_of(name: str, items: serializers.BaseSerializer) -> serializers.Serializer:
    """The documented shape of a list a view pages by hand (``{"results", "next", "previous"}``, api.md
    "Lists"); ``items`` is a ``many=True`` serializer. Views paginated by ``list_view = True`` and the
    cursor paginator are documented by spectacular itself."""
    return inline_serializer(
        name,
        fields={
            "results": items,
            "next": serializers.CharField(allow_null=True),
            "previous": serializers.CharField(allow_null=True),
        },
    )


class AutoSchema(_AutoSchema):
    """Views that list set ``list_view = True``: their GET is named ``*_list`` and documented as a
    paginated array (our views are plain APIViews, so spectacular cannot guess)."""

    def get_description(self) -> str:
        """The view's own docstring (or its handler's), never one inherited from the API base classes
        in revops.core.api.views (their docstrings describe the plumbing, not the endpoint)."""
        from drf_spectacular.plumbing import get_doc

        from revops.core.api import views as base

        handler_doc = get_doc(getattr(self.view, self.method.lower(), None))
        if handler_doc:
            return handler_doc
        for cls in type(self.view).__mro__:
            if cls.__module__ == base.__name__ or cls.__module__.startswith("rest_framework"):
                break
            if cls.__doc__:
                return get_doc(cls)
        return ""

    def _map_basic_serializer(self, serializer, direction):
        """A request body of a strict serializer (revops.core.api.serializers) admits no other
        properties: the schema says what the view answers (400 naming the field)."""
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and getattr(serializer, "strict_fields", False):
            schema["additionalProperties"] = False
        omitted = set(getattr(serializer, "omit_null", ()))  # revops.core.api.serializers.OmitNullMixin
        if omitted and "required" in schema:
            schema["required"] = [name for name in schema["required"] if name not in omitted]
        return schema

    def _is_list_view(self, serializer=None) -> bool:
        if self.method == "GET" and getattr(self.view, "list_view", False):
            return True
        return super()._is_list_view(serializer)
