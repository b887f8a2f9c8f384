"""Prepaid and goodwill credits: balances, grants (each through a second person), expiry.

Every grant is a money lever: it waits for an approver other than the requester, and is applied,
audited and announced on the outbox (the hook revenue recognition consumes) in one transaction.
Invoices draw on the balances at finalization (billing.invoicing.lifecycle)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from billing.models import CreditExpiry, CreditGrant
from billing.rating import CreditBalance
from revops.books import lock_for_posting
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.core.outbox import outbox_publish
from revops.errors import Conflict, FieldError, ValidationFailed
from revops.money import MoneyError, parse_decimal, round_money

ZERO = Decimal(0)


def credit_balances(customer, *, currency: str, on: date) -> list[CreditBalance]:
    balances = []
    grants = CreditGrant.objects.select_for_update().filter(
        customer=customer, currency=currency, granted_on__lte=on
    )
    for grant in grants.order_by("id"):
        if grant.expires_on and grant.expires_on <= on:
            continue
        used = grant.applications.aggregate(s=Sum("amount"))["s"] or ZERO
        remaining = grant.amount - used
        if remaining > 0:
            balances.append(
                CreditBalance(
                    id=grant.pk, remaining=remaining, expires_on=grant.expires_on, granted_on=grant.granted_on
                )
            )
    return balances


GOODWILL_KIND = "goodwill_credit"
PURCHASED_KIND = "purchased_credit"
# Every credit grant is a money lever (issue 12.4): each kind waits for an approver other than the
# requester. A purchased credit is cash received: it names the payment that backs it
# (``payment_reference``), which the approver verifies against the bank before approving.
GRANT_APPROVAL_KINDS = {CreditGrant.Kind.PURCHASED: PURCHASED_KIND, CreditGrant.Kind.GOODWILL: GOODWILL_KIND}
GRANT_REQUESTED_ACTIONS = {
    CreditGrant.Kind.PURCHASED: AuditAction.CREDIT_GRANT_PURCHASED_REQUESTED,
    CreditGrant.Kind.GOODWILL: AuditAction.CREDIT_GRANT_GOODWILL_REQUESTED,
}
POSTINGS = {
    CreditGrant.Kind.PURCHASED: {"debit": "1000 Cash", "credit": "2300 Prepaid customer credits"},
    CreditGrant.Kind.GOODWILL: {
        "debit": "4910 Goodwill credits (contra revenue)",
        "credit": "2300 Prepaid customer credits",
    },
}


def _clean_grant(
    *, customer, amount, granted_on, expires_on, contract, kind, payment_reference: str = ""
) -> Decimal:
    errors: list[FieldError] = []
    value = None
    try:
        value = parse_decimal(amount, field="amount")
    except MoneyError as exc:
        errors.append(FieldError("amount", str(exc).split(": ", 1)[-1]))
    if value is not None and value <= 0:
        errors.append(FieldError("amount", "A credit grant must be positive."))
    elif value is not None and value >= Decimal("1e12"):
        errors.append(FieldError("amount", "At most 999,999,999,999."))
    elif value is not None and round_money(value, customer.currency) != value:
        errors.append(FieldError("amount", f"At most the minor unit of {customer.currency}."))
    if kind not in CreditGrant.Kind.values:
        errors.append(FieldError("kind", f"Must be one of: {', '.join(CreditGrant.Kind.values)}."))
    reference = (payment_reference or "").strip()
    if kind == CreditGrant.Kind.PURCHASED and not reference:
        errors.append(
            FieldError(
                "payment_reference",
                "A purchased credit is cash received: name the payment or receipt that backs it "
                "(a goodwill credit is the kind for a concession).",
            )
        )
    elif (
        kind == CreditGrant.Kind.PURCHASED
        and CreditGrant.objects.filter(
            customer=customer, kind=CreditGrant.Kind.PURCHASED, payment_reference=reference
        ).exists()
    ):
        errors.append(
            FieldError("payment_reference", f"Payment '{reference}' already backs a credit of this customer.")
        )
    elif kind == CreditGrant.Kind.GOODWILL and reference:
        errors.append(FieldError("payment_reference", "A goodwill credit has no payment behind it."))
    for name, day in (("granted_on", granted_on), ("expires_on", expires_on)):
        if isinstance(day, date) and not 1900 <= day.year <= 2199:
            errors.append(FieldError(name, "A date between 1900 and 2199 is required."))
    if not isinstance(granted_on, date):
        errors.append(FieldError("granted_on", "A date YYYY-MM-DD is required."))
    elif granted_on > timezone.localdate():
        errors.append(FieldError("granted_on", "A credit cannot be granted in the future (after today)."))
    elif expires_on is not None and (not isinstance(expires_on, date) or expires_on <= granted_on):
        errors.append(FieldError("expires_on", "A credit must expire after it is granted."))
    if contract is not None and contract.customer_id != customer.pk:
        errors.append(FieldError("contract", f"{contract.number} is not a contract of this customer."))
    if errors:
        raise ValidationFailed(errors[0].message, errors=errors)
    return value


@transaction.atomic
def credit_grant_create(
    *,
    customer,
    amount,
    granted_on: date,
    expires_on: date | None = None,
    reason: str = "",
    contract=None,
    kind: str = CreditGrant.Kind.PURCHASED,
    payment_reference: str = "",
    actor=None,
    approval=None,
) -> CreditGrant:
    """Grant prepaid credits — only through an approved request of the grant's kind
    (:func:`credit_grant_request`: ``purchased_credit`` or ``goodwill_credit``, applied with the
    ``approval`` by billing.approvals). A purchased credit names the payment that backs it."""
    value = _clean_grant(
        customer=customer,
        amount=amount,
        granted_on=granted_on,
        expires_on=expires_on,
        contract=contract,
        kind=kind,
        payment_reference=payment_reference,
    )
    if approval is None or approval.status != "approved" or approval.kind != GRANT_APPROVAL_KINDS.get(kind):
        raise Conflict(
            f"A {kind} credit takes effect only once an approver other than the requester approves its request."
        )
    lock_for_posting()  # before the audit: docs/architecture.md, "Lock order"
    grant = CreditGrant.objects.create(
        customer=customer,
        contract=contract,
        currency=customer.currency,
        amount=value,
        granted_on=granted_on,
        expires_on=expires_on,
        reason=reason,
        kind=kind,
        payment_reference=(payment_reference or "").strip(),
        approval=approval,
    )
    changes = {
        "amount": value,
        "kind": kind,
        "expires_on": expires_on,
        "reason": reason,
        "payment_reference": grant.payment_reference,
        "approval": approval.pk,
    }
    audit_record(actor=actor, action=AuditAction.CREDIT_GRANT_CREATED, obj=grant, changes=changes)
    outbox_publish(
        topic="credit_grant.created",
        obj=grant,
        payload={
            "customer": customer.external_id,
            "contract": getattr(contract, "number", None),
            "currency": grant.currency,
            "amount": value,
            "kind": kind,
            "granted_on": granted_on,
            "expires_on": expires_on,
        },
    )
    return grant


@transaction.atomic
def credit_grant_request(
    *,
    customer,
    amount,
    granted_on: date,
    expires_on: date | None = None,
    reason: str = "",
    contract=None,
    kind: str = CreditGrant.Kind.PURCHASED,
    payment_reference: str = "",
    actor=None,
):
    """Ask for a credit grant: nothing is granted (or posted) until an approver other than the
    requester approves; the request's payload is exactly the grant that approving creates, with its
    posting and, for a purchased credit, the payment reference the approver verifies. One pending
    request per customer and kind."""
    from revops.core.approvals.models import Approval
    from revops.core.approvals.services import approval_request

    value = _clean_grant(
        customer=customer,
        amount=amount,
        granted_on=granted_on,
        expires_on=expires_on,
        contract=contract,
        kind=kind,
        payment_reference=payment_reference,
    )
    if kind == CreditGrant.Kind.GOODWILL and not (reason or "").strip():
        raise ValidationFailed("Say why the customer gets a goodwill credit.", field="reason")
    approval_kind = GRANT_APPROVAL_KINDS[kind]
    pending = Approval.objects.filter(
        kind=approval_kind,
        object_type="contracts.customer",
        object_id=str(customer.pk),
        status=Approval.Status.PENDING,
    ).first()
    if pending is not None:
        raise Conflict(f"A {kind} credit for {customer.name} already waits for approval (#{pending.pk}).")
    reference = (payment_reference or "").strip()
    payload = {
        "kind": kind,
        "customer": customer.external_id,
        "contract": getattr(contract, "number", None),
        "currency": customer.currency,
        "amount": str(value),
        "granted_on": str(granted_on),
        "expires_on": str(expires_on) if expires_on else None,
        "reason": reason,
        "payment_reference": reference or None,
        "posting": POSTINGS[kind],
    }
    what = f"paid by {reference}" if reference else reason
    approval = approval_request(
        kind=approval_kind,
        obj=customer,
        summary=f"{kind.capitalize()} credit of {value} {customer.currency} for {customer.name}: {what}",
        payload=payload,
        requested_by=actor,
    )
    audit_record(
        actor=actor,
        action=GRANT_REQUESTED_ACTIONS[kind],
        obj=customer,
        changes={"approval": approval.pk, **payload},
    )
    return approval


def goodwill_credit_request(**kwargs):
    """A goodwill credit request (:func:`credit_grant_request` with ``kind="goodwill"``)."""
    return credit_grant_request(kind=CreditGrant.Kind.GOODWILL, **kwargs)


def credits_expire(*, on: date, actor="credits_expiry") -> list[CreditExpiry]:
    """Release what is left of every grant that has expired by ``on`` (breakage, recognized when the
    credit can no longer be used): one CreditExpiry per grant and release, each in its own transaction
    with its audit event and the ``credit_grant.expired`` event (revenue posts Dr prepaid credits, Cr
    revenue on the expiry date). Idempotent: what was released before is not released again; a draw
    returned to an expired grant later (a voided invoice) is released by the next call."""
    released = []
    for grant_id in CreditGrant.objects.filter(expires_on__lte=on).values_list("pk", flat=True):
        with transaction.atomic():
            grant = CreditGrant.objects.select_for_update().select_related("customer").get(pk=grant_id)
            used = grant.applications.aggregate(s=Sum("amount"))["s"] or ZERO
            gone = grant.expiries.aggregate(s=Sum("amount"))["s"] or ZERO
            left = grant.amount - used - gone
            if left <= 0:
                continue
            lock_for_posting()  # before the audit: docs/architecture.md, "Lock order"
            expiry = CreditExpiry.objects.create(grant=grant, amount=left, expired_on=grant.expires_on)
            audit_record(
                actor=actor,
                action=AuditAction.CREDIT_GRANT_EXPIRED,
                obj=grant,
                changes={"released": left, "expired_on": grant.expires_on, "expiry": expiry.pk},
            )
            outbox_publish(
                topic="credit_grant.expired",
                obj=expiry,
                payload={
                    "grant": grant.pk,
                    "customer": grant.customer.external_id,
                    "currency": grant.currency,
                    "amount": left,
                    "expired_on": grant.expires_on,
                },
            )
            released.append(expiry)
    return released
