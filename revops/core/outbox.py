"""Publish to the outbox (in the caller's transaction) and consume it (once per consumer)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from revops.core.models import OutboxEvent, OutboxReceipt

Handle = Callable[[OutboxEvent], None]
HandleMany = Callable[[list[OutboxEvent]], None]
_INLINE: list[tuple[str, frozenset, Handle, HandleMany | None]] = []


def register_inline_consumer(
    *, consumer: str, topics: Iterable[str], handle: Handle, handle_many: HandleMany | None = None
) -> None:
    """A consumer that must see the event in the publisher's own transaction (the ledger posts a
    finalized invoice atomically with it). Anything it misses is caught by :func:`outbox_consume`.
    ``handle_many`` (optional) takes all the events of one :func:`outbox_publish_many` at once (in
    publishing order, one topic); without it each event goes to ``handle``."""
    if all(name != consumer for name, _t, _h, _m in _INLINE):
        _INLINE.append((consumer, frozenset(topics), handle, handle_many))


def outbox_publish(*, topic: str, obj, payload: dict) -> OutboxEvent:
    """Announce one change (the one-object case of :func:`outbox_publish_many`)."""
    return outbox_publish_many(topic=topic, objs=[obj], payloads=[payload])[0]


def outbox_publish_many(*, topic: str, objs: list, payloads: list[dict]) -> list[OutboxEvent]:
    """Announce a change of each of ``objs`` (``payloads`` in the same order) in the caller's
    transaction: the events with one INSERT, each inline consumer handed them (all at once through
    its ``handle_many``, else one by one), its receipts with one INSERT. Returns the events in order."""
    if not connection.in_atomic_block:
        raise RuntimeError("outbox_publish must run inside the transaction that makes the change.")
    objs, payloads = list(objs), list(payloads)
    if len(objs) != len(payloads):
        raise ValueError("outbox_publish_many takes one payload per object.")
    if not objs:
        return []
    events = _insert_events(topic, objs, payloads)
    for consumer, topics, handle, handle_many in _INLINE:
        if topic not in topics:
            continue
        if handle_many is not None:
            handle_many(events)
        else:
            for event in events:
                handle(event)
        OutboxReceipt.objects.bulk_create([OutboxReceipt(consumer=consumer, event=event) for event in events])
    return events


def _insert_events(topic: str, objs: list, payloads: list[dict]) -> list[OutboxEvent]:
    """The events with one INSERT. On PostgreSQL the payloads travel as one JSON array (one text
    parameter, read with ``jsonb_array_elements``) rather than as a ``jsonb[]`` whose every quote
    the driver escapes; the events come back in order with their ids."""
    texts = [json.dumps(payload, cls=DjangoJSONEncoder) for payload in payloads]
    events = [
        OutboxEvent(
            topic=topic,
            object_type=f"{obj._meta.app_label}.{obj._meta.model_name}",
            object_id=str(obj.pk),
            payload=json.loads(text),
        )
        for obj, text in zip(objs, texts, strict=True)
    ]
    if connection.vendor != "postgresql":
        return OutboxEvent.objects.bulk_create(events)
    now = timezone.now()
    table = connection.ops.quote_name(OutboxEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (created_at, topic, object_type, object_id, payload) "  # noqa: S608
            "SELECT %s, %s, u.object_type, u.object_id, p.payload "
            "FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS u (object_type, object_id, n) "
            "JOIN jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS p (payload, n) USING (n) "
            "ORDER BY n RETURNING id",
            [
                now,
                topic,
                [event.object_type for event in events],
                [event.object_id for event in events],
                "[" + ",".join(texts) + "]",
            ],
        )
        ids = [row[0] for row in cursor.fetchall()]
    for event, pk in zip(events, ids, strict=True):
        event.pk, event.created_at = pk, now
        event._state.adding = False
    return events


def outbox_consume(
    *, consumer: str, topics: Iterable[str], handle: Callable[[OutboxEvent], None], batch: int = 100
) -> int:
    """Process events of ``topics`` that ``consumer`` has not processed yet, each in its own
    transaction together with its receipt. Safe with several workers (SKIP LOCKED)."""
    processed = 0
    topics = list(topics)
    while True:
        with transaction.atomic():
            qs = (
                OutboxEvent.objects.filter(topic__in=topics)
                .exclude(receipts__consumer=consumer)
                .order_by("id")
            )
            if connection.vendor == "postgresql":
                qs = qs.select_for_update(skip_locked=True, of=("self",))
            event = qs.first()
            if event is None:
                return processed
            handle(event)
            OutboxReceipt.objects.create(consumer=consumer, event=event)
            processed += 1
            if processed >= batch * 100:
                return processed
