"""Publish to the outbox (in the caller's transaction) and consume it (once per consumer)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction

from revops.core.models import OutboxEvent, OutboxReceipt

_INLINE: list[tuple[str, frozenset, Callable[[OutboxEvent], None]]] = []


def register_inline_consumer(
    *, consumer: str, topics: Iterable[str], handle: Callable[[OutboxEvent], None]
) -> None:
    """A consumer that must see the event in the publisher's own transaction (the ledger posts a
    finalized invoice atomically with it). Anything it misses is caught by :func:`outbox_consume`."""
    if all(name != consumer for name, _t, _h in _INLINE):
        _INLINE.append((consumer, frozenset(topics), handle))


def outbox_publish(*, topic: str, obj, payload: dict) -> OutboxEvent:
    if not connection.in_atomic_block:
        raise RuntimeError("outbox_publish must run inside the transaction that makes the change.")
    meta = obj._meta
    body = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    event = OutboxEvent.objects.create(
        topic=topic, object_type=f"{meta.app_label}.{meta.model_name}", object_id=str(obj.pk), payload=body
    )
    for consumer, topics, handle in _INLINE:
        if topic in topics:
            handle(event)
            OutboxReceipt.objects.create(consumer=consumer, event=event)
    return event


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
