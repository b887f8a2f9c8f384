"""Every API route, read from the URL resolver (not a hand-kept list): a new endpoint is walked by the
security tests the moment it is routed."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver, resolve
from rest_framework.views import APIView

API_PREFIX = "/api/v1/"
METHODS = ("get", "post", "put", "patch", "delete")
# A value for each path parameter that addresses nothing (object scoping: such a record is a 404).
MISSING = {
    "pk": "987654321",
    "id": "987654321",
    "number": "987654321",
    "payment_id": "987654321",
    "sid": "987654321",
    "code": "no-such-code",
    "ref": "no-such-ref",
    "period": "2099-01",
}
# Path parameters that are not record ids: periods are keys, created on demand.
NOT_RECORDS = {"period"}


@dataclass(frozen=True)
class Route:
    regex: str
    name: str | None
    view: type[APIView]
    params: tuple[str, ...]

    def path(self, **values: str) -> str:
        return "/" + fill_path(self.regex, {**MISSING, **values})

    @property
    def methods(self) -> list[str]:
        return [m for m in METHODS if hasattr(self.view, m)]

    @property
    def addresses_record(self) -> bool:
        return any(p not in NOT_RECORDS for p in self.params)

    def __str__(self) -> str:
        return self.path()


def _segment(pattern) -> str:
    text = pattern.regex.pattern
    text = text.removeprefix("^")
    for end in ("\\Z", "$"):
        text = text.removesuffix(end)
    return text


def walk_patterns(patterns, prefix: str = ""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from walk_patterns(p.url_patterns, prefix + _segment(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + _segment(p.pattern), p


def fill_path(regex: str, values: dict[str, str]) -> str:
    """A concrete path from a route regex: each named group replaced by its value."""
    out, i = [], 0
    while i < len(regex):
        if regex.startswith("(?P<", i):
            name = regex[i + 4 : regex.index(">", i)]
            depth, j = 0, i
            while True:
                if regex[j] == "\\":
                    j += 2
                    continue
                depth += {"(": 1, ")": -1}.get(regex[j], 0)
                j += 1
                if depth == 0:
                    break
            out.append(values.get(name, "x"))
            i = j
        else:
            out.append(regex[i])
            i += 1
    text = "".join(out).replace("/?", "/")
    return re.sub(r"\\(.)", r"\1", text)


def api_routes() -> list[Route]:
    routes = []
    for regex, pattern in walk_patterns(get_resolver().url_patterns):
        if not ("/" + regex).startswith(API_PREFIX):
            continue
        view = getattr(pattern.callback, "cls", None)
        if view is None:
            # Only the catch-all 404 may be a plain function under /api/v1/.
            assert pattern.callback.__name__ == "unknown_api_path", f"/{regex} is not a DRF view"
            continue
        routes.append(Route(regex, pattern.name, view, tuple(pattern.pattern.regex.groupindex)))
    for route in routes:  # the sample path must reach the same view, or the walk proves nothing
        match = resolve(route.path())
        assert getattr(match.func, "cls", None) is route.view, f"{route.path()} resolves elsewhere"
    return routes
