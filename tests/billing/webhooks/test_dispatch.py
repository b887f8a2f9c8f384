"""The outbox consumer: one delivery per subscribed endpoint per event, exactly once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from billing.models import WebhookDelivery
from billing.webhooks.dispatch import CONSUMER, DispatchResult, webhooks_dispatch_outbox
from revops.core.models import OutboxReceipt
from tests.billing.webhooks.conftest import EndpointFactory, OutboxEventFactory


@pytest.mark.django_db
def test_each_subscribed_active_endpoint_gets_one_delivery_per_event(django_capture_on_commit_callbacks):
    everything = EndpointFactory()
    paid_only = EndpointFactory(event_types=["invoice.paid"])
    EndpointFactory(active=False)
    finalized = OutboxEventFactory(topic="invoice.finalized")
    paid = OutboxEventFactory(topic="invoice.paid")
    run = OutboxEventFactory(topic="billing_run.completed", object_type="billing.billingrun")
    other = OutboxEventFactory(topic="usage.rated")  # not a webhook event: left for its own consumers

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = webhooks_dispatch_outbox()

    assert result == DispatchResult(events=3, deliveries=4)
    pairs = set(WebhookDelivery.objects.values_list("endpoint_id", "event_id"))
    assert pairs == {
        (everything.pk, f"evt_{finalized.pk}"),
        (everything.pk, f"evt_{paid.pk}"),
        (everything.pk, f"evt_{run.pk}"),
        (paid_only.pk, f"evt_{paid.pk}"),
    }
    receipts = set(OutboxReceipt.objects.filter(consumer=CONSUMER).values_list("event_id", flat=True))
    assert receipts == {finalized.pk, paid.pk, run.pk} and other.pk not in receipts
    assert len(callbacks) == 1  # the deliveries are enqueued only once the transaction commits


@pytest.mark.django_db
def test_the_body_is_the_standard_webhooks_envelope():
    EndpointFactory()
    event = OutboxEventFactory(topic="invoice.voided", payload={"id": 7, "number": "INV-7", "total": "10.00"})
    webhooks_dispatch_outbox()
    delivery = WebhookDelivery.objects.get()
    assert delivery.event_type == "invoice.voided" and delivery.status == "pending" and delivery.attempts == 0
    assert delivery.payload == {
        "id": f"evt_{event.pk}",
        "type": "invoice.voided",
        "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": {"id": 7, "number": "INV-7", "total": "10.00"},
    }
    assert delivery.next_attempt_at is not None  # due now: the sweeper sends it if the enqueue is lost


@pytest.mark.django_db
def test_a_second_run_finds_nothing():
    EndpointFactory()
    OutboxEventFactory.create_batch(3)
    assert webhooks_dispatch_outbox() == DispatchResult(events=3, deliveries=3)
    assert webhooks_dispatch_outbox() == DispatchResult(events=0, deliveries=0)
    assert WebhookDelivery.objects.count() == 3


@pytest.mark.django_db
def test_works_through_many_batches():
    EndpointFactory()
    EndpointFactory()
    OutboxEventFactory.create_batch(7)
    assert webhooks_dispatch_outbox(batch_size=2) == DispatchResult(events=7, deliveries=14)
    assert OutboxReceipt.objects.filter(consumer=CONSUMER).count() == 7


@pytest.mark.django_db
def test_even_a_lost_receipt_cannot_duplicate_a_delivery():
    EndpointFactory()
    OutboxEventFactory.create_batch(2)
    webhooks_dispatch_outbox()
    OutboxReceipt.objects.all().delete()  # as if a consumer crashed between two transactions
    result = webhooks_dispatch_outbox()
    assert result.events == 2 and result.deliveries == 0
    assert WebhookDelivery.objects.count() == 2


@pytest.mark.django_db
def test_events_before_any_endpoint_exists_are_consumed_and_not_replayed_later():
    OutboxEventFactory()
    assert webhooks_dispatch_outbox() == DispatchResult(events=1, deliveries=0)
    EndpointFactory()
    assert webhooks_dispatch_outbox() == DispatchResult(events=0, deliveries=0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_consumers_create_each_delivery_exactly_once():
    """Four consumers on real PostgreSQL connections race over 60 events (SKIP LOCKED batches of 5)."""
    EndpointFactory()
    EndpointFactory(event_types=["invoice.finalized"])
    OutboxEventFactory.create_batch(60, topic="invoice.finalized")
    OutboxEventFactory.create_batch(20, topic="invoice.paid")
    barrier = threading.Barrier(4)
    results: list[DispatchResult] = []
    errors: list[BaseException] = []

    def consume():
        try:
            barrier.wait()
            results.append(webhooks_dispatch_outbox(batch_size=5))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=consume) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert WebhookDelivery.objects.count() == 60 * 2 + 20
    assert OutboxReceipt.objects.filter(consumer=CONSUMER).count() == 80
    assert sum(r.events for r in results) >= 80  # each event claimed at least once...
    assert webhooks_dispatch_outbox() == DispatchResult(events=0, deliveries=0)  # ...and none left


@pytest.mark.django_db
def test_each_batch_claims_after_the_last_one_so_a_long_outbox_is_read_once():
    """A month end publishes one event per invoice: each claim starts after the previous batch's last
    event instead of skipping every event already consumed again (quadratic at 100,000 invoices)."""
    from django.test.utils import CaptureQueriesContext

    EndpointFactory()
    events = [OutboxEventFactory(topic="invoice.finalized") for _ in range(7)]
    with CaptureQueriesContext(connection) as queries:
        result = webhooks_dispatch_outbox(batch_size=3)
    assert result.events == 7
    claims = [
        q["sql"]
        for q in queries.captured_queries
        if 'FROM "core_outboxevent"' in q["sql"] and "LIMIT 3" in q["sql"]
    ]
    assert len(claims) == 3, claims
    for claim, after in zip(claims[1:], (events[2].pk, events[5].pk), strict=True):
        assert f'"id" > {after}' in claim, claim


@pytest.mark.django_db
def test_with_no_active_endpoint_the_backlog_is_receipted_in_large_batches_and_nothing_is_built(monkeypatch):
    """A month end with no webhook endpoint: 100,000 ``invoice.finalized`` events were claimed 100 at a
    time (1,000 transactions that kept both workers busy for minutes); now in batches of
    RECEIPT_ONLY_BATCH, and no delivery is looked for."""
    from django.test.utils import CaptureQueriesContext

    from billing.webhooks import dispatch

    monkeypatch.setattr(dispatch, "RECEIPT_ONLY_BATCH", 4)
    EndpointFactory(active=False)
    OutboxEventFactory.create_batch(10, topic="invoice.finalized")
    with CaptureQueriesContext(connection) as queries:
        assert webhooks_dispatch_outbox(batch_size=2) == DispatchResult(events=10, deliveries=0)
    claims = [q["sql"] for q in queries.captured_queries if 'FROM "core_outboxevent"' in q["sql"]]
    assert len(claims) == 3 and all("LIMIT 4" in sql for sql in claims), claims
    assert not any('FROM "billing_webhookdelivery"' in q["sql"] for q in queries.captured_queries)
    assert OutboxReceipt.objects.filter(consumer=CONSUMER).count() == 10
    EndpointFactory()  # active from now on: receives what comes after it, in regular batches
    OutboxEventFactory.create_batch(3, topic="invoice.finalized")
    assert webhooks_dispatch_outbox(batch_size=2) == DispatchResult(events=3, deliveries=3)
