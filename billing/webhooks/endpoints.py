"""Webhook endpoints: what a receiver subscribes to (writes audited, secrets never in the trail), and
the reads the API and the UI list endpoints and deliveries with."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import QuerySet

from billing.models import WebhookDelivery, WebhookEndpoint
from billing.models.webhooks import new_secret
from billing.webhooks import egress
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.errors import FieldError, ValidationFailed

EVENT_TYPES: tuple[str, ...] = (
    "invoice.finalized",
    "invoice.paid",
    "invoice.voided",
    "billing_run.completed",
    # Cancellation and scheduled changes (issue 17 §4, billing.contracts.services.scheduled).
    "contract.cancel_scheduled",
    "contract.cancel_withdrawn",
    "contract.canceled",
    "contract.change_scheduled",
    "contract.scheduled_change_withdrawn",
    "contract.scheduled_change_applied",
    "contract.scheduled_change_failed",
    "contract.renewed",
    "contract.renewal_pending_approval",
    "contract.trial_ending",
    "contract.trial_converted",
    "contract.trial_canceled",
)
EVENT_TYPE_LABELS = {
    "invoice.finalized": "An invoice was finalized (numbered)",
    "invoice.paid": "An invoice was paid in full",
    "invoice.voided": "A finalized invoice was voided",
    "billing_run.completed": "A billing run completed",
    "contract.cancel_scheduled": "A contract was scheduled to cancel at the end of its period or term",
    "contract.cancel_withdrawn": "A scheduled cancellation was withdrawn",
    "contract.canceled": "A contract was canceled (now, or on its scheduled date)",
    "contract.change_scheduled": "An amendment was scheduled for a future date",
    "contract.scheduled_change_withdrawn": "A scheduled amendment was withdrawn",
    "contract.scheduled_change_applied": "A scheduled amendment applied on its date",
    "contract.scheduled_change_failed": "A scheduled change could not apply on its date (reason given)",
    "contract.renewed": "A contract renewed for a new term",
    "contract.renewal_pending_approval": "A contract's renewal waits for an approver",
    "contract.trial_ending": "A contract's trial converts to paid in 3 days",
    "contract.trial_converted": "A contract's trial converted to paid",
    "contract.trial_canceled": "A contract was canceled during its trial",
}
_URL_VALIDATOR = URLValidator(schemes=["http", "https"])


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
        action=AuditAction.WEBHOOK_ENDPOINT_CREATED,
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
    audit_record(actor=actor, action=AuditAction.WEBHOOK_ENDPOINT_UPDATED, obj=endpoint, changes=changes)
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
    audit_record(actor=actor, action=AuditAction.WEBHOOK_ENDPOINT_DEACTIVATED, obj=endpoint, changes=changes)
    return endpoint


@transaction.atomic
def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint, actor) -> WebhookEndpoint:
    """Replace the signing secret now; the returned endpoint carries the new secret (show it once).
    Attempts from now on are signed with the new secret only."""
    endpoint = _locked(endpoint)
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret"])
    audit_record(actor=actor, action=AuditAction.WEBHOOK_ENDPOINT_SECRET_ROTATED, obj=endpoint, changes={})
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
