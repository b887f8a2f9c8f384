"""Invoice lifecycle: draft → finalized → paid / void, credit notes, payments.

Transitions are one guarded table; numbers come from the locked counter at finalization; the PDF is
rendered from the finalized invoice by a worker once the finalization has committed, and stored with
its SHA-256 (billing.documents.services); each step audits and announces itself on the outbox (the
hook revenue recognition and webhooks consume) in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from billing.documents.services import invoice_documents_queue
from billing.invoicing.build import invoice_refresh_draft
from billing.invoicing.credits import credit_balances
from billing.invoicing.numbering import counter_advance, counter_lock, next_number, number_format
from billing.invoicing.representation import invoice_data, invoice_data_many
from billing.invoicing.selectors import invoice_with_lines
from billing.models import (
    CreditApplication,
    CreditNote,
    CreditNoteLine,
    Invoice,
    Payment,
)
from billing.rating import draw_down_credits
from revops.books import lock_for_posting
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.core.outbox import outbox_publish, outbox_publish_many
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


@transaction.atomic
def invoice_finalize(*, invoice: Invoice, actor=None, now=None, issue_date: date | None = None) -> Invoice:
    """Refresh usage one last time, draw prepaid credits (after tax, oldest expiry first), take the next
    gapless number, announce ``invoice.finalized``. The PDF is rendered by a worker once this
    transaction commits (queued here; nothing is queued if it rolls back).

    A finalization run (billing.invoicing.finalization) does the same per invoice with the same
    steps below, a batch of drafts to a transaction.

    Locks in the documented order (docs/architecture.md, "Lock order"), as a batch takes them: the
    invoice, the counter, the accounting period — all before the refresh audits (the chain head). The
    issue date is read once the counter is held, so a higher number never carries an earlier date."""
    invoice = _lock(invoice)
    if invoice.status != Invoice.Status.DRAFT:
        raise InvalidTransition(f"Invoice {invoice.number or invoice.pk} is already {invoice.status}.")
    counter = counter_lock(legal_entity=invoice.legal_entity, series="invoice")
    issued = issue_date or timezone.localdate()
    lock_for_posting()
    invoice_refresh_draft(invoice=invoice, now=now, actor=actor)
    invoice = _lock(invoice)
    due_before_credits = finalize_draw_credits(invoice, issued=issued)
    sequence = counter.next_number
    counter_advance(counter, next_number=sequence + 1)
    number = number_format(legal_entity=invoice.legal_entity, series="invoice", sequence=sequence)
    finalize_issue(
        invoice,
        sequence=sequence,
        number=number,
        issued=issued,
        due_before_credits=due_before_credits,
        actor=actor,
    )
    invoice.save()
    invoice = invoice_with_lines(invoice.pk)
    audit_record(
        actor=actor, action=AuditAction.INVOICE_FINALIZED, obj=invoice, changes=finalized_changes(invoice)
    )
    finalize_announce(invoice)
    invoice_documents_queue([invoice.pk])
    return invoice


def finalize_draw_credits(invoice: Invoice, *, issued: date, has_grants: bool = True) -> Decimal:
    """Draw the customer's prepaid credits against the draft (after tax, oldest expiry first); returns
    what was due before credits. ``has_grants=False`` (the caller knows the customer has no grant in
    the currency) skips the lookup."""
    due_before_credits = invoice.subtotal + invoice.tax
    if due_before_credits > 0 and has_grants:
        draws, _remaining = draw_down_credits(
            due_before_credits,
            credit_balances(invoice.customer, currency=invoice.currency, on=issued),
            currency=invoice.currency,
        )
        for grant_id, amount in draws:
            CreditApplication.objects.create(grant_id=grant_id, invoice=invoice, amount=amount)
        invoice.credits_applied = sum((amount for _gid, amount in draws), ZERO)
    return due_before_credits


def finalize_issue(
    invoice: Invoice, *, sequence: int, number: str, issued: date, due_before_credits: Decimal, actor=None
) -> None:
    """Number and date the draft, set its total after credits; a total of zero or less (credits covered
    it) is paid at once. The caller saves."""
    transition(invoice, "finalize")
    invoice.sequence, invoice.number = sequence, number
    invoice.issue_date = issued
    invoice.due_date = issued + timedelta(days=PAYMENT_TERMS_DAYS)
    invoice.finalized_at = timezone.now()
    invoice.finalized_by = actor if getattr(actor, "pk", None) else None
    invoice.total = invoice.subtotal + invoice.tax - invoice.credits_applied
    if invoice.total <= 0 and due_before_credits >= 0:
        invoice.status = Invoice.Status.PAID
        invoice.paid_at = invoice.finalized_at
    finalize_snapshot_parties(invoice)


# What finalizing copies onto the invoice for its document: (invoice field, related row, its field).
PARTY_FIELDS = (
    ("issuer_name", "legal_entity", "name"),
    ("issuer_address", "legal_entity", "address"),
    ("issuer_tax_id", "legal_entity", "tax_id"),
    ("bill_to_name", "customer", "name"),
    ("bill_to_address", "customer", "address"),
    ("bill_to_email", "customer", "email"),
    ("bill_to_external_id", "customer", "external_id"),
)


def finalize_snapshot_parties(invoice: Invoice) -> None:
    """Copy the issuer's and the customer's details onto the invoice as they are now (the document
    prints these). Reads ``invoice.legal_entity`` and ``invoice.customer``: the callers have them
    loaded (no query per invoice in a batch)."""
    for name, relation, field in PARTY_FIELDS:
        setattr(invoice, name, getattr(getattr(invoice, relation), field))


def finalized_changes(invoice: Invoice) -> dict:
    """What the ``invoice.finalized`` audit event records."""
    return {
        "number": invoice.number,
        "total": invoice.total,
        "tax": invoice.tax,
        "credits_applied": invoice.credits_applied,
    }


def finalize_announce(invoice: Invoice) -> None:
    """``invoice.finalized`` (and ``invoice.paid`` when credits paid it) on the outbox; the ledger posts
    the invoice inline, in the caller's transaction. ``invoice`` has its lines loaded."""
    finalize_announce_many([invoice])


