"""The webhooks outbox consumer: unprocessed outbox events → one delivery per subscribed active
endpoint, claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` and receipted in the same transaction;
the deliveries are enqueued on commit (billing.webhooks.delivery attempts them)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.db import transaction
from django.utils import timezone

from billing.models import WebhookDelivery, WebhookEndpoint
from billing.webhooks.endpoints import EVENT_TYPES
from revops.core.enqueue import enqueue, enqueue_coalesced_on_commit
from revops.core.models import OutboxEvent, OutboxReceipt

log = logging.getLogger(__name__)

CONSUMER = "webhooks"  # the OutboxReceipt consumer name
DELIVER_TASK = "billing.deliver_webhook"  # its stable Celery name (sent through the enqueue seam)


def event_id_for(event: OutboxEvent) -> str:
    """Stable per outbox event: the ``webhook-id`` of every attempt to every endpoint."""
    return f"evt_{event.pk}"


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def event_body(event: OutboxEvent) -> dict:
    """The Standard Webhooks payload: ``type``, ``timestamp`` (when the event happened), ``data``."""
    return {
        "id": event_id_for(event),
        "type": event.topic,
        "timestamp": _iso(event.created_at),
        "data": event.payload,
    }


def subscribed(endpoint: WebhookEndpoint, event_type: str) -> bool:
    return not endpoint.event_types or event_type in endpoint.event_types


@dataclass(frozen=True)
class DispatchResult:
    events: int
    deliveries: int


def enqueue_deliveries(delivery_ids: list[int]) -> None:
    """Send one attempt per delivery; a broker hiccup loses none: the sweeper sends what is due."""
    for delivery_id in delivery_ids:
        enqueue(DELIVER_TASK, delivery_id)


# Events claimed per transaction while no endpoint is active: nothing is built or sent for them, they
# are only receipted, so a month end's 100,000 ``invoice.finalized`` events take 20 transactions, not 1,000.
RECEIPT_ONLY_BATCH = 5000


def webhooks_dispatch_outbox(*, batch_size: int = 100) -> DispatchResult:
    """Turn unprocessed outbox events into deliveries, one batch per transaction. Safe to run twice
    or concurrently: claimed events are skipped by other consumers (SKIP LOCKED), and the unique
    (endpoint, event id) delivery and (consumer, event) receipt make a repeat a no-op. The active
    endpoints are read in each batch's transaction: with none, the batch is larger and only receipted
    (an endpoint receives the events dispatched after it is active, as before)."""
    events_done = deliveries_done = 0
    after = 0  # the claims walk forward: each batch starts after the last one (linear, not quadratic)
    while True:
        new_ids: list[int] = []
        with transaction.atomic():
            endpoints = list(WebhookEndpoint.objects.filter(active=True).order_by("id"))
            size = batch_size if endpoints else RECEIPT_ONLY_BATCH
            events = list(
                OutboxEvent.objects.filter(topic__in=EVENT_TYPES, id__gt=after)
                .exclude(receipts__consumer=CONSUMER)
                .order_by("id")
                .select_for_update(skip_locked=True, of=("self",))[:size]
            )
            if not events:
                break
            after = events[-1].id
            if endpoints:
                new_ids = _deliveries(events, endpoints)
            OutboxReceipt.objects.bulk_create(
                [OutboxReceipt(consumer=CONSUMER, event=event) for event in events], ignore_conflicts=True
            )
            transaction.on_commit(partial(enqueue_deliveries, new_ids))
        events_done += len(events)
        deliveries_done += len(new_ids)
        if len(events) < size:
            break
    if events_done:
        log.info("webhooks: %s outbox events -> %s deliveries", events_done, deliveries_done)
    return DispatchResult(events=events_done, deliveries=deliveries_done)


def _deliveries(events: list[OutboxEvent], endpoints: list[WebhookEndpoint]) -> list[int]:
    """One delivery per event and subscribed endpoint (none twice); the ids of those created now."""
    event_ids = [event_id_for(e) for e in events]
    existing = set(WebhookDelivery.objects.filter(event_id__in=event_ids).values_list("id", flat=True))
    now = timezone.now()
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                endpoint=endpoint,
                event_id=event_id_for(event),
                event_type=event.topic,
                payload=event_body(event),
                next_attempt_at=now,
            )
            for event in events
            for endpoint in endpoints
            if subscribed(endpoint, event.topic)
        ],
        ignore_conflicts=True,
    )
    return [
        pk
        for pk in WebhookDelivery.objects.filter(event_id__in=event_ids)
        .order_by("id")
        .values_list("id", flat=True)
        if pk not in existing
    ]


def webhooks_dispatch_on_commit() -> None:
    """For the services that write webhook outbox events: dispatch them once the transaction commits
    (the beat task ``billing.dispatch_webhooks`` catches anything this misses)."""

    enqueue_coalesced_on_commit("billing.dispatch_webhooks")
