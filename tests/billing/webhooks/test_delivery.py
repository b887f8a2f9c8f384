"""Delivery attempts against a real HTTP server on 127.0.0.1: signatures, retries, backoff, sweeper."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import WebhookDelivery
from billing.webhooks import delivery as webhook_delivery
from billing.webhooks import tasks
from billing.webhooks.delivery import (
    LEASE,
    MAX_ATTEMPTS,
    RETRY_SCHEDULE,
    retry_delay,
    webhook_deliver,
    webhook_delivery_retry,
    webhooks_retry_due,
)
from billing.webhooks.dispatch import webhooks_dispatch_on_commit, webhooks_dispatch_outbox
from billing.webhooks.endpoints import webhook_endpoint_deactivate
from billing.webhooks.signing import verify
from revops.core.audit.models import AuditEvent
from revops.errors import Conflict
from tests.billing.webhooks.conftest import EndpointFactory, OutboxEventFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_jitter(monkeypatch):
    monkeypatch.setattr(webhook_delivery.random, "random", lambda: 0.0)


def make_delivery(url: str, **endpoint) -> WebhookDelivery:
    EndpointFactory(url=url, **endpoint)
    OutboxEventFactory(topic="invoice.paid", payload={"id": 9, "number": "INV-9", "amount_paid": "127.50"})
    webhooks_dispatch_outbox()  # on_commit enqueue does not run inside a test transaction
    return WebhookDelivery.objects.select_related("endpoint").get()


def make_due(delivery: WebhookDelivery) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


# --- the schedule --------------------------------------------------------------------------------


def test_retry_schedule_is_the_standard_webhooks_example():
    assert [int(d.total_seconds()) for d in RETRY_SCHEDULE] == [
        5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400
    ]  # fmt: skip
    assert MAX_ATTEMPTS == 10
    assert retry_delay(1) == timedelta(seconds=5) and retry_delay(9) == timedelta(hours=24)
    assert retry_delay(10) is None
    assert timedelta(seconds=5) <= retry_delay(1, jitter=0.999) <= timedelta(seconds=5.5)


# --- success -------------------------------------------------------------------------------------


def test_a_delivery_is_signed_with_the_endpoint_secret_and_succeeds(receiver):
    delivery = make_delivery(receiver.url)
    before = int(time.time())

    assert webhook_deliver(delivery_id=delivery.pk) == "succeeded"

    (request,) = receiver.requests
    assert request.path == "/hooks/concord"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == delivery.event_id
    assert before <= int(request.headers["webhook-timestamp"]) <= int(time.time())
    verify(delivery.endpoint.secret, request.headers, request.body, now=int(time.time()))
    assert json.loads(request.body) == delivery.payload
    assert json.loads(request.body)["data"] == {"id": 9, "number": "INV-9", "amount_paid": "127.50"}
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.attempts == 1 and delivery.last_status_code == 200
    assert (
        delivery.delivered_at is not None and delivery.next_attempt_at is None and delivery.last_error == ""
    )


def test_running_the_task_twice_sends_once(receiver):
    delivery = make_delivery(receiver.url)
    assert tasks.deliver_webhook(delivery.pk) == "succeeded"
    assert tasks.deliver_webhook(delivery.pk) == "skipped"
    assert len(receiver.requests) == 1


def test_an_in_flight_delivery_is_leased_so_a_duplicate_task_skips_it(receiver):
    delivery = make_delivery(receiver.url)
    outcome, claim = webhook_delivery._claim(delivery.pk, timezone.now())
    assert outcome == "claimed" and claim["attempt"] == 1
    delivery.refresh_from_db()
    assert delivery.next_attempt_at >= timezone.now() + LEASE - timedelta(seconds=5)
    assert webhook_deliver(delivery_id=delivery.pk) == "not_due"
    assert receiver.requests == []


def test_end_to_end_through_the_tasks_with_on_commit(receiver, django_capture_on_commit_callbacks):
    EndpointFactory(url=receiver.url)
    OutboxEventFactory(topic="billing_run.completed", payload={"id": 3, "invoices_created": 12})
    with django_capture_on_commit_callbacks(execute=True):
        webhooks_dispatch_on_commit()  # what a billing service calls after writing the event
    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.get().status == "succeeded"


# --- failures and retries ------------------------------------------------------------------------


def test_a_failure_schedules_a_retry_with_backoff_and_finally_gives_up(receiver, no_jitter):
    delivery = make_delivery(receiver.url)
    receiver.answer(*([500] * MAX_ATTEMPTS))
    expected = [*RETRY_SCHEDULE, None]
    for attempt in range(1, MAX_ATTEMPTS + 1):
        started = timezone.now()
        outcome = webhook_deliver(delivery_id=delivery.pk)
        delivery.refresh_from_db()
        assert delivery.attempts == attempt and delivery.last_status_code == 500
        assert delivery.last_error.startswith("HTTP 500") and "receiver says no" in delivery.last_error
        if expected[attempt - 1] is None:
            assert outcome == "failed" and delivery.status == "failed" and delivery.next_attempt_at is None
        else:
            assert outcome == "retry_scheduled" and delivery.status == "pending"
            wait = delivery.next_attempt_at - started
            assert expected[attempt - 1] <= wait <= expected[attempt - 1] + timedelta(seconds=5)
            assert webhook_deliver(delivery_id=delivery.pk) == "not_due"  # early tasks do nothing
            make_due(delivery)
    assert len(receiver.requests) == MAX_ATTEMPTS
    assert webhook_deliver(delivery_id=delivery.pk) == "skipped"


def test_retry_after_is_honoured(receiver, no_jitter):
    delivery = make_delivery(receiver.url)
    receiver.answer(503, headers={"Retry-After": "120"})
    started = timezone.now()
    assert webhook_deliver(delivery_id=delivery.pk) == "retry_scheduled"
    delivery.refresh_from_db()
    assert timedelta(seconds=120) <= delivery.next_attempt_at - started <= timedelta(seconds=125)


def test_redirects_are_failures_and_are_not_followed(receiver):
    delivery = make_delivery(receiver.url)
    receiver.answer(302, headers={"Location": receiver.url + "/elsewhere"})
    assert webhook_deliver(delivery_id=delivery.pk) == "retry_scheduled"
    delivery.refresh_from_db()
    assert delivery.last_status_code == 302 and len(receiver.requests) == 1


def test_a_connection_error_is_recorded_without_a_status_code(closed_port_url):
    delivery = make_delivery(closed_port_url)
    assert webhook_deliver(delivery_id=delivery.pk) == "retry_scheduled"
    delivery.refresh_from_db()
    assert delivery.last_status_code is None and delivery.last_error.startswith("Connection failed")
    assert delivery.attempts == 1 and delivery.status == "pending"


def test_410_gone_deactivates_the_endpoint(receiver):
    delivery = make_delivery(receiver.url)
    receiver.answer(410)
    assert webhook_deliver(delivery_id=delivery.pk) == "gone"
    delivery.refresh_from_db()
    delivery.endpoint.refresh_from_db()
    assert delivery.status == "failed" and delivery.endpoint.active is False
    event = AuditEvent.objects.get(action="webhook_endpoint.deactivated")
    assert event.actor_label == "webhooks" and event.changes["reason"] == "receiver answered 410 Gone"


def test_countdown_retries_are_enqueued_on_commit_only_when_a_broker_can_hold_them(
    receiver, settings, monkeypatch, no_jitter, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 7200}
    scheduled: list[dict] = []
    monkeypatch.setattr(tasks.deliver_webhook, "apply_async", lambda **kw: scheduled.append(kw))
    delivery = make_delivery(receiver.url)
    receiver.answer(*([500] * 5))
    for _ in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            webhook_deliver(delivery_id=delivery.pk)
        make_due(delivery)
    # 5 s, 5 min, 30 min fit in half the visibility timeout (1 h); 2 h and 5 h are left to the sweeper.
    assert scheduled == [
        {"args": [delivery.pk], "countdown": 5},
        {"args": [delivery.pk], "countdown": 300},
        {"args": [delivery.pk], "countdown": 1800},
    ]


def test_in_process_mode_never_runs_a_retry_at_once(
    receiver, monkeypatch, django_capture_on_commit_callbacks
):
    scheduled: list = []
    monkeypatch.setattr(tasks.deliver_webhook, "apply_async", lambda **kw: scheduled.append(kw))
    delivery = make_delivery(receiver.url)
    receiver.answer(500)
    with django_capture_on_commit_callbacks(execute=True):
        assert webhook_deliver(delivery_id=delivery.pk) == "retry_scheduled"
    assert scheduled == [] and len(receiver.requests) == 1


# --- the sweeper and manual retries --------------------------------------------------------------


def test_the_sweeper_enqueues_exactly_the_due_deliveries(monkeypatch):
    enqueued: list[int] = []
    monkeypatch.setattr(tasks.deliver_webhook, "delay", lambda pk: enqueued.append(pk))
    active, gone = EndpointFactory(), EndpointFactory()
    OutboxEventFactory.create_batch(4)
    webhooks_dispatch_outbox()
    due, future, done, later = WebhookDelivery.objects.filter(endpoint=active).order_by("id")
    now = timezone.now()
    WebhookDelivery.objects.filter(pk=due.pk).update(next_attempt_at=now - timedelta(minutes=3), attempts=2)
    WebhookDelivery.objects.filter(pk=future.pk).update(next_attempt_at=now + timedelta(hours=2))
    WebhookDelivery.objects.filter(pk=done.pk).update(status="succeeded", next_attempt_at=None)
    WebhookDelivery.objects.filter(pk=later.pk).update(status="failed", next_attempt_at=None)
    webhook_endpoint_deactivate(endpoint=gone, actor="test")
    # even a pending delivery of an inactive endpoint is left alone
    WebhookDelivery.objects.filter(endpoint=gone).update(
        status="pending", next_attempt_at=now - timedelta(hours=1)
    )

    assert tasks.retry_due_webhooks() == 1
    assert enqueued == [due.pk]


def test_the_sweeper_delivers_a_due_retry_for_real(receiver):
    delivery = make_delivery(receiver.url)
    receiver.answer(500)
    assert webhook_deliver(delivery_id=delivery.pk) == "retry_scheduled"
    assert webhooks_retry_due() == 0  # not yet due
    make_due(delivery)
    assert webhooks_retry_due() == 1  # eager mode: the task ran in-process
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.attempts == 2 and len(receiver.requests) == 2


def test_retry_now_gives_a_failed_delivery_one_more_attempt(receiver, django_capture_on_commit_callbacks):
    delivery = make_delivery(receiver.url)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status="failed", attempts=MAX_ATTEMPTS, next_attempt_at=None
    )
    receiver.answer(500)
    with django_capture_on_commit_callbacks(execute=True):
        webhook_delivery_retry(delivery=delivery, actor="test")
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.attempts == MAX_ATTEMPTS + 1  # tried once, gave up again
    with django_capture_on_commit_callbacks(execute=True):
        webhook_delivery_retry(delivery=delivery, actor="test")
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and len(receiver.requests) == 2
    with pytest.raises(Conflict, match="already succeeded"):
        webhook_delivery_retry(delivery=delivery, actor="test")


def test_deactivating_an_endpoint_stops_its_pending_deliveries(receiver):
    delivery = make_delivery(receiver.url)
    webhook_endpoint_deactivate(endpoint=delivery.endpoint, actor="test")
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.last_error == "Endpoint deactivated."
    assert webhook_deliver(delivery_id=delivery.pk) == "skipped"
    with pytest.raises(Conflict, match="reactivate"):
        webhook_delivery_retry(delivery=delivery, actor="test")
    assert receiver.requests == []


def test_unknown_delivery_is_reported_not_raised():
    assert webhook_deliver(delivery_id=999999) == "missing"
