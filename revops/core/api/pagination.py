from rest_framework import pagination
from rest_framework.response import Response


class CursorPagination(pagination.CursorPagination):
    """``{"results": [...], "next": url|null, "previous": url|null}``; ``?page_size=`` up to 1000."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000
    ordering = "-id"

    def get_ordering(self, request, queryset, view):
        """A view may set ``cursor_ordering`` (a unique, indexed field or tuple ending in one)."""
        ordering = getattr(view, "cursor_ordering", None) or self.ordering
        return (ordering,) if isinstance(ordering, str) else tuple(ordering)

    def get_paginated_response(self, data):
        return Response({"results": data, "next": self.get_next_link(), "previous": self.get_previous_link()})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results", "next", "previous"],
            "properties": {
                "results": schema,
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
            },
        }
