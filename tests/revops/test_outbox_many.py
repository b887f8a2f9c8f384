"""``outbox_publish_many``: one insert of events and of receipts; an inline consumer with
``handle_many`` gets the events at once, one without gets them one by one; ``outbox_publish`` is its
one-object case."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from revops.core import outbox
from revops.core.models import OutboxEvent, OutboxReceipt
from tests.revops.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def consumers(monkeypatch):
    monkeypatch.setattr(outbox, "_INLINE", [])
    seen: dict[str, list] = {"one": [], "many": []}
    outbox.register_inline_consumer(consumer="one", topics=["t.x"], handle=seen["one"].append)
    outbox.register_inline_consumer(
        consumer="many",
        topics=["t.x"],
        handle=lambda event: pytest.fail("handle_many should have been used"),
        handle_many=lambda events: seen["many"].append([e.pk for e in events]),
    )
    return seen


def test_publish_many_inserts_once_and_hands_the_events_to_each_consumer(consumers):
    customers = [CustomerFactory(external_id=f"ob-{i}") for i in range(5)]
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        events = outbox.outbox_publish_many(
            topic="t.x", objs=customers, payloads=[{"n": i} for i in range(5)]
        )
    inserts = [q for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 3  # the events, each consumer's receipts
    assert [e.object_id for e in events] == [str(c.pk) for c in customers]
    assert [e.payload for e in events] == [{"n": i} for i in range(5)]
    assert [e.pk for e in consumers["one"]] == [e.pk for e in events]
    assert consumers["many"] == [[e.pk for e in events]]
    assert OutboxReceipt.objects.filter(event__in=events).count() == 10
    assert OutboxEvent.objects.filter(topic="t.x").count() == 5


def test_publish_is_the_one_object_case(consumers):
    customer = CustomerFactory(external_id="ob-one")
    with transaction.atomic():
        event = outbox.outbox_publish(topic="t.x", obj=customer, payload={"a": 1})
    assert consumers["many"] == [[event.pk]] and consumers["one"] == [event]
    assert set(event.receipts.values_list("consumer", flat=True)) == {"one", "many"}
    with transaction.atomic():
        assert outbox.outbox_publish_many(topic="t.x", objs=[], payloads=[]) == []


def test_payloads_are_stored_as_sent_whatever_they_hold(consumers):
    """On PostgreSQL the payloads travel as one JSON array (not a jsonb[] the driver escapes): quotes,
    backslashes, unicode, nesting, decimals and dates come back as sent, each event with its own."""
    from datetime import date
    from decimal import Decimal

    customers = [CustomerFactory(external_id=f"ob-q{i}") for i in range(3)]
    sent = [
        {"memo": 'say "hi" \\ there', "lines": [{"a": "1.10"}, {"b": None}], "n": 0},
        {"name": "Zoë — ✓", "tab": "a\tb\nc", "empty": {}, "n": 1},
        {"amount": Decimal("12.30"), "day": date(2026, 4, 1), "n": 2},
    ]
    with transaction.atomic():
        events = outbox.outbox_publish_many(topic="t.x", objs=customers, payloads=sent)
    expected = [sent[0], sent[1], {"amount": "12.30", "day": "2026-04-01", "n": 2}]
    assert [e.payload for e in events] == expected
    stored = {e.pk: e for e in OutboxEvent.objects.filter(pk__in=[e.pk for e in events])}
    assert [stored[e.pk].payload for e in events] == expected
    assert [stored[e.pk].object_id for e in events] == [str(c.pk) for c in customers]
    assert all(stored[e.pk].created_at == e.created_at for e in events)