def finalize_announce_many(invoices: list[Invoice], *, payloads: list[dict] | None = None) -> None:
    """:func:`finalize_announce` for a batch of invoices: one ``outbox_publish_many`` per topic (the
    ledger posts them together, see revrec.services.postings.invoices.post_invoices). ``payloads``:
    the invoices' ``invoice_data`` when the caller has them already."""
    if payloads is None:
        payloads = invoice_data_many(invoices)
    outbox_publish_many(topic="invoice.finalized", objs=invoices, payloads=payloads)
    paid = [invoice for invoice in invoices if invoice.status == Invoice.Status.PAID]
    outbox_publish_many(topic="invoice.paid", objs=paid, payloads=invoice_data_many(paid, lines=False))


# The columns finalizing sets (finalize_draw_credits, finalize_issue), written for a batch at once.
FINALIZED_COLUMNS = (
    ("status", "text"),
    ("sequence", "bigint"),
    ("number", "text"),
    ("issue_date", "date"),
    ("due_date", "date"),
    ("finalized_at", "timestamptz"),
    ("finalized_by_id", "bigint"),
    ("total", "numeric"),
    ("credits_applied", "numeric"),
    ("paid_at", "timestamptz"),
    *((name, "text") for name, _relation, _field in PARTY_FIELDS),
)


def invoices_save_finalized(invoices: list[Invoice]) -> None:
    """Write what finalizing set on ``invoices`` with one UPDATE (``… FROM unnest`` on PostgreSQL,
    ``bulk_update`` elsewhere), ``updated_at`` included, instead of a full-row save per invoice."""
    if not invoices:
        return
    now = timezone.now()
    for invoice in invoices:
        invoice.updated_at = now
    names = [name for name, _kind in FINALIZED_COLUMNS]
    if connection.vendor != "postgresql":
        Invoice.objects.bulk_update(invoices, [*names, "updated_at"])
        return
    table = connection.ops.quote_name(Invoice._meta.db_table)
    arrays = ", ".join(f"%s::{kind}[]" for _name, kind in FINALIZED_COLUMNS)
    sets = ", ".join(f"{name} = u.{name}" for name in names)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS i SET {sets}, updated_at = %s "  # noqa: S608 - names are ours
            f"FROM unnest(%s::bigint[], {arrays}) AS u (id, {', '.join(names)}) WHERE i.id = u.id",
            [
                now,
                [inv.pk for inv in invoices],
                *([getattr(inv, name) for inv in invoices] for name in names),
            ],
        )


