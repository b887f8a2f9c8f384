"""Taking back a recorded payment (issue 16 §2): a bounced transfer or a payment recorded on the wrong
invoice is reversed, never edited or deleted.

The reversal is appended (a :class:`~billing.models.PaymentReversal`, at most one per payment); the
invoice's amount paid goes down by the payment and a paid invoice is due again; the audit event and
the ``payment.reversed`` announcement are written in the same transaction, and the ledger consumes it
there too: a reversing entry Dr AR / Cr Cash (revrec.services.payment_reversals). The reversal is
dated the day it is recorded; the ledger never posts it into a closed period (accounting.md §9)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from billing.models import Invoice, Payment, PaymentReversal
from revops.books import lock_for_posting
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.core.filters import BIGINT_MAX
from revops.core.outbox import outbox_publish
from revops.errors import Conflict, NotFound, ValidationFailed
from revops.formatting import plain_money

REASON_MAX = 300


class PaymentAlreadyReversed(Conflict):
    slug = "payment-already-reversed"
    title = "Payment already reversed"


def payment_of_invoice(*, invoice_id: int, payment_id: int) -> Payment:
    """The payment ``payment_id`` recorded on invoice ``invoice_id`` (404 when it is not one of its)."""
    ids = (int(invoice_id), int(payment_id))
    in_range = all(0 < value <= BIGINT_MAX for value in ids)
    payment = Payment.objects.filter(pk=ids[1], invoice_id=ids[0]).first() if in_range else None
    if payment is None:
        raise NotFound(f"Invoice {invoice_id} has no payment {payment_id}.")
    return payment


@transaction.atomic
def payment_reverse(*, payment: Payment, reason: str, actor=None) -> PaymentReversal:
    """Reverse ``payment`` (see the module doc). Refused: a blank reason (400), a payment reversed
    before (409 ``payment-already-reversed``), an invoice that is neither finalized nor paid (409)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Say why the payment is reversed (e.g. the transfer bounced).", field="reason")
    if len(reason) > REASON_MAX:
        raise ValidationFailed(f"At most {REASON_MAX} characters.", field="reason")
    invoice = (
        Invoice.objects.select_for_update(of=("self",)).select_related("customer").get(pk=payment.invoice_id)
    )
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    earlier = PaymentReversal.objects.filter(payment=payment).first()
    if earlier is not None:
        raise PaymentAlreadyReversed(
            f"This payment of {plain_money(payment.amount, payment.currency)} {payment.currency} was already reversed on "
            f"{earlier.date.isoformat()}; a payment is reversed at most once."
        )
    if invoice.status not in (Invoice.Status.FINALIZED, Invoice.Status.PAID):
        raise Conflict(f"Payments of a {invoice.get_status_display().lower()} invoice cannot be reversed.")
    lock_for_posting()  # before the audit: docs/architecture.md, "Lock order"
    reversal = PaymentReversal.objects.create(
        payment=payment,
        invoice=invoice,
        amount=payment.amount,
        currency=payment.currency,
        date=timezone.localdate(),
        reason=reason,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    before = invoice.status
    invoice.amount_paid -= payment.amount
    fields = ["amount_paid"]
    if invoice.status == Invoice.Status.PAID and invoice.balance_due > 0:
        invoice.status, invoice.paid_at = Invoice.Status.FINALIZED, None
        fields += ["status", "paid_at"]
    invoice.save(update_fields=fields)
    audit_record(
        actor=actor,
        action=AuditAction.PAYMENT_REVERSED,
        obj=payment,
        changes={
            "invoice": invoice.number,
            "amount": payment.amount,
            "reversed_on": reversal.date,
            "reason": reason,
            "amount_paid": {"from": invoice.amount_paid + payment.amount, "to": invoice.amount_paid},
            **({"status": {"from": before, "to": invoice.status}} if before != invoice.status else {}),
        },
    )
    outbox_publish(
        topic="payment.reversed",
        obj=reversal,
        payload={
            "invoice": invoice.pk,
            "payment": payment.pk,
            "amount": str(payment.amount),
            "currency": payment.currency,
            "date": reversal.date,
        },
    )
    return reversal
