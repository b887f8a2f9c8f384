"""Webhook delivery attempts: claim a delivery with a short lease, POST the signed body outside any
transaction, record the outcome; a failure schedules the next attempt on the Standard Webhooks retry
schedule, and the beat sweeper re-enqueues whatever is due."""

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
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from billing.models import WebhookDelivery
from billing.webhooks import egress, signing
from billing.webhooks.dispatch import DELIVER_TASK, enqueue_deliveries
from billing.webhooks.endpoints import webhook_endpoint_deactivate
from revops.core.enqueue import enqueue, enqueue_on_commit
from revops.errors import Conflict

log = logging.getLogger(__name__)

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


def retry_delay(attempts: int, *, jitter: float = 0.0) -> timedelta | None:
    """The wait before the next attempt after ``attempts`` attempts have failed; ``None`` = give up.
    ``jitter`` in [0, 1) stretches the delay by up to ``JITTER``."""
    if attempts < 1 or attempts >= MAX_ATTEMPTS:
        return None
    return RETRY_SCHEDULE[attempts - 1] * (1 + JITTER * min(max(jitter, 0.0), 1.0))


def body_bytes(payload: dict) -> bytes:
    """The exact bytes sent and signed (minified, keys sorted: the same for every attempt)."""
    return json.dumps(
        payload, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()


def _clip(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= ERROR_MAX_CHARS else text[: ERROR_MAX_CHARS - 1] + "…"


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
    value = (value or "").strip()
    if value.isascii() and value.isdigit() and len(value) <= 9:  # seconds; a date or junk is ignored
        return int(value)
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
    enqueue(DELIVER_TASK, delivery_id, countdown=max(1, round(delay.total_seconds())))


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
    enqueue_on_commit(DELIVER_TASK, delivery.pk)
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
    enqueue_deliveries(ids)
    return len(ids)