@transaction.atomic
def invoice_void(*, invoice: Invoice, reason: str = "", actor=None, approval=None) -> Invoice:
    """Void a finalized, unpaid invoice. It keeps its number (no gap) and its audit trail; prepaid
    credits it drew are given back (reversing rows, nothing deleted). The apply step of an approved
    ``invoice_void`` request (billing.invoicing.reversals): callers ask through ``invoice_void_request``."""
    invoice = _lock(invoice)
    if invoice.amount_paid > 0:
        raise Conflict("A paid or partly paid invoice cannot be voided; issue a credit note instead.")
    before = transition(invoice, "void")
    lock_for_posting()  # before the audit: docs/architecture.md, "Lock order"
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
        action=AuditAction.INVOICE_VOIDED,
        obj=invoice,
        changes={
            "number": invoice.number,
            "status": {"from": before, "to": invoice.status},
            "reason": reason,
            **({"approval": approval.pk} if approval is not None else {}),
        },
    )
    outbox_publish(topic="invoice.voided", obj=invoice, payload=invoice_data(invoice, lines=False))
    return invoice


@transaction.atomic
def payment_record(
    *, invoice: Invoice, amount, paid_on, reference: str = "", actor=None, expected_paid=None
) -> Payment:
    """Record a payment received. ``expected_paid`` (the invoice's amount paid as the person confirming
    saw it) makes the call conditional: if other payments were recorded since — a replayed or doubled
    confirmation — nothing is recorded (409)."""
    invoice = _lock(invoice)
    if expected_paid is not None and invoice.amount_paid != expected_paid:
        raise Conflict(
            f"Payments on {invoice.number} changed since this payment was confirmed (paid "
            f"{round_money(invoice.amount_paid, invoice.currency)} {invoice.currency}, not "
            f"{round_money(expected_paid, invoice.currency)}): nothing was recorded. Check the invoice's "
            "payments before recording it again."
        )
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
    lock_for_posting()  # before the audit: docs/architecture.md, "Lock order"
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
        action=AuditAction.PAYMENT_RECORDED,
        obj=payment,
        changes={"invoice": invoice.number, "amount": value, "date": paid_on, "reference": reference},
    )
    outbox_publish(
        topic="payment.received",
        obj=payment,
        payload={"invoice": invoice.pk, "amount": str(value), "currency": invoice.currency, "date": paid_on},
    )
    if invoice.status == Invoice.Status.PAID:
        audit_record(
            actor=actor, action=AuditAction.INVOICE_PAID, obj=invoice, changes={"number": invoice.number}
        )
        outbox_publish(topic="invoice.paid", obj=invoice, payload=invoice_data(invoice, lines=False))
    return payment


@dataclass(frozen=True)
class CreditNoteDraft:
    """What a credit note would credit: the (line, amount) pairs, the subtotal, the tax and the total."""

    lines: list
    subtotal: Decimal
    tax: Decimal

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.tax


def credit_note_preview(*, invoice: Invoice, lines: list, reason: str) -> CreditNoteDraft:
    """Check a credit note as :func:`credit_note_create` would, and compute its totals with tax,
    without issuing anything (the confirmation step shows them)."""
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
    return CreditNoteDraft(lines=wanted, subtotal=subtotal, tax=tax)


@transaction.atomic
def credit_note_create(
    *, invoice: Invoice, lines: list, reason: str, actor=None, approval=None
) -> CreditNote:
    """Credit part or all of a finalized (or paid) invoice, per line; tax follows in proportion. The
    apply step of an approved ``credit_note`` request (billing.invoicing.reversals): callers ask
    through ``credit_note_request``."""
    invoice = _lock(invoice)
    checked = credit_note_preview(invoice=invoice, lines=lines, reason=reason)
    wanted, subtotal, tax = checked.lines, checked.subtotal, checked.tax
    rate = invoice.tax_rate / Decimal(100)
    sequence, number = next_number(legal_entity=invoice.legal_entity, series="credit_note")
    issued = timezone.localdate()  # read with the counter held: numbers and dates rise together
    lock_for_posting()  # counter, then period, then (the audit) chain head: docs/architecture.md
    note = CreditNote.objects.create(
        invoice=invoice,
        number=number,
        currency=invoice.currency,
        reason=reason,
        subtotal=subtotal,
        tax=tax,
        total=subtotal + tax,
        issue_date=issued,
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
        action=AuditAction.CREDIT_NOTE_ISSUED,
        obj=note,
        changes={
            "invoice": invoice.number,
            "number": number,
            "total": note.total,
            "reason": reason,
            "lines": [{"invoice_line": ln.pk, "amount": a} for ln, a in wanted],
            **({"approval": approval.pk} if approval is not None else {}),
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
