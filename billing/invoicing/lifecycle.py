"""Invoice lifecycle: draft → finalized → paid / void, credit notes, payments, prepaid credits.

Transitions are one guarded table; numbers come from the locked counter at finalization; the PDF is
rendered once at finalization and stored with its SHA-256; each step audits and announces itself on
the outbox (the hook revenue recognition and webhooks consume) in the same transaction."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from billing.invoicing.build import invoice_refresh_draft
from billing.invoicing.numbering import next_number
from billing.invoicing.selectors import invoice_payload, invoice_with_lines
from billing.models import (
    CouponRedemption,
    CreditApplication,
    CreditExpiry,
    CreditGrant,
    CreditNote,
    CreditNoteLine,
    Invoice,
    Payment,
)
from billing.rating import CreditBalance, draw_down_credits
from compliance.audit import audit_record
from revops.core.outbox import outbox_publish
from revops.dates import parse_date
from revops.errors import Conflict, FieldError, InvalidTransition, ValidationFailed
from revops.money import MoneyError, parse_decimal, round_money

ZERO = Decimal(0)
PAYMENT_TERMS_DAYS = 30

TRANSITIONS = {
    "finalize": ({Invoice.Status.DRAFT}, Invoice.Status.FINALIZED),
    "void": ({Invoice.Status.FINALIZED}, Invoice.Status.VOID),
    "pay": ({Invoice.Status.FINALIZED}, Invoice.Status.PAID),
}


def transition(invoice: Invoice, action: str) -> str:
    allowed, target = TRANSITIONS[action]
    if invoice.status not in allowed:
        raise InvalidTransition(
            f"A {invoice.get_status_display().lower()} invoice cannot be {action.rstrip('e')}ed."
            if action != "pay"
            else f"A {invoice.get_status_display().lower()} invoice cannot be paid."
        )
    before = invoice.status
    invoice.status = target
    return before


def _lock(invoice: Invoice) -> Invoice:
    return (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("customer", "legal_entity", "contract")
        .get(pk=invoice.pk)
    )


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


@transaction.atomic
def invoice_finalize(*, invoice: Invoice, actor=None, now=None, issue_date: date | None = None) -> Invoice:
    """Refresh usage one last time, draw prepaid credits (after tax, oldest expiry first), take the next
    gapless number, render and store the PDF, announce ``invoice.finalized``."""
    invoice = _lock(invoice)
    if invoice.status != Invoice.Status.DRAFT:
        raise InvalidTransition(f"Invoice {invoice.number or invoice.pk} is already {invoice.status}.")
    invoice_refresh_draft(invoice=invoice, now=now, actor=actor)
    invoice = _lock(invoice)
    transition(invoice, "finalize")
    issued = issue_date or timezone.localdate()
    due_before_credits = invoice.subtotal + invoice.tax
    if due_before_credits > 0:
        draws, _remaining = draw_down_credits(
            due_before_credits,
            credit_balances(invoice.customer, currency=invoice.currency, on=issued),
            currency=invoice.currency,
        )
        for grant_id, amount in draws:
            CreditApplication.objects.create(grant_id=grant_id, invoice=invoice, amount=amount)
        invoice.credits_applied = sum((amount for _gid, amount in draws), ZERO)
    invoice.sequence, invoice.number = next_number(legal_entity=invoice.legal_entity, series="invoice")
    invoice.issue_date = issued
    invoice.due_date = issued + timedelta(days=PAYMENT_TERMS_DAYS)
    invoice.finalized_at = timezone.now()
    invoice.finalized_by = actor if getattr(actor, "pk", None) else None
    invoice.total = invoice.subtotal + invoice.tax - invoice.credits_applied
    if invoice.total <= 0 and due_before_credits >= 0:
        invoice.status = Invoice.Status.PAID
        invoice.paid_at = invoice.finalized_at
    invoice.save()
    from billing.documents.storage import store_invoice_pdf

    invoice = invoice_with_lines(invoice.pk)
    invoice.pdf_path, invoice.pdf_sha256 = store_invoice_pdf(invoice)
    invoice.save(update_fields=["pdf_path", "pdf_sha256"])
    audit_record(
        actor=actor,
        action="invoice.finalized",
        obj=invoice,
        changes={
            "number": invoice.number,
            "total": invoice.total,
            "tax": invoice.tax,
            "credits_applied": invoice.credits_applied,
            "pdf_sha256": invoice.pdf_sha256,
        },
    )
    outbox_publish(topic="invoice.finalized", obj=invoice, payload=invoice_payload(invoice))
    if invoice.status == Invoice.Status.PAID:
        outbox_publish(topic="invoice.paid", obj=invoice, payload=invoice_payload(invoice, lines=False))
    return invoice


@transaction.atomic
def invoice_void(*, invoice: Invoice, reason: str = "", actor=None) -> Invoice:
    """Void a finalized, unpaid invoice. It keeps its number (no gap) and its audit trail; prepaid
    credits it drew are given back (reversing rows, nothing deleted)."""
    invoice = _lock(invoice)
    if invoice.amount_paid > 0:
        raise Conflict("A paid or partly paid invoice cannot be voided; issue a credit note instead.")
    before = transition(invoice, "void")
    for application in invoice.credit_applications.all():
        if application.amount > 0:
            CreditApplication.objects.create(
                grant=application.grant, invoice=invoice, amount=-application.amount
            )
    invoice.voided_at = timezone.now()
    invoice.void_reason = reason[:300]
    invoice.save(update_fields=["status", "voided_at", "void_reason"])
    audit_record(
        actor=actor,
        action="invoice.voided",
        obj=invoice,
        changes={
            "number": invoice.number,
            "status": {"from": before, "to": invoice.status},
            "reason": reason,
        },
    )
    outbox_publish(topic="invoice.voided", obj=invoice, payload=invoice_payload(invoice, lines=False))
    return invoice


@transaction.atomic
def payment_record(*, invoice: Invoice, amount, paid_on, reference: str = "", actor=None) -> Payment:
    invoice = _lock(invoice)
    errors: list[FieldError] = []
    try:
        value = parse_decimal(amount, field="amount")
    except MoneyError as exc:
        raise ValidationFailed(str(exc), field="amount")
    if value <= 0:
        errors.append(FieldError("amount", "A payment amount must be positive."))
    elif round_money(value, invoice.currency) != value:
        errors.append(
            FieldError("amount", f"{invoice.currency} amounts have at most its minor-unit decimals.")
        )
    elif value > invoice.balance_due:
        errors.append(
            FieldError(
                "amount",
                f"The balance due is {round_money(invoice.balance_due, invoice.currency)} {invoice.currency}; "
                "overpayments are not accepted.",
            )
        )
    if invoice.status != Invoice.Status.FINALIZED:
        raise InvalidTransition(f"Payments apply to finalized invoices; this one is {invoice.status}.")
    if errors:
        raise ValidationFailed(errors[0].message, errors=errors)
    paid_on = parse_date(paid_on, field="date")
    if paid_on > timezone.localdate():
        raise ValidationFailed(
            f"A payment cannot be received in the future ({paid_on.isoformat()} is after today).",
            field="date",
        )
    payment = Payment.objects.create(
        invoice=invoice,
        amount=value,
        currency=invoice.currency,
        date=paid_on,
        reference=reference,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    invoice.amount_paid += value
    fields = ["amount_paid"]
    if invoice.balance_due <= 0:
        transition(invoice, "pay")
        invoice.paid_at = timezone.now()
        fields += ["status", "paid_at"]
    invoice.save(update_fields=fields)
    audit_record(
        actor=actor,
        action="payment.recorded",
        obj=payment,
        changes={"invoice": invoice.number, "amount": value, "date": paid_on, "reference": reference},
    )
    outbox_publish(
        topic="payment.received",
        obj=payment,
        payload={"invoice": invoice.pk, "amount": str(value), "currency": invoice.currency, "date": paid_on},
    )
    if invoice.status == Invoice.Status.PAID:
        audit_record(actor=actor, action="invoice.paid", obj=invoice, changes={"number": invoice.number})
        outbox_publish(topic="invoice.paid", obj=invoice, payload=invoice_payload(invoice, lines=False))
    return payment


@transaction.atomic
def credit_note_create(*, invoice: Invoice, lines: list, reason: str, actor=None) -> CreditNote:
    """Credit part or all of a finalized (or paid) invoice, per line; tax follows in proportion."""
    invoice = _lock(invoice)
    if invoice.status not in (Invoice.Status.FINALIZED, Invoice.Status.PAID):
        raise InvalidTransition("Credit notes apply to finalized or paid invoices.")
    errors: list[FieldError] = []
    if not reason or not str(reason).strip():
        errors.append(FieldError("reason", "Say why the invoice is credited."))
    if not isinstance(lines, list) or not lines:
        errors.append(FieldError("lines", "List the invoice lines to credit."))
        lines = []
    by_id = {ln.pk: ln for ln in invoice.lines.all()}
    wanted = []
    for i, entry in enumerate(lines):
        line = by_id.get(entry.get("invoice_line")) if isinstance(entry, dict) else None
        if line is None:
            errors.append(FieldError(f"lines[{i}].invoice_line", "Not a line of this invoice."))
            continue
        try:
            amount = parse_decimal(entry.get("amount", line.amount), field="amount")
        except MoneyError as exc:
            errors.append(FieldError(f"lines[{i}].amount", str(exc).split(": ", 1)[-1]))
            continue
        already = line.credit_note_lines.aggregate(s=Sum("amount"))["s"] or ZERO
        if amount <= 0:
            errors.append(FieldError(f"lines[{i}].amount", "Must be positive."))
        elif round_money(amount, invoice.currency) != amount:
            errors.append(FieldError(f"lines[{i}].amount", "Too many decimals for the currency."))
        elif amount > line.amount - already:
            errors.append(
                FieldError(
                    f"lines[{i}].amount",
                    f"At most {round_money(line.amount - already, invoice.currency)} can still be credited on this line.",
                )
            )
        else:
            wanted.append((line, amount))
    if errors:
        raise ValidationFailed(errors[0].message, errors=errors)
    rate = invoice.tax_rate / Decimal(100)
    subtotal = sum((a for _ln, a in wanted), ZERO)
    tax = round_money(sum((a for ln, a in wanted if ln.taxable), ZERO) * rate, invoice.currency)
    sequence, number = next_number(legal_entity=invoice.legal_entity, series="credit_note")
    note = CreditNote.objects.create(
        invoice=invoice,
        number=number,
        currency=invoice.currency,
        reason=reason,
        subtotal=subtotal,
        tax=tax,
        total=subtotal + tax,
        issue_date=timezone.localdate(),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    for line, amount in wanted:
        CreditNoteLine.objects.create(
            credit_note=note,
            invoice_line=line,
            amount=amount,
            tax=round_money(amount * rate, invoice.currency) if line.taxable else ZERO,
        )
    invoice.amount_credited += note.total
    invoice.save(update_fields=["amount_credited"])
    audit_record(
        actor=actor,
        action="credit_note.issued",
        obj=note,
        changes={
            "invoice": invoice.number,
            "number": number,
            "total": note.total,
            "reason": reason,
            "lines": [{"invoice_line": ln.pk, "amount": a} for ln, a in wanted],
        },
    )
    outbox_publish(
        topic="credit_note.issued",
        obj=note,
        payload={
            "credit_note": note.pk,
            "number": number,
            "invoice": invoice.pk,
            "currency": invoice.currency,
            "subtotal": str(subtotal),
            "tax": str(tax),
            "total": str(note.total),
            "lines": [{"invoice_line": ln.pk, "amount": str(a)} for ln, a in wanted],
        },
    )
    return note


GOODWILL_KIND = "goodwill_credit"
PURCHASED_KIND = "purchased_credit"
# Every credit grant is a money lever (issue 12.4): each kind waits for an approver other than the
# requester. A purchased credit is cash received: it names the payment that backs it
# (``payment_reference``), which the approver verifies against the bank before approving.
GRANT_APPROVAL_KINDS = {CreditGrant.Kind.PURCHASED: PURCHASED_KIND, CreditGrant.Kind.GOODWILL: GOODWILL_KIND}
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
    audit_record(actor=actor, action="credit_grant.created", obj=grant, changes=changes)
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
    from compliance.approvals import approval_request
    from compliance.models import Approval

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
        action=f"credit_grant.{kind}_requested",
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
            expiry = CreditExpiry.objects.create(grant=grant, amount=left, expired_on=grant.expires_on)
            audit_record(
                actor=actor,
                action="credit_grant.expired",
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


@transaction.atomic
def coupon_apply(*, coupon, contract, applied_from: date, actor=None) -> CouponRedemption:
    if CouponRedemption.objects.filter(coupon=coupon, contract=contract).exists():
        raise Conflict(f"Coupon {coupon.code} is already applied to {contract.number}.")
    redemption = CouponRedemption.objects.create(coupon=coupon, contract=contract, applied_from=applied_from)
    audit_record(
        actor=actor,
        action="coupon.applied",
        obj=redemption,
        changes={"coupon": coupon.code, "contract": contract.number, "applied_from": applied_from},
    )
    return redemption
