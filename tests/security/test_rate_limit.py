"""Rate limits on the API (issue 8 §6): per user, all of its tokens together (``API_RATE_LIMIT``,
``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["token"]``). The N+1th request in the window is a 429
problem with ``Retry-After``; the window slides; users do not share a budget. Tests use a relaxed
rate (revops/settings/test.py); here a low one is set with ``override_settings``."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import override_settings

from revops.core.api.throttling import TokenRateThrottle
from revops.core.services.tokens import api_token_create

pytestmark = pytest.mark.django_db

LIMIT = 5


@pytest.fixture
def low_rate(settings):
    """A low rate for this test only; the throttle history lives in the cache, so start and end clean."""
    cache.clear()
    rest = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": f"{LIMIT}/min"}}
    with override_settings(REST_FRAMEWORK=rest):
        yield
    cache.clear()


def test_the_n_plus_first_request_is_a_429_problem_with_retry_after(api_for, low_rate):
    api = api_for("auditor")
    for n in range(LIMIT):
        assert api.get("/api/v1/audit-events").status_code == 200, n
    response = api.get("/api/v1/audit-events")
    assert response.status_code == 429
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 429 and body["type"] == "/problems/rate-limited" and body["detail"]
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= 60


def test_writes_count_and_are_refused_before_they_run(api_for, low_rate):
    from revops.parties.models import Customer

    api = api_for("finance")
    for n in range(LIMIT):
        body = {"external_id": f"rl-{n}", "name": "Rate", "currency": "USD"}
        assert api.post("/api/v1/customers", body, format="json").status_code == 201
    refused = api.post(
        "/api/v1/customers", {"external_id": "rl-x", "name": "R", "currency": "USD"}, format="json"
    )
    assert refused.status_code == 429 and "Retry-After" in refused
    assert not Customer.objects.filter(external_id="rl-x").exists()


def test_all_tokens_of_a_user_share_one_budget_and_users_do_not(api_for, low_rate):
    first = api_for("auditor", username="rl-user")
    _, raw = api_token_create(username="rl-user", role="auditor")
    second = api_for("auditor", username="rl-user")  # a third token, same user
    assert first.user.pk == second.user.pk
    for n in range(LIMIT):
        assert (first if n % 2 else second).get("/api/v1/periods").status_code == 200
    assert first.get("/api/v1/periods").status_code == 429
    second.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert second.get("/api/v1/periods").status_code == 429
    assert api_for("auditor").get("/api/v1/periods").status_code == 200  # another user


def test_the_window_slides(api_for, low_rate, monkeypatch):
    clock = {"now": 1_000_000.0}
    monkeypatch.setattr(TokenRateThrottle, "timer", lambda self: clock["now"])
    api = api_for("auditor")
    for _ in range(LIMIT):
        assert api.get("/api/v1/periods").status_code == 200
    assert api.get("/api/v1/periods").status_code == 429
    clock["now"] += 61
    assert api.get("/api/v1/periods").status_code == 200


def test_the_configured_rate_is_read_at_request_time(settings):
    """Regression: the rate was bound when DRF was imported, so a changed setting never applied."""
    rest = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "7/hour"}}
    with override_settings(REST_FRAMEWORK=rest):
        throttle = TokenRateThrottle()
    assert (throttle.num_requests, throttle.duration) == (7, 3600)


def test_requests_without_a_valid_token_are_limited_per_client_ip(client, api_for, low_rate):
    """DRF throttles after authentication, so a missing or wrong token used to be answered forever."""
    for n in range(LIMIT):
        headers = {"HTTP_AUTHORIZATION": "Bearer cnc_wrong"} if n % 2 else {}
        assert client.get("/api/v1/customers", **headers).status_code == 401, n
    refused = client.get("/api/v1/customers", HTTP_AUTHORIZATION="Bearer cnc_still-wrong")
    assert refused.status_code == 429 and refused["Content-Type"] == "application/problem+json"
    assert int(refused["Retry-After"]) > 0
    other_ip = client.get("/api/v1/customers", REMOTE_ADDR="10.9.8.7")
    assert other_ip.status_code == 401
    assert api_for("finance").get("/api/v1/customers").status_code == 200  # a user has its own budget


def test_anonymous_clients_cannot_dodge_the_limit_with_a_forged_forwarded_for(client, low_rate):
    """Without a trusted proxy (TRUSTED_PROXIES=0) the limit is per socket address: a client that sends
    a different X-Forwarded-For each time still shares one budget."""
    statuses = [
        client.get("/api/v1/periods", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
        for n in range(LIMIT + 1)
    ]
    assert statuses[:LIMIT] == [401] * LIMIT and statuses[LIMIT] == 429


def test_behind_one_trusted_proxy_the_client_address_comes_from_its_header(client, low_rate, settings):
    rest = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    with override_settings(REST_FRAMEWORK=rest):
        for n in range(LIMIT + 1):  # the proxy appends the real client address: each is its own client
            response = client.get("/api/v1/periods", HTTP_X_FORWARDED_FOR=f"forged, 198.51.100.{n}")
            assert response.status_code == 401, n
        over = [  # the sixth request from 198.51.100.0, whatever precedes it in the header
            client.get("/api/v1/periods", HTTP_X_FORWARDED_FOR="other-forgery, 198.51.100.0").status_code
            for _ in range(LIMIT)
        ]
    assert over[-1] == 429
