"""POST /api/v1/events: idempotent batch ingestion, per-event results, quarantine of the rejected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from billing.models import EventKey, IngestionBatch, QuarantinedEvent, UsageEvent
from billing.usage.ingest import ingest_events
from tests.billing.factories import MeterFactory
from tests.billing.usage.conftest import event, stamp

pytestmark = pytest.mark.django_db
URL = "/api/v1/events"


def post(api, events):
    return api.post(URL, {"events": events}, format="json")


def test_same_batch_twice_second_answer_is_all_duplicates(api_for, customer, tokens_meter):
    api = api_for("finance")
    batch = [event(f"tx-{n}", tokens=n + 1) for n in range(50)]
    first = post(api, batch)
    assert first.status_code == 200
    assert first.json() == {"accepted": 50, "duplicates": 0, "rejected": []}
    counts = (UsageEvent.objects.count(), EventKey.objects.count())
    second = post(api, batch)
    assert second.status_code == 200
    assert second.json() == {"accepted": 0, "duplicates": 50, "rejected": []}
    assert (UsageEvent.objects.count(), EventKey.objects.count()) == counts == (50, 50)


def test_999_valid_and_one_bad_stores_999_and_quarantines_the_one(api_for, customer, tokens_meter):
    batch = [event(f"ok-{n}") for n in range(1000)]
    batch[500] = event("bad-500", customer="nobody")
    response = post(api_for("finance"), batch)
    body = response.json()
    assert response.status_code == 200
    assert body["accepted"] == 999 and body["duplicates"] == 0
    assert body["rejected"] == [
        {
            "index": 500,
            "transaction_id": "bad-500",
            "errors": [{"field": "customer", "message": "unknown customer 'nobody'"}],
        }
    ]
    assert UsageEvent.objects.count() == 999
    assert not UsageEvent.objects.filter(transaction_id="bad-500").exists()
    item = QuarantinedEvent.objects.get()
    assert (item.index, item.transaction_id, item.status) == (500, "bad-500", "open")
    assert item.payload == batch[500]  # kept exactly as received
    assert item.customer_ref == "nobody" and item.meter_code == "llm_tokens"


@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [
        (lambda e: e.update(customer="ghost"), "customer", "unknown customer 'ghost'"),
        (lambda e: e.update(code="no_such_meter"), "code", "unknown meter code 'no_such_meter'"),
        (lambda e: e["properties"].pop("tokens"), "properties.tokens", "required by meter 'llm_tokens'"),
        (lambda e: e["properties"].update(tokens="lots"), "properties.tokens", "must be a number"),
        (lambda e: e["properties"].update(tokens=True), "properties.tokens", "must be a number"),
        (lambda e: e.update(colour="red"), "colour", "unknown field"),
        (
            lambda e: e["properties"].update(tokens="1.0000000000001"),
            "properties.tokens",
            "12 decimal places",
        ),
        (lambda e: e.update(timestamp="2026-03-31T16:30:00"), "timestamp", "must include a UTC offset"),
        (lambda e: e.update(timestamp="yesterday"), "timestamp", "is not an ISO 8601 timestamp"),
        (
            lambda e: e.update(timestamp=stamp(timedelta(minutes=6))),
            "timestamp",
            "more than 5 minutes in the future",
        ),
        (lambda e: e.pop("transaction_id"), "transaction_id", "required"),
        (lambda e: e.update(transaction_id=""), "transaction_id", "required"),
        (lambda e: e.update(transaction_id=42), "transaction_id", "required"),
        (lambda e: e.update(transaction_id="x" * 256), "transaction_id", "at most 255"),
        (lambda e: e.update(properties=["tokens", 3]), "properties", "must be a JSON object"),
        (lambda e: e.pop("customer"), "customer", "required"),
        (lambda e: e.update(customer={"id": 1}), "customer", "required"),
        (lambda e: e["properties"].update(model="a\u0000b"), "properties", "NUL"),
    ],
)
def test_every_rejection_reason_names_the_field(api_for, customer, tokens_meter, mutate, field, message):
    bad = event("tx-bad")
    mutate(bad)
    body = post(api_for("finance"), [event("tx-good"), bad]).json()
    assert body["accepted"] == 1, body
    [rejected] = body["rejected"]
    assert rejected["index"] == 1
    assert any(e["field"] == field and message in e["message"] for e in rejected["errors"]), rejected
    assert QuarantinedEvent.objects.filter(index=1, status="open").count() == 1


def test_an_event_that_is_not_an_object_is_quarantined(api_for, customer, tokens_meter):
    body = post(api_for("finance"), ["just a string", 7, event("ok")]).json()
    assert body["accepted"] == 1
    assert [r["index"] for r in body["rejected"]] == [0, 1]
    assert body["rejected"][0]["errors"] == [{"field": "", "message": "an event must be a JSON object"}]
    assert sorted(QuarantinedEvent.objects.values_list("payload", flat=True), key=str) == [7, "just a string"]


def test_all_reasons_of_one_event_are_listed(api_for, customer, tokens_meter):
    body = post(
        api_for("finance"), [{"customer": "ghost", "code": "llm_tokens", "timestamp": "2026-01-01"}]
    ).json()
    fields = {e["field"] for e in body["rejected"][0]["errors"]}
    assert fields == {"transaction_id", "customer", "timestamp", "properties.tokens"}


def test_late_events_are_accepted_and_keep_when_they_were_received(api_for, customer, tokens_meter):
    old = (datetime.now(UTC) - timedelta(days=400)).isoformat()
    soon = stamp(timedelta(minutes=4))  # within the 5-minute tolerance
    body = post(api_for("finance"), [event("late", ts=old), event("soon", ts=soon)]).json()
    assert body == {"accepted": 2, "duplicates": 0, "rejected": []}
    late = UsageEvent.objects.get(transaction_id="late")
    assert late.timestamp < late.received_at - timedelta(days=399)
    assert EventKey.objects.get(pk="late").received_at == late.received_at


def test_timestamps_with_any_offset_are_stored_as_the_same_instant(api_for, customer, tokens_meter):
    post(
        api_for("finance"),
        [event("tokyo", ts="2026-04-01T01:30:00+09:00"), event("z", ts="2026-03-31T16:30:00Z")],
    )
    stamps = set(UsageEvent.objects.values_list("timestamp", flat=True))
    assert stamps == {datetime(2026, 3, 31, 16, 30, tzinfo=UTC)}


def test_values_are_exact_decimals(api_for, customer, tokens_meter):
    big = 12345678901234567890  # exact on PostgreSQL (numeric); SQLite stores decimals as doubles
    post(
        api_for("finance"),
        [event("s", tokens="0.000002"), event("f", tokens=0.5), event("i", tokens=big)],
    )
    values = dict(UsageEvent.objects.values_list("transaction_id", "value"))
    assert values["s"] == Decimal("0.000002") and values["f"] == Decimal("0.5")
    if connection.vendor == "postgresql":
        assert values["i"] == Decimal(big)


def test_unique_count_meter_keeps_the_value_as_text(api_for, customer):
    MeterFactory(code="seats", aggregation="unique_count", field="user")
    body = post(
        api_for("finance"),
        [
            event("u1", code="seats", user="ann"),
            event("u2", code="seats", user=42),
            event("u3", code="seats", user={"nested": 1}),
        ],
    ).json()
    assert body["accepted"] == 2
    assert body["rejected"][0]["errors"][0]["field"] == "properties.user"
    assert set(UsageEvent.objects.values_list("dim", flat=True)) == {"ann", "42"}


def test_count_meter_needs_no_property(api_for, customer, calls_meter):
    body = post(api_for("finance"), [{**event("c1", code="api_calls"), "properties": {}}]).json()
    assert body["accepted"] == 1


def test_meter_filters_do_not_reject(api_for, customer):
    MeterFactory(code="gpu", aggregation="sum", field="seconds", filters={"region": ["eu"]})
    body = post(api_for("finance"), [event("g1", code="gpu", seconds=3, region="us")]).json()
    assert body == {"accepted": 1, "duplicates": 0, "rejected": []}


def test_a_repeat_inside_one_batch_is_a_duplicate_and_the_first_one_counts(api_for, customer, tokens_meter):
    body = post(api_for("finance"), [event("r", tokens=1), event("r", tokens=999)]).json()
    assert body == {"accepted": 1, "duplicates": 1, "rejected": []}
    assert UsageEvent.objects.get().value == 1


def test_more_than_10000_events_is_refused_with_a_problem(api_for, customer, tokens_meter):
    tiny = {"transaction_id": "t", "customer": "acme", "code": "llm_tokens"}
    response = post(api_for("finance"), [tiny] * 10_001)
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert "at most 10,000 events" in response.json()["detail"]
    assert (
        UsageEvent.objects.count() == QuarantinedEvent.objects.count() == IngestionBatch.objects.count() == 0
    )


@pytest.mark.parametrize("body", [{"event": []}, {"events": {"a": 1}}, [1, 2]])
def test_a_malformed_body_is_a_400_problem(api_for, body):
    response = api_for("finance").post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "events"


def test_invalid_json_is_a_400_problem(api_for):
    response = api_for("finance").post(URL, data="{not json", content_type="application/json")
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"


def test_roles_finance_and_admin_write_everyone_reads(api_for, customer, tokens_meter):
    assert post(api_for("auditor"), [event("x")]).status_code == 403
    assert post(api_for("pricing"), [event("x")]).status_code == 403
    assert post(api_for("admin"), [event("x")]).status_code == 200
    assert api_for("auditor").get("/api/v1/events/quarantine").status_code == 200


def test_each_call_is_logged_as_an_ingestion_batch(api_for, customer, tokens_meter):
    api = api_for("finance")
    post(api, [event("a"), event("b"), event("a"), event("c", customer="ghost")])
    batch = IngestionBatch.objects.get()
    assert (batch.source, batch.accepted, batch.duplicates, batch.rejected) == ("api", 2, 1, 1)
    assert batch.user == api.user


def test_idempotency_key_replays_the_first_answer(api_for, customer, tokens_meter):
    api = api_for("finance")
    body = {"events": [event("k1")]}
    first = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="batch-1")
    again = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="batch-1")
    assert first.json() == again.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert again["Idempotent-Replayed"] == "true"


def test_ingestion_does_not_need_the_broker(customer, tokens_meter, monkeypatch):
    from revops.celery import app

    def refuse(*args, **kwargs):
        raise AssertionError("ingestion must not send tasks")

    monkeypatch.setattr(app, "send_task", refuse)
    monkeypatch.setattr("celery.app.task.Task.apply_async", refuse)
    result = ingest_events(events=[event("nb")], source="api")
    assert result.accepted == 1


def test_a_full_batch_larger_than_djangos_default_body_limit_is_accepted(api_for, customer, tokens_meter):
    padding = "p" * 400  # 9,000 events of ~0.5 kB: ~4.5 MB, above Django's 2.5 MB default
    events = [event(f"big-{n}", tokens=1, note=padding) for n in range(9_000)]
    response = post(api_for("finance"), events)
    assert response.status_code == 200
    assert response.json()["accepted"] == 9_000


def test_a_body_over_the_endpoint_limit_is_a_413_problem(api_for):
    from billing.api.usage import MAX_BODY_BYTES

    response = api_for("finance").generic(
        "POST", URL, b"{}", content_type="application/json", CONTENT_LENGTH=str(MAX_BODY_BYTES + 1)
    )
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"


def test_a_json_number_with_a_fraction_is_stored_exactly(api_for, customer, tokens_meter):
    """The API reads 2.5 as Decimal (never a float); the event keeps it and the meter sums it."""
    response = post(api_for("finance"), [event("frac-1", tokens=2.5), event("frac-2", tokens=0.1)])
    assert response.json()["accepted"] == 2
    stored = sorted(str(e.properties["tokens"]) for e in UsageEvent.objects.all())
    assert stored == ["0.1", "2.5"]


def test_a_rejected_event_with_a_fractional_number_is_quarantined_with_it_as_a_decimal_string(
    api_for, customer, tokens_meter
):
    response = post(api_for("finance"), [event("frac-bad", customer="nobody", tokens=2.5)])
    assert response.status_code == 200 and len(response.json()["rejected"]) == 1
    assert QuarantinedEvent.objects.get().payload["properties"]["tokens"] == "2.5"
