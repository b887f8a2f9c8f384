"""Issue 12 §9: an event the database cannot store (a lone surrogate anywhere in it) or a value its
meter cannot take (negative) is quarantined with its reason, per event; the valid events of the same
batch are accepted, and the customer's next invoice never sees the bad one."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from billing.models import QuarantinedEvent, UsageEvent
from tests.billing.factories import MeterFactory
from tests.billing.usage.conftest import event

pytestmark = pytest.mark.django_db
URL = "/api/v1/events"


def post_raw(api, events):
    """JSON with ``\\udXXX`` escapes kept as escapes (the wire form a client sends)."""
    return api.generic("POST", URL, json.dumps({"events": events}), content_type="application/json")


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda e: e["properties"].update(model="gpt\ud800"), "properties"),
        (lambda e: e["properties"].update({"\udfffkey": "v"}), "properties"),
        (lambda e: e.update(customer="acme\ud800"), "customer"),
        (lambda e: e.update(code="llm\udc00"), "code"),
        (lambda e: e.update(transaction_id="tx\ud83d"), "transaction_id"),
    ],
)
def test_a_lone_surrogate_quarantines_that_event_only(api_for, customer, tokens_meter, mutate, field):
    bad = event("tx-bad")
    mutate(bad)
    response = post_raw(api_for("finance"), [event("tx-good-1"), bad, event("tx-good-2")])
    assert response.status_code == 200, response.content[:300]
    body = response.json()
    assert body["accepted"] == 2
    [rejected] = body["rejected"]
    assert rejected["index"] == 1
    assert any(e["field"] == field and "surrogate" in e["message"] for e in rejected["errors"]), rejected
    assert set(UsageEvent.objects.values_list("transaction_id", flat=True)) == {"tx-good-1", "tx-good-2"}
    item = QuarantinedEvent.objects.get()
    assert item.index == 1 and item.status == "open"
    # Kept visible as text (the database cannot store the surrogate itself).
    assert "\\ud" in json.dumps(item.payload, ensure_ascii=False) + item.customer_ref + (
        item.transaction_id or ""
    )


def test_a_valid_surrogate_pair_is_an_ordinary_character(api_for, customer, tokens_meter):
    good = event("tx-emoji")
    good["properties"]["model"] = "gpt\U0001f600"  # sent as the escaped pair \ud83d\ude00
    body = post_raw(api_for("finance"), [good]).json()
    assert body == {"accepted": 1, "duplicates": 0, "rejected": []}


@pytest.mark.parametrize("tokens", [-1, "-0.5", -(10**20)])
def test_a_negative_value_for_a_meter_that_cannot_be_negative_is_quarantined(
    api_for, customer, tokens_meter, tokens
):
    bad = event("tx-neg", tokens=tokens, model="gpt", token_type="input")
    body = post_raw(api_for("finance"), [event("tx-ok"), bad]).json()
    assert body["accepted"] == 1
    [rejected] = body["rejected"]
    assert rejected["errors"] == [
        {
            "field": "properties.tokens",
            "message": "must not be negative (meter 'llm_tokens' does not allow negative values)",
        }
    ]
    assert list(UsageEvent.objects.values_list("transaction_id", flat=True)) == ["tx-ok"]
    assert QuarantinedEvent.objects.get().transaction_id == "tx-neg"


def test_a_meter_that_allows_negative_values_accepts_them(api_for, customer):
    MeterFactory(code="balance", aggregation="latest", field="amount", allow_negative=True)
    body = post_raw(
        api_for("finance"),
        [event("tx-1", code="balance", amount=-5), event("tx-2", code="balance", amount="-0.25")],
    ).json()
    assert body == {"accepted": 2, "duplicates": 0, "rejected": []}
    assert sorted(UsageEvent.objects.values_list("value", flat=True)) == [Decimal("-5"), Decimal("-0.25")]


def test_allow_negative_is_set_through_the_meter_api_and_locked_once_priced(api_for):
    api = api_for("pricing")
    response = api.post(
        "/api/v1/meters",
        {
            "code": "credits_used",
            "name": "Credits",
            "aggregation": "sum",
            "field": "n",
            "allow_negative": True,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["allow_negative"] is True
    default = api.post("/api/v1/meters", {"code": "c2", "name": "C2", "aggregation": "count"}, format="json")
    assert default.json()["allow_negative"] is False
