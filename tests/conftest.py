"""Shared fixtures.

Service-backed tests (marker ``services``/``postgres``) skip on a laptop without PostgreSQL/Redis but
FAIL in CI (``CI=true`` or ``REQUIRE_SERVICES=1``): a missing service must never pass silently."""

from __future__ import annotations

import os

import pytest
from django.db import connection
from hypothesis import HealthCheck, settings
from rest_framework.test import APIClient

# Properties are judged by what they find, not by how fast a shared, loaded machine generates inputs:
# no per-example deadline and no "input generation is slow" health check (the other checks stay).
settings.register_profile("concord", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("concord")

pytest_plugins = ["tests.builders"]

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1" or os.environ.get("CI") == "true"


def _missing_service_reason(item) -> str | None:
    from django.conf import settings

    needs_pg = item.get_closest_marker("postgres") or item.get_closest_marker("services")
    needs_redis = item.get_closest_marker("services") or item.get_closest_marker("worker")
    if needs_pg and connection.vendor != "postgresql":
        return "needs PostgreSQL (set DATABASE_URL=postgres://...)"
    if needs_redis and not settings.CELERY_BROKER_URL:
        return "needs Redis (set REDIS_URL=redis://...)"
    return None


def pytest_runtest_setup(item):
    reason = _missing_service_reason(item)
    if reason:
        if REQUIRE_SERVICES:
            pytest.fail(f"Required service missing in CI: {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture
def make_user(db):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from revops.core.services.roles import sync_role_groups

    sync_role_groups()

    def make(username: str = "user", role: str | None = None, password: str = "pw-123456!"):
        user = get_user_model().objects.create_user(username=username, password=password)
        if role:
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def api_for(db):
    """api_for("finance") -> an APIClient authenticated with a fresh bearer token of that role."""
    from revops.core.services.tokens import api_token_create

    counter = {"n": 0}

    def make(role: str, username: str | None = None) -> APIClient:
        counter["n"] += 1
        name = username or f"{role}-api-{counter['n']}"
        from django.db import transaction

        with transaction.atomic():
            token, raw = api_token_create(username=name, role=role)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        client.user = token.user
        return client

    return make


@pytest.fixture
def ui_for(client, make_user):
    """ui_for("finance") -> Django test client logged in as a new user with that role."""

    def make(role: str, username: str | None = None):
        user = make_user(username or f"{role}-ui", role)
        client.force_login(user)
        client.user = user
        return client

    return make


BOOKS_CLOCK = "2035-12"


@pytest.fixture(autouse=True)
def books_clock(request, monkeypatch):
    """The golden examples and properties live through years of a contract (IFRS 15 IE 7 runs to 2029,
    IE 8 into 2027) while the books refuse revenue for a month that has not begun. For them the books'
    current period (revrec.services.periods.current_key, the one clock behind that limit) is moved to
    BOOKS_CLOCK, as if those years had passed. Tests of the limit itself are marked
    ``real_books_clock`` and keep today's period."""
    if request.node.get_closest_marker("real_books_clock"):
        return
    from revrec.services import periods, runs

    monkeypatch.setattr(periods, "current_key", lambda: BOOKS_CLOCK)
    monkeypatch.setattr(runs, "current_key", lambda: BOOKS_CLOCK)
