"""Credit notes and voids of finalized invoices are money levers that move revenue (a credit note posts
contra revenue; a void reverses the invoice's posting), so one person only *asks* for them: the
request (revops.core.approvals, maker-checker) holds exactly what approving applies — the credit
note's lines, tax and total, or the invoice and what its void reverses — and an approver other than
the requester applies it (``credit_note_create`` / ``invoice_void``) in the approving transaction.
The credit note's number, its document and ``credit_note.issued`` / ``invoice.voided`` exist only then.

A request is bound (SHA-256, by the engine) to the payload and to the invoice's terms (number,
currency, tax rate, lines and totals): if those change before the decision, the request is voided and
replaced (409 ``approval-content-changed``). What may legitimately move meanwhile — a payment, another
credit, a void — is re-validated when approving: 409, nothing applied. One pending request per invoice
(credit note or void); asking again while one waits is 409. Voiding a draft is not a request (a draft
has no number and posted nothing)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import Sum

from billing.models import Invoice
from revops.errors import Conflict, InvalidTransition, ValidationFailed
from revops.money import round_money

CREDIT_NOTE_KIND = "credit_note"
VOID_KIND = "invoice_void"
KINDS = (CREDIT_NOTE_KIND, VOID_KIND)
ZERO = Decimal("0")


def _m(value, currency: str) -> str:
    return str(round_money(value, currency))


def pending_for(invoice: Invoice):
    from revops.core.approvals.models import Approval

    return (
        Approval.objects.select_related("requested_by")
        .filter(
            kind__in=KINDS,
            object_type=Invoice._meta.label_lower,
            object_id=str(invoice.pk),
            status=Approval.Status.PENDING,
        )
        .order_by("id")
        .first()
    )


def _refuse_second(invoice: Invoice) -> None:
    pending = pending_for(invoice)
    if pending is not None:
        what = "A credit note" if pending.kind == CREDIT_NOTE_KIND else "A void"
        raise Conflict(
            f"{what} of {invoice.number} already waits for approval (#{pending.pk}); "
            "withdraw it or wait for the decision before asking again."
        )


def invoice_terms(invoice: Invoice) -> dict:
    """The invoice as approving reads it (bound into the request's hash): if any of this changes
    before the decision, the request is voided and replaced."""
    lines = sorted(invoice.lines.all(), key=lambda ln: ln.pk)
    return {
        "invoice": invoice.pk,
        "number": invoice.number,
        "customer": invoice.customer_id,
        "currency": invoice.currency,
        "tax_rate": str(invoice.tax_rate),
        "subtotal": str(invoice.subtotal),
        "discount": str(invoice.discount),
        "tax": str(invoice.tax),
        "credits_applied": str(invoice.credits_applied),
        "total": str(invoice.total),
        "lines": [{"id": ln.pk, "amount": str(ln.amount), "taxable": ln.taxable} for ln in lines],
    }


def _content(approval) -> dict:
    invoice = Invoice.objects.get(pk=int(approval.object_id))
    return invoice_terms(invoice)


def _head(invoice: Invoice) -> dict:
    return {
        "invoice": invoice.pk,
        "invoice_number": invoice.number,
        "customer": invoice.customer.external_id,
        "customer_name": invoice.customer.name,
        "currency": invoice.currency,
        "invoice_total": _m(invoice.total, invoice.currency),
    }


@transaction.atomic
def credit_note_request(*, invoice: Invoice, lines: list, reason: str, actor=None):
    """Ask for a credit note: checked as issuing it would be (422 for a bad line or amount), nothing
    issued, numbered or posted. Returns the pending approval (kind ``credit_note``)."""
    from billing.invoicing.lifecycle import credit_note_preview
    from revops.core.approvals.services import approval_request

    invoice = Invoice.objects.select_for_update().select_related("customer").get(pk=invoice.pk)
    draft = credit_note_preview(invoice=invoice, lines=lines, reason=reason)
    _refuse_second(invoice)
    c = invoice.currency
    rate = invoice.tax_rate / Decimal(100)
    credited = dict(
        invoice.lines.values("pk").annotate(s=Sum("credit_note_lines__amount")).values_list("pk", "s")
    )
    rows = []
    for line, amount in draft.lines:
        before = line.amount - (credited.get(line.pk) or ZERO)
        rows.append(
            {
                "invoice_line": line.pk,
                "description": line.description,
                "line_amount": _m(line.amount, c),
                "creditable_before": _m(before, c),
                "amount": _m(amount, c),
                "creditable_after": _m(before - amount, c),
                "tax": str(round_money(amount * rate, c) if line.taxable else ZERO),
            }
        )
    payload = {
        "action": "credit_note",
        **_head(invoice),
        "reason": reason,
        "lines": rows,
        "subtotal": _m(draft.subtotal, c),
        "tax": _m(draft.tax, c),
        "total": _m(draft.total, c),
        "credited_before": _m(invoice.amount_credited, c),
        "credited_after": _m(invoice.amount_credited + draft.total, c),
        "revenue_effect": (
            f"Reverses {_m(draft.subtotal, c)} {c} of the invoice's revenue (the part already "
            f"recognized to contra revenue), {_m(draft.tax, c)} {c} of tax; receivable down "
            f"{_m(draft.total, c)} {c}"
        ),
    }
    return approval_request(
        kind=CREDIT_NOTE_KIND,
        obj=invoice,
        summary=(
            f"Credit note of {_m(draft.total, c)} {c} on {invoice.number} for {invoice.customer.name}: {reason}"
        ),
        payload=payload,
        requested_by=actor,
    )


@transaction.atomic
def invoice_void_request(*, invoice: Invoice, reason: str = "", actor=None):
    """Ask to void a finalized, unpaid invoice: nothing changes until approved. Returns the pending
    approval (kind ``invoice_void``). A draft is not voided through a request (409 as before)."""
    from revops.core.approvals.services import approval_request

    invoice = Invoice.objects.select_for_update().select_related("customer").get(pk=invoice.pk)
    _check_voidable(invoice)
    _refuse_second(invoice)
    c = invoice.currency
    credits_back = invoice.credit_applications.aggregate(s=Sum("amount"))["s"] or ZERO
    payload = {
        "action": "void",
        **_head(invoice),
        "issue_date": str(invoice.issue_date) if invoice.issue_date else None,
        "subtotal": _m(invoice.subtotal, c),
        "discount": _m(invoice.discount, c),
        "tax": _m(invoice.tax, c),
        "credits_returned": _m(credits_back, c),
        "reason": reason,
        "revenue_effect": (
            f"Reverses the invoice's whole posting: revenue and deferred revenue "
            f"{_m(invoice.subtotal, c)} {c} less discount {_m(invoice.discount, c)} {c}, tax "
            f"{_m(invoice.tax, c)} {c}, receivable {_m(invoice.total, c)} {c}; "
            f"{_m(credits_back, c)} {c} of prepaid credits given back"
        ),
    }
    return approval_request(
        kind=VOID_KIND,
        obj=invoice,
        summary=f"Void {invoice.number} ({_m(invoice.total, c)} {c}) of {invoice.customer.name}: {reason}",
        payload=payload,
        requested_by=actor,
    )


def _check_voidable(invoice: Invoice) -> None:
    if invoice.status != Invoice.Status.FINALIZED:
        raise InvalidTransition(f"Only a finalized invoice can be voided; this one is {invoice.status}.")
    if invoice.amount_paid > 0:
        raise Conflict("A paid or partly paid invoice cannot be voided; issue a credit note instead.")


def _requester(approval):
    return approval.requested_by or "system"


def _credit_note_approved(approval, user) -> None:
    """Issue exactly the requested credit note (re-validated: 409 and nothing applied when the
    invoice was voided or credited meanwhile)."""
    from billing.invoicing.lifecycle import credit_note_create

    payload = approval.payload or {}
    invoice = Invoice.objects.select_for_update().get(pk=int(approval.object_id))
    lines = [{"invoice_line": r["invoice_line"], "amount": r["amount"]} for r in payload.get("lines", [])]
    try:
        note = credit_note_create(
            invoice=invoice,
            lines=lines,
            reason=payload.get("reason", ""),
            actor=_requester(approval),
            approval=approval,
        )
    except (ValidationFailed, InvalidTransition) as exc:
        raise Conflict(
            f"{invoice.number} changed since the credit note was requested ({exc}); nothing was "
            "issued. Reject this request and ask again."
        ) from exc
    if _m(note.total, note.currency) != payload.get("total"):
        raise Conflict(
            f"The credit note would now total {note.total}, not the requested {payload.get('total')}; "
            "nothing was issued. Reject this request and ask again."
        )


def _void_approved(approval, user) -> None:
    from billing.invoicing.lifecycle import invoice_void

    payload = approval.payload or {}
    invoice = Invoice.objects.select_for_update().get(pk=int(approval.object_id))
    try:
        _check_voidable(invoice)
    except (Conflict, InvalidTransition) as exc:
        raise Conflict(
            f"{invoice.number} can no longer be voided ({exc}); nothing was applied. Reject this request."
        ) from exc
    invoice_void(
        invoice=invoice, reason=payload.get("reason", ""), actor=_requester(approval), approval=approval
    )


def reversal_previews(approvals) -> dict[int, dict]:
    """The approval queue's card: customer, invoice, lines before → after, amounts, revenue effect."""
    return {a.pk: dict(a.payload or {}, kind=a.kind) for a in approvals}


def ready() -> None:
    from revops.core.approvals.registry import register_approval_kind, register_approval_preview

    register_approval_kind(
        CREDIT_NOTE_KIND, on_approved=_credit_note_approved, label="Credit note", content=_content
    )
    register_approval_kind(
        VOID_KIND, on_approved=_void_approved, label="Void of a finalized invoice", content=_content
    )
    for kind in KINDS:
        register_approval_preview(
            kind, build=reversal_previews, template="billing/_approval_preview_reversal.html"
        )
