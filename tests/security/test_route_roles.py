"""Per-object scoping and role checks on every API route (issue 8 §6).

Every route under /api/v1/ comes from the URL resolver (tests/security/routes.py), so an endpoint
added tomorrow is walked too. For each (route, method):

- without a token → 401 problem with a ``WWW-Authenticate`` challenge;
- with a token of each role → what revops.roles.AREAS says: a role that may not read (GET) or write
  (anything else) the view's area gets a 403 problem *before* anything is looked up (no probing for
  which ids exist); a role that may gets past the role check;
- a record addressed by an id that does not exist → 404 problem (also an id beyond the column's range);
- never a 500.
"""

from __future__ import annotations

import pytest

from revops.roles import AREAS, ROLES
from tests.security.routes import api_routes

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
ROLE_DENIED = "Your role does not allow this."
ROUTES = api_routes()
CASES = [
    pytest.param(route, method, id=f"{method.upper()} {route}")
    for route in ROUTES
    for method in route.methods
]


def call(client, method: str, path: str):
    if method == "get":
        return client.get(path)
    return getattr(client, method)(path, {}, format="json")


def allowed(role: str, route, method: str) -> bool:
    view = route.view
    readers, _ = AREAS[view.area]
    _, writers = AREAS[getattr(view, "write_area", view.area)]
    return role in (readers if method == "get" else writers)


def excerpt(response) -> bytes:
    return b"<streamed>" if response.streaming else response.content[:300]


def is_problem(response, status: int) -> bool:
    return response.status_code == status and response["Content-Type"] == PROBLEM


@pytest.fixture
def clients(api_for):
    return {role: api_for(role) for role in ROLES}


def test_the_walk_covers_the_documented_api():
    paths = {str(route) for route in ROUTES}
    for expected in (
        "/api/v1/customers/",
        "/api/v1/contracts/987654321/amend/",
        "/api/v1/invoices/987654321/pdf/",
        "/api/v1/schedules/987654321/approve/",
        "/api/v1/periods/2099-01/close/",
        "/api/v1/evidence/",
    ):
        assert expected in paths
    assert len(CASES) >= 80


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_every_api_view_names_a_known_area(route):
    """A view with no area is closed to everyone (RolePermission); one with an unknown area is a typo."""
    assert route.view.area in AREAS, route.view
    assert getattr(route.view, "write_area", route.view.area) in AREAS, route.view


@pytest.mark.parametrize(("route", "method"), CASES)
def test_route_by_role(route, method, client, clients):
    path = route.path()
    anonymous = call(client, method, path)
    assert is_problem(anonymous, 401), (path, anonymous.status_code, excerpt(anonymous))
    assert anonymous["WWW-Authenticate"].startswith("Bearer")

    for role, api in clients.items():
        response = call(api, method, path)
        body = excerpt(response)
        assert response.status_code < 500, (role, path, response.status_code, body)
        if not allowed(role, route, method):
            assert is_problem(response, 403), (role, path, response.status_code, body)
            assert response.json()["detail"] == ROLE_DENIED
            continue
        assert response.status_code != 401, (role, path, body)
        if response.status_code == 403:  # a business rule may refuse; the role check must not
            assert response.json()["detail"] != ROLE_DENIED, (role, path, body)
        if route.addresses_record:
            assert is_problem(response, 404), (role, path, response.status_code, body)


@pytest.mark.parametrize(
    ("route", "method"), [c for c in CASES if c.values[0].addresses_record], ids=lambda v: str(v)
)
def test_ids_beyond_the_column_range_are_404(route, method, api_for):
    """An id the database cannot even hold (the path regex allows any length) is just not found."""
    huge = "9" * 30
    path = route.path(pk=huge, id=huge, number=huge)
    response = call(api_for("admin"), method, path)
    assert is_problem(response, 404), (path, response.status_code, excerpt(response))


def test_a_role_that_cannot_read_an_area_cannot_list_it(api_for, monkeypatch):
    """Today every role reads every area; the walk above would not notice a role check that ignored
    reads. Take finance's read right on the audit trail away and listing it must be refused."""
    readers, writers = AREAS["audit"]
    monkeypatch.setitem(AREAS, "audit", (readers - {"finance"}, writers))
    finance, auditor = api_for("finance"), api_for("auditor")
    for path in ("/api/v1/audit-events", "/api/v1/audit-events/verify", "/api/v1/evidence?period=2026-01"):
        refused = finance.get(path)
        assert is_problem(refused, 403) and refused.json()["detail"] == ROLE_DENIED, path
        assert auditor.get(path).status_code != 403, path
