"""Coupons change only through a second person (maker-checker).

Creating a coupon or changing any of its terms opens a ``coupon_change`` request whose payload holds
the terms before and exactly the terms after; nothing changes until an approver other than the
requester approves it. Approving applies the payload's terms only if the coupon is still exactly as
the request saw it (its terms and version), bumps the coupon's ``version``, and records
``coupon.created`` / ``coupon.changed`` with before and after in the same transaction. Django admin
shows coupons read-only, so there is no other way to change one. Applying an approved coupon to a
contract (:func:`coupon_apply`) records a redemption the invoices of the contract discount from."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from django.db import transaction

from billing.models import Coupon, CouponRedemption
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.errors import Conflict, FieldError, ValidationFailed
from revops.money import MoneyError, is_currency, parse_decimal

KIND = "coupon_change"
OBJECT_TYPE = "billing.coupon"
TERMS = ("name", "kind", "value", "currency", "duration", "duration_periods", "active")
CODE_RE = re.compile(r"^[-a-zA-Z0-9_]{1,64}$")


def _norm(value: Decimal) -> str:
    return format(value.normalize(), "f")


def coupon_terms(coupon: Coupon) -> dict:
    """A coupon's terms as a request's payload holds them (strings, comparable)."""
    return {
        "name": coupon.name,
        "kind": coupon.kind,
        "value": _norm(Decimal(coupon.value)),
        "currency": coupon.currency or None,
        "duration": coupon.duration,
        "duration_periods": coupon.duration_periods,
        "active": bool(coupon.active),
    }


def _clean(terms: dict) -> dict:
    errors: list[FieldError] = []
    unknown = sorted(set(terms) - set(TERMS))
    for field in unknown:
        errors.append(FieldError(field, f"Unknown coupon field (one of {', '.join(TERMS)})."))
    name = str(terms.get("name") or "").strip()
    if not name or len(name) > 200:
        errors.append(FieldError("name", "A name of at most 200 characters is required."))
    kind = terms.get("kind")
    if kind not in Coupon.Kind.values:
        errors.append(FieldError("kind", f"Must be one of: {', '.join(Coupon.Kind.values)}."))
    value = None
    try:
        value = parse_decimal(terms.get("value"), field="value")
    except (MoneyError, TypeError, ValueError) as exc:
        errors.append(FieldError("value", str(exc).split(": ", 1)[-1] or "A decimal is required."))
    if value is not None and (
        value < 0 or value >= Decimal("1e12") or value != value.quantize(Decimal("0.0001"))
    ):
        errors.append(FieldError("value", "Must be between 0 and 999,999,999,999, to 4 decimals."))
        value = None
    if value is not None and kind == Coupon.Kind.PERCENT and value > 100:
        errors.append(FieldError("value", "A percent coupon is at most 100."))
    currency = (terms.get("currency") or "") or None
    if currency is not None:
        currency = str(currency).upper()
        if not is_currency(currency):
            errors.append(FieldError("currency", f"Unknown currency '{currency}'."))
    if kind == Coupon.Kind.FIXED and currency is None:
        errors.append(FieldError("currency", "A fixed-amount coupon needs a currency."))
    duration = terms.get("duration") or Coupon.Duration.ONCE
    if duration not in Coupon.Duration.values:
        errors.append(FieldError("duration", f"Must be one of: {', '.join(Coupon.Duration.values)}."))
    periods = terms.get("duration_periods")
    if duration == Coupon.Duration.REPEATING:
        try:
            periods = int(periods)
        except (TypeError, ValueError):
            periods = 0
        if not 1 <= periods <= 1200:
            errors.append(FieldError("duration_periods", "A repeating coupon needs 1 to 1200 periods."))
    else:
        periods = None
    active = terms.get("active", True)
    if not isinstance(active, bool):
        errors.append(FieldError("active", "Must be true or false."))
    if errors:
        raise ValidationFailed(
            errors[0].message if len(errors) == 1 else "The coupon is invalid.", errors=errors
        )
    return {
        "name": name,
        "kind": kind,
        "value": _norm(value),
        "currency": currency,
        "duration": duration,
        "duration_periods": periods,
        "active": active,
    }


def _describe(terms: dict) -> str:
    off = (
        f"{terms['value']}%"
        if terms["kind"] == Coupon.Kind.PERCENT
        else f"{terms['value']} {terms['currency']}"
    )
    how_long = {
        "once": "once",
        "forever": "forever",
        "repeating": f"for {terms['duration_periods']} periods",
    }[terms["duration"]]
    return f"{off} off {how_long}" + ("" if terms["active"] else " (inactive)")


def pending_coupon_request(code: str):
    from revops.core.approvals.models import Approval

    return Approval.objects.filter(
        kind=KIND, object_type=OBJECT_TYPE, object_id=code, status=Approval.Status.PENDING
    ).first()


@transaction.atomic
def coupon_request(*, code: str, changes: dict, actor=None):
    """Ask for a new coupon (``code`` unknown) or a change of an existing one's terms. Returns the
    pending Approval; nothing about the coupon changes until it is approved."""
    from revops.core.approvals.services import approval_request

    if not isinstance(code, str) or not CODE_RE.match(code):
        raise ValidationFailed("A code of letters, digits, - and _ (at most 64).", field="code")
    if not isinstance(changes, dict):
        raise ValidationFailed("The coupon's terms must be an object.", field="changes")
    existing = Coupon.objects.select_for_update().filter(code=code).first()
    before = coupon_terms(existing) if existing else None
    after = _clean({**(before or {}), **changes})
    if before is not None and after == before:
        raise ValidationFailed("Nothing would change.", field="changes")
    pending = pending_coupon_request(code)
    if pending is not None:
        raise Conflict(f"A change of coupon {code} already waits for approval (#{pending.pk}).")
    action = "change" if existing else "create"
    summary = (
        f"Coupon {code}: {_describe(before)} → {_describe(after)}"
        if before
        else f"New coupon {code} ({after['name']}): {_describe(after)}"
    )
    payload = {
        "action": action,
        "code": code,
        "version": existing.version if existing else 0,
        "before": before,
        "after": after,
    }
    approval = approval_request(
        kind=KIND,
        object_type=OBJECT_TYPE,
        object_id=code,
        summary=summary,
        payload=payload,
        requested_by=actor,
    )
    audit_record(
        actor=actor,
        action=AuditAction.COUPON_CHANGE_REQUESTED,
        object_type=OBJECT_TYPE,
        object_id=code,
        changes={"approval": approval.pk, **payload},
    )
    return approval


def coupon_change_apply(approval, user) -> Coupon:
    """The ``coupon_change`` approval handler: apply exactly the payload's terms (inside
    approval_decide's transaction)."""
    payload = approval.payload or {}
    code, after = payload["code"], _clean(payload["after"])
    coupon = Coupon.objects.select_for_update().filter(code=code).first()
    values = {**after, "value": Decimal(after["value"])}
    if payload.get("action") == "create":
        if coupon is not None:
            raise Conflict(f"Coupon {code} exists already; reject this request.")
        coupon = Coupon.objects.create(code=code, version=1, approval=approval, **values)
        action = AuditAction.COUPON_CREATED
    else:
        if (
            coupon is None
            or coupon.version != payload.get("version")
            or coupon_terms(coupon) != payload.get("before")
        ):
            raise Conflict(f"Coupon {code} changed since this request was made; reject it and ask again.")
        for field, value in values.items():
            setattr(coupon, field, value)
        coupon.version += 1
        coupon.approval = approval
        coupon.save(update_fields=[*TERMS, "version", "approval"])
        action = AuditAction.COUPON_CHANGED
    audit_record(
        actor=approval.requested_by or "system",
        action=action,
        object_type=OBJECT_TYPE,
        object_id=code,  # coupons are referenced by their (immutable) code, requests included
        changes={
            "before": payload.get("before"),
            "after": coupon_terms(coupon),
            "version": coupon.version,
            "approval": approval.pk,
            "approved_by": getattr(user, "username", str(user)),
        },
    )
    return coupon


@transaction.atomic
def coupon_apply(*, coupon, contract, applied_from: date, actor=None) -> CouponRedemption:
    if CouponRedemption.objects.filter(coupon=coupon, contract=contract).exists():
        raise Conflict(f"Coupon {coupon.code} is already applied to {contract.number}.")
    redemption = CouponRedemption.objects.create(coupon=coupon, contract=contract, applied_from=applied_from)
    audit_record(
        actor=actor,
        action=AuditAction.COUPON_APPLIED,
        obj=redemption,
        changes={"coupon": coupon.code, "contract": contract.number, "applied_from": applied_from},
    )
    return redemption
