"""Webhook services: endpoints (audited), the outbox consumer, delivery attempts and retries.

How an event reaches a receiver:

1. A billing service writes an ``OutboxEvent`` (topic ``invoice.finalized``…) in the transaction that
   makes the change, and calls :func:`webhooks_dispatch_on_commit`.
2. :func:`webhooks_dispatch_outbox` (task ``billing.dispatch_webhooks``, also run by beat) claims
   unprocessed events with ``SELECT … FOR UPDATE SKIP LOCKED``, creates one ``WebhookDelivery`` per
   subscribed active endpoint — unique (endpoint, event id) — and writes the consumer's
   ``OutboxReceipt`` in the same transaction; the deliveries are enqueued on commit.
3. :func:`webhook_deliver` (task ``billing.deliver_webhook``) claims the delivery with a short lease,
   POSTs the signed body outside any transaction, then records the outcome. A failure schedules the
   next attempt on the Standard Webhooks retry schedule; the beat sweeper
   (:func:`webhooks_retry_due`, task ``billing.retry_due_webhooks``) re-enqueues whatever is due, so a
   lost countdown or a killed worker delays a delivery but never loses it.

Delivery is at-least-once (a worker killed after the receiver answered but before the outcome was
saved sends again); receivers deduplicate on ``webhook-id``, which is stable per event. Secrets are
never logged nor written to the audit trail.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from billing.models import WebhookDelivery, WebhookEndpoint
from billing.models.webhooks import new_secret
from billing.webhooks import egress, signing
from compliance.audit import audit_record
from revops.core.models import OutboxEvent, OutboxReceipt
from revops.errors import Conflict, FieldError, ValidationFailed

log = logging.getLogger(__name__)

# --- constants -----------------------------------------------------------------------------------

EVENT_TYPES: tuple[str, ...] = (
    "invoice.finalized",
    "invoice.paid",
    "invoice.voided",
    "billing_run.completed",
)
EVENT_TYPE_LABELS = {
    "invoice.finalized": "An invoice was finalized (numbered)",
    "invoice.paid": "An invoice was paid in full",
    "invoice.voided": "A finalized invoice was voided",
    "billing_run.completed": "A billing run completed",
}
CONSUMER = "webhooks"  # the OutboxReceipt consumer name

REQUEST_TIMEOUT = 10  # seconds per attempt
# The Standard Webhooks example retry schedule (spec/standard-webhooks.md, "Deliverability and
# reliability"): an immediate attempt, then these delays — about 3 days in all — then give up.
RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
JITTER = 0.1  # up to +10% on each delay (the spec recommends jitter), never earlier than the schedule
MAX_RETRY_AFTER = timedelta(hours=24)
# While an attempt is in flight its delivery is "leased": next_attempt_at is pushed past the request
# timeout, so a duplicate task skips it and the sweeper only picks it up again if the worker died.
LEASE = timedelta(seconds=REQUEST_TIMEOUT + 50)
DUE_SLACK = timedelta(seconds=2)  # a countdown task arriving a little early still runs
ERROR_MAX_CHARS = 500
_URL_VALIDATOR = URLValidator(schemes=["http", "https"])


# --- pure helpers --------------------------------------------------------------------------------


def retry_delay(attempts: int, *, jitter: float = 0.0) -> timedelta | None:
    """The wait before the next attempt after ``attempts`` attempts have failed; ``None`` = give up.
    ``jitter`` in [0, 1) stretches the delay by up to ``JITTER``."""
    if attempts < 1 or attempts >= MAX_ATTEMPTS:
        return None
    return RETRY_SCHEDULE[attempts - 1] * (1 + JITTER * min(max(jitter, 0.0), 1.0))


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


def body_bytes(payload: dict) -> bytes:
    """The exact bytes sent and signed (minified, keys sorted: the same for every attempt)."""
    return json.dumps(
        payload, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()


def subscribed(endpoint: WebhookEndpoint, event_type: str) -> bool:
    return not endpoint.event_types or event_type in endpoint.event_types


def _clip(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= ERROR_MAX_CHARS else text[: ERROR_MAX_CHARS - 1] + "…"


# --- endpoints (writes, audited) -----------------------------------------------------------------

_UNSET = object()


def _validate_endpoint(
    *, url=_UNSET, description=_UNSET, event_types=_UNSET
) -> tuple[list[FieldError], dict]:
    errors: list[FieldError] = []
    clean: dict = {}
    if url is not _UNSET:
        text = (url or "").strip()
        try:
            _URL_VALIDATOR(text)
        except DjangoValidationError:
            errors.append(FieldError("url", "Enter a valid http:// or https:// URL."))
        else:
            problem = egress.url_problem(text)
            if problem:
                errors.append(FieldError("url", problem))
        if len(text) > 500:
            errors.append(FieldError("url", "At most 500 characters."))
        clean["url"] = text
    if description is not _UNSET:
        text = (description or "").strip()
        if len(text) > 200:
            errors.append(FieldError("description", "At most 200 characters."))
        clean["description"] = text
    if event_types is not _UNSET:
        chosen: list[str] = []
        for index, value in enumerate(list(event_types or [])):
            if value not in EVENT_TYPES:
                errors.append(
                    FieldError(
                        f"event_types[{index}]",
                        f"Unknown event type '{value}'. Choose from: {', '.join(EVENT_TYPES)}.",
                    )
                )
            elif value not in chosen:
                chosen.append(value)
        clean["event_types"] = chosen
    return errors, clean


def _raise(errors: list[FieldError]) -> None:
    if errors:
        raise ValidationFailed(errors[0].message, errors=errors)


@transaction.atomic
def webhook_endpoint_create(
    *, url: str, description: str = "", event_types: list[str] | tuple[str, ...] = (), actor
) -> WebhookEndpoint:
    """A new endpoint with a fresh ``whsec_`` secret (192 random bits, as the spec's minimum). The
    caller shows ``endpoint.secret`` once; it is never logged nor audited."""
    errors, clean = _validate_endpoint(url=url, description=description, event_types=event_types)
    _raise(errors)
    endpoint = WebhookEndpoint.objects.create(secret=new_secret(), active=True, **clean)
    audit_record(
        actor=actor,
        action="webhook_endpoint.created",
        obj=endpoint,
        changes={**clean, "active": True},
    )
    return endpoint


def _cancel_pending(endpoint: WebhookEndpoint, reason: str) -> int:
    return WebhookDelivery.objects.filter(endpoint=endpoint, status=WebhookDelivery.Status.PENDING).update(
        status=WebhookDelivery.Status.FAILED, last_error=reason, next_attempt_at=None
    )


def _locked(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    return WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)


@transaction.atomic
def webhook_endpoint_update(
    *, endpoint: WebhookEndpoint, actor, url=_UNSET, description=_UNSET, event_types=_UNSET, active=_UNSET
) -> WebhookEndpoint:
    """Change the URL, description, subscribed event types or active flag (only what is passed)."""
    errors, clean = _validate_endpoint(url=url, description=description, event_types=event_types)
    _raise(errors)
    if active is not _UNSET:
        clean["active"] = bool(active)
    endpoint = _locked(endpoint)
    changes = {k: [getattr(endpoint, k), v] for k, v in clean.items() if getattr(endpoint, k) != v}
    if not changes:
        return endpoint
    for field, (_old, new) in changes.items():
        setattr(endpoint, field, new)
    endpoint.save(update_fields=list(changes))
    if changes.get("active") == [True, False]:
        changes["pending_deliveries_cancelled"] = _cancel_pending(endpoint, "Endpoint deactivated.")
    audit_record(actor=actor, action="webhook_endpoint.updated", obj=endpoint, changes=changes)
    return endpoint


@transaction.atomic
def webhook_endpoint_deactivate(*, endpoint: WebhookEndpoint, actor, reason: str = "") -> WebhookEndpoint:
    """Stop sending to an endpoint. Its delivery log is kept; pending deliveries are marked failed
    (they can be retried after reactivation)."""
    endpoint = _locked(endpoint)
    if not endpoint.active:
        return endpoint
    endpoint.active = False
    endpoint.save(update_fields=["active"])
    cancelled = _cancel_pending(endpoint, f"Endpoint deactivated{': ' + reason if reason else ''}.")
    changes = {"active": [True, False], "pending_deliveries_cancelled": cancelled}
    if reason:
        changes["reason"] = reason
    audit_record(actor=actor, action="webhook_endpoint.deactivated", obj=endpoint, changes=changes)
    return endpoint


@transaction.atomic
def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint, actor) -> WebhookEndpoint:
    """Replace the signing secret now; the returned endpoint carries the new secret (show it once).
    Attempts from now on are signed with the new secret only."""
    endpoint = _locked(endpoint)
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret"])
    audit_record(actor=actor, action="webhook_endpoint.secret_rotated", obj=endpoint, changes={})
    return endpoint


# --- reads (used by the API and the UI) -----------------------------------------------------------


def webhook_endpoint_list() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.all()


def webhook_delivery_list(
    *, endpoint: int | None = None, status: str | None = None, event_type: str | None = None
) -> QuerySet[WebhookDelivery]:
    qs = WebhookDelivery.objects.select_related("endpoint")
    if endpoint:
        qs = qs.filter(endpoint_id=endpoint)
    if status:
        qs = qs.filter(status=status)
    if event_type:
        qs = qs.filter(event_type=event_type)
    return qs.order_by("-id")


# --- the outbox consumer -------------------------------------------------------------------------


@dataclass(frozen=True)
class DispatchResult:
    events: int
    deliveries: int


def _enqueue_deliveries(delivery_ids: list[int]) -> None:
    from billing.webhooks.tasks import deliver_webhook

    for delivery_id in delivery_ids:
        try:
            deliver_webhook.delay(delivery_id)
        except Exception:  # a broker hiccup: the sweeper enqueues it within a minute
            log.exception("could not enqueue webhook delivery %s; the sweeper will", delivery_id)


def webhooks_dispatch_outbox(*, batch_size: int = 100) -> DispatchResult:
    """Turn unprocessed outbox events into deliveries, one batch per transaction. Safe to run twice
    or concurrently: claimed events are skipped by other consumers (SKIP LOCKED), and the unique
    (endpoint, event id) delivery and (consumer, event) receipt make a repeat a no-op."""
    events_done = deliveries_done = 0
    while True:
        with transaction.atomic():
            events = list(
                OutboxEvent.objects.filter(topic__in=EVENT_TYPES)
                .exclude(receipts__consumer=CONSUMER)
                .order_by("id")
                .select_for_update(skip_locked=True, of=("self",))[:batch_size]
            )
            if not events:
                break
            endpoints = list(WebhookEndpoint.objects.filter(active=True).order_by("id"))
            event_ids = [event_id_for(e) for e in events]
            existing = set(
                WebhookDelivery.objects.filter(event_id__in=event_ids).values_list("id", flat=True)
            )
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
            OutboxReceipt.objects.bulk_create(
                [OutboxReceipt(consumer=CONSUMER, event=event) for event in events], ignore_conflicts=True
            )
            new_ids = [
                pk
                for pk in WebhookDelivery.objects.filter(event_id__in=event_ids)
                .order_by("id")
                .values_list("id", flat=True)
                if pk not in existing
            ]
            transaction.on_commit(partial(_enqueue_deliveries, new_ids))
        events_done += len(events)
        deliveries_done += len(new_ids)
        if len(events) < batch_size:
            break
    if events_done:
        log.info("webhooks: %s outbox events -> %s deliveries", events_done, deliveries_done)
    return DispatchResult(events=events_done, deliveries=deliveries_done)


def webhooks_dispatch_on_commit() -> None:
    """For the services that write webhook outbox events: dispatch them once the transaction commits
    (the beat task ``billing.dispatch_webhooks`` catches anything this misses)."""

    def enqueue() -> None:
        from billing.webhooks.tasks import dispatch_webhooks

        try:
            dispatch_webhooks.delay()
        except Exception:
            log.exception("could not enqueue webhook dispatch; beat will run it")

    transaction.on_commit(enqueue)


# --- delivery attempts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    error: str = ""
    retry_after: int | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """3xx is a failure (spec): the receiver should update its URL rather than be followed."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _retry_after(value: str | None) -> int | None:
    if value and value.strip().isdigit():
        return int(value.strip())
    return None


def post_webhook(
    url: str, body: bytes, headers: dict[str, str], *, timeout: float = REQUEST_TIMEOUT
) -> AttemptResult:
    """One HTTP POST with ``urllib`` (no redirects followed; public receivers only, see egress). Never
    raises for network trouble."""
    opener = urllib.request.build_opener(_NoRedirect, egress.GuardedHTTPHandler, egress.GuardedHTTPSHandler)
    request = urllib.request.Request(  # noqa: S310 - the URL was validated as http(s) when saved
        url, data=body, headers={**headers, "user-agent": "Concord-Webhooks/1.0"}, method="POST"
    )
    try:
        with opener.open(request, timeout=timeout) as response:
            response.read(4096)
            return AttemptResult(status_code=response.status)
    except urllib.error.HTTPError as exc:
        try:
            excerpt = exc.read(300).decode("utf-8", "replace")
        except Exception:
            excerpt = ""
        reason = f"HTTP {exc.code} {exc.reason}".strip()
        return AttemptResult(
            status_code=exc.code,
            error=_clip(f"{reason}: {excerpt}" if excerpt.strip() else reason),
            retry_after=_retry_after(exc.headers.get("Retry-After") if exc.headers else None),
        )
    except urllib.error.URLError as exc:
        return AttemptResult(status_code=None, error=_clip(f"Connection failed: {exc.reason}"))
    except TimeoutError:
        return AttemptResult(status_code=None, error=f"Timed out after {timeout:g} s.")
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return AttemptResult(status_code=None, error=_clip(f"{type(exc).__name__}: {exc}"))


def _schedule_retry(delivery_id: int, delay: timedelta) -> None:
    """Enqueue the next attempt with a countdown when the broker can hold it safely: in-process
    (eager) mode would run it at once, and a countdown longer than half the broker's visibility
    timeout makes Redis redeliver it; in both cases the beat sweeper enqueues it when it is due."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
    visibility = (getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}).get(
        "visibility_timeout", 3600
    )
    if delay.total_seconds() > visibility / 2:
        return
    from billing.webhooks.tasks import deliver_webhook

    try:
        deliver_webhook.apply_async(args=[delivery_id], countdown=max(1, round(delay.total_seconds())))
    except Exception:
        log.exception("could not schedule webhook retry %s; the sweeper will", delivery_id)


def _claim(delivery_id: int, now: datetime) -> tuple[str, dict | None]:
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            exists = WebhookDelivery.objects.filter(pk=delivery_id).exists()
            return ("busy" if exists else "missing"), None
        if delivery.status != WebhookDelivery.Status.PENDING:
            return "skipped", None
        if delivery.next_attempt_at and delivery.next_attempt_at > now + DUE_SLACK:
            return "not_due", None
        endpoint = delivery.endpoint
        if not endpoint.active:
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.last_error = "Endpoint deactivated."
            delivery.next_attempt_at = None
            delivery.save(update_fields=["status", "last_error", "next_attempt_at"])
            return "endpoint_inactive", None
        delivery.attempts += 1
        delivery.next_attempt_at = now + LEASE
        delivery.save(update_fields=["attempts", "next_attempt_at"])
        return "claimed", {
            "attempt": delivery.attempts,
            "url": endpoint.url,
            "secret": endpoint.secret,
            "endpoint_id": endpoint.pk,
            "event_id": delivery.event_id,
            "payload": delivery.payload,
        }


def _record(delivery_id: int, attempt: int, result: AttemptResult) -> str:
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint")
            .get(pk=delivery_id)
        )
        if delivery.status == WebhookDelivery.Status.SUCCEEDED:
            return "skipped"
        if delivery.attempts != attempt and not result.ok:
            return "superseded"  # our lease expired and a newer attempt owns the outcome
        now = timezone.now()
        delivery.last_status_code = result.status_code
        fields = ["status", "last_status_code", "last_error", "next_attempt_at", "delivered_at"]
        if result.ok:
            delivery.status = WebhookDelivery.Status.SUCCEEDED
            delivery.delivered_at = now
            delivery.last_error = ""
            delivery.next_attempt_at = None
            delivery.save(update_fields=fields)
            return "succeeded"
        delivery.last_error = result.error or f"HTTP {result.status_code}"
        if result.status_code == 410:
            # 410 Gone: the receiver wants no more webhooks; the spec says disable the endpoint.
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.next_attempt_at = None
            delivery.save(update_fields=fields)
            webhook_endpoint_deactivate(
                endpoint=delivery.endpoint, actor="webhooks", reason="receiver answered 410 Gone"
            )
            return "gone"
        delay = retry_delay(delivery.attempts, jitter=random.random())
        if delay is not None and result.retry_after:
            delay = max(delay, min(timedelta(seconds=result.retry_after), MAX_RETRY_AFTER))
        if delay is None:
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.next_attempt_at = None
            delivery.save(update_fields=fields)
            return "failed"
        delivery.next_attempt_at = now + delay
        delivery.save(update_fields=fields)
        transaction.on_commit(partial(_schedule_retry, delivery.pk, delay))
        return "retry_scheduled"


def webhook_deliver(*, delivery_id: int) -> str:
    """One delivery attempt, safe to run twice or concurrently. Returns the outcome: ``succeeded``,
    ``retry_scheduled``, ``failed`` (gave up), ``gone`` (410: endpoint deactivated), or why nothing
    was sent: ``skipped`` (not pending), ``not_due``, ``busy`` (another worker holds it),
    ``endpoint_inactive``, ``missing``."""
    outcome, claim = _claim(delivery_id, timezone.now())
    if claim is None:
        return outcome
    body = body_bytes(claim["payload"])
    sent_at = int(timezone.now().timestamp())
    request_headers = signing.headers(claim["secret"], claim["event_id"], sent_at, body)
    result = post_webhook(claim["url"], body, request_headers)
    outcome = _record(delivery_id, claim["attempt"], result)
    log.info(
        "webhook delivery %s (endpoint %s, attempt %s): %s%s",
        delivery_id,
        claim["endpoint_id"],
        claim["attempt"],
        outcome,
        f" [{result.status_code}]" if result.status_code else "",
    )
    return outcome


@transaction.atomic
def webhook_delivery_retry(*, delivery: WebhookDelivery, actor=None) -> WebhookDelivery:
    """The "Retry now" button: make a pending or failed delivery due immediately and enqueue it on
    commit. A delivery that already gave up gets one more attempt."""
    delivery = (
        WebhookDelivery.objects.select_for_update(of=("self",)).select_related("endpoint").get(pk=delivery.pk)
    )
    if delivery.status == WebhookDelivery.Status.SUCCEEDED:
        raise Conflict("This delivery already succeeded.", field="status")
    if not delivery.endpoint.active:
        raise Conflict("The endpoint is deactivated; reactivate it before retrying.", field="endpoint")
    delivery.status = WebhookDelivery.Status.PENDING
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["status", "next_attempt_at"])
    transaction.on_commit(partial(_enqueue_deliveries, [delivery.pk]))
    return delivery


def webhooks_retry_due(*, limit: int = 500) -> int:
    """Beat sweeper: enqueue every pending delivery whose next attempt is due (lost countdowns, long
    delays the broker should not hold, workers that died mid-attempt). Returns how many."""
    ids = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at__lte=timezone.now(),
            endpoint__active=True,
        )
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    _enqueue_deliveries(ids)
    return len(ids)
