"""Postings of credit notes, payments and prepaid credits (their grants and expiries), one entry each,
inside the transaction that consumes their outbox event."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum

from billing.models import CreditExpiry, CreditGrant, CreditNote, InvoiceLine, Payment
from revops.money import round_money, stored_sum
from revrec.models import (
    JournalEntry,
    JournalLine,
)
from revrec.services.ledger import (
    Draft,
    account,
    journal_entry_post,
)
from revrec.services.obligations import obligation_for_invoice_line
from revrec.services.postings.common import ZERO, obligations_of


def recognized_to_date(po_ids) -> dict[int, Decimal]:
    rows = (
        JournalLine.objects.filter(
            account__role__in=["revenue", "revenue_sub"], obligation_id__in=list(po_ids)
        )
        .values("obligation_id")
        .annotate(c=Sum("credit"), d=Sum("debit"))
    )
    return {r["obligation_id"]: stored_sum(r["c"]) - stored_sum(r["d"]) for r in rows}


def billed_to_date(po_ids) -> dict[int, Decimal]:
    """Credits to deferred + unbilled from invoices, per PO (what has been billed)."""
    rows = (
        JournalLine.objects.filter(
            entry__source__in=["invoice", "reversal", "credit_note"],
            account__role__in=["deferred", "unbilled"],
            obligation_id__in=list(po_ids),
        )
        .values("obligation_id")
        .annotate(c=Sum("credit"), d=Sum("debit"))
    )
    return {r["obligation_id"]: stored_sum(r["c"]) - stored_sum(r["d"]) for r in rows}


def post_credit_note(note: CreditNote) -> JournalEntry | None:
    """Reverse the invoice's postings in proportion; the part already recognized goes to contra revenue."""
    note = CreditNote.objects.select_related("invoice", "invoice__contract").get(pk=note.pk)
    invoice, contract = note.invoice, note.invoice.contract
    obligations = obligations_of(contract)
    recognized = recognized_to_date([po.pk for po in obligations])
    billed = billed_to_date([po.pk for po in obligations])
    draft = Draft()
    draft.cr(account("ar"), note.total, contract=contract, memo=f"Credit note {note.number}")
    draft.dr(account("tax"), note.tax, contract=contract, memo="Tax credited")
    for cn_line in note.lines.select_related(
        "invoice_line", "invoice_line__contract_line", "invoice_line__product"
    ):
        line: InvoiceLine = cn_line.invoice_line
        po = obligation_for_invoice_line(line, obligations)
        share = ZERO
        if po is not None and billed.get(po.pk):
            share = min(Decimal(1), max(ZERO, recognized.get(po.pk, ZERO) / billed[po.pk]))
        contra = round_money(cn_line.amount * share, note.currency)
        kw = {"contract": contract, "obligation": po, "product": line.product, "memo": line.description[:300]}
        draft.dr(account("contra"), contra, **kw)
        draft.dr(account("deferred"), cn_line.amount - contra, **kw)
    return journal_entry_post(
        draft=draft,
        day=note.issue_date,
        source=JournalEntry.Source.CREDIT_NOTE,
        source_type="billing.creditnote",
        source_id=note.pk,
        source_key=f"credit_note:{note.pk}",
        memo=f"Credit note {note.number} on {invoice.number}",
        currency=note.currency,
        contract=contract,
    )


def post_payment(payment: Payment) -> JournalEntry | None:
    payment = Payment.objects.select_related("invoice", "invoice__contract").get(pk=payment.pk)
    draft = Draft()
    contract = payment.invoice.contract
    draft.dr(account("cash"), payment.amount, contract=contract, memo=f"Payment {payment.reference}".strip())
    draft.cr(account("ar"), payment.amount, contract=contract, memo=f"Invoice {payment.invoice.number}")
    return journal_entry_post(
        draft=draft,
        day=payment.date,
        source=JournalEntry.Source.PAYMENT,
        source_type="billing.payment",
        source_id=payment.pk,
        source_key=f"payment:{payment.pk}",
        memo=f"Payment on {payment.invoice.number}",
        currency=payment.currency,
        contract=contract,
    )


def _post_credit_movement(*, debit, credit, amount, grant, day, source, obj, memo) -> JournalEntry | None:
    """One two-line entry moving ``amount`` of a prepaid credit (its grant or its expiry)."""
    memo = memo[:300]
    draft = Draft()
    draft.dr(debit, amount, contract=grant.contract, memo=memo)
    draft.cr(credit, amount, contract=grant.contract, memo=memo)
    return journal_entry_post(
        draft=draft,
        day=day,
        source=source,
        source_type=f"{obj._meta.app_label}.{obj._meta.model_name}",
        source_id=obj.pk,
        source_key=f"{source.replace('_', '-')}:{obj.pk}",
        memo=memo,
        currency=grant.currency,
        contract=grant.contract,
    )


def post_credit_grant(grant: CreditGrant) -> JournalEntry | None:
    """A purchased prepaid credit is money the customer paid ahead: Dr cash, Cr prepaid customer
    credits (a liability) on the grant date. A goodwill credit is a concession nobody paid for: Dr
    4910 goodwill credits (contra revenue), Cr prepaid customer credits — never cash. Invoices that
    draw on either debit the liability (post_invoice), so the account's credit balance is what
    customers can still draw."""
    grant = CreditGrant.objects.select_related("customer", "contract").get(pk=grant.pk)
    goodwill = grant.kind == CreditGrant.Kind.GOODWILL
    what = "Goodwill credit" if goodwill else "Prepaid credits"
    return _post_credit_movement(
        debit=account("goodwill") if goodwill else account("cash"),
        credit=account("credits"),
        amount=grant.amount,
        grant=grant,
        day=grant.granted_on,
        source=JournalEntry.Source.CREDIT_GRANT,
        obj=grant,
        memo=f"{what} for {grant.customer.name}" + (f": {grant.reason}" if grant.reason else ""),
    )


def post_credit_expiry(expiry: CreditExpiry) -> JournalEntry | None:
    """Breakage: the unused part of an expired purchased credit can no longer be drawn, so the
    liability is released on the expiry date to breakage revenue (Dr prepaid customer credits, Cr 4800)
    — revenue of its own, outside the contracts' obligations and their deferred-revenue roll-forward.
    The unused part of an expired goodwill credit was never paid for: it reverses the concession (Dr
    prepaid customer credits, Cr 4910 goodwill credits), so the contra revenue is what was drawn."""
    expiry = CreditExpiry.objects.select_related("grant__customer", "grant__contract").get(pk=expiry.pk)
    goodwill = expiry.grant.kind == CreditGrant.Kind.GOODWILL
    return _post_credit_movement(
        debit=account("credits"),
        credit=account("goodwill") if goodwill else account("breakage"),
        amount=expiry.amount,
        grant=expiry.grant,
        day=expiry.expired_on,
        source=JournalEntry.Source.CREDIT_EXPIRY,
        obj=expiry,
        memo=f"Unused goodwill credit of {expiry.grant.customer.name} expired (concession reversed)"
        if goodwill
        else f"Unused prepaid credits of {expiry.grant.customer.name} expired (breakage)",
    )
