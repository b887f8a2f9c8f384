"""The credit-note page of an invoice: one amount per line, asked for through ``credit_note_request``
(issued by ``credit_note_create`` when an approver other than the requester approves)."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from billing.invoicing import lifecycle, reversals
from billing.invoicing.forms import CreditNoteForm
from billing.models import CreditNoteLine, Invoice
from billing.views.invoices import load_invoice
from revops.core.confirm import Confirmation, confirm_page, is_confirmed
from revops.core.forms import apply_errors
from revops.core.ui import require_area
from revops.errors import DomainError
from revops.formatting import money, percent
from revops.roles import can_write


def _confirmation(invoice: Invoice, draft: lifecycle.CreditNoteDraft, reason: str) -> Confirmation:
    c = invoice.currency
    return Confirmation(
        title=f"Ask for a credit note of {money(draft.total, c)} on {invoice.number}?",
        subject=invoice.number,
        consequence=(
            f"A credit note moves revenue, so it needs a second person: this asks an approver. Once "
            f"another person approves, the credit note for {money(draft.total, c)} including tax takes "
            f"the next credit-note number, reduces what {invoice.customer.name} owes on {invoice.number} "
            "and posts its journal entry (revenue already recognized goes to contra revenue). Nothing "
            "is issued before; you can withdraw the request while it waits."
        ),
        lines=[
            *((line.description, money(amount, c)) for line, amount in draft.lines),
            ("Subtotal", money(draft.subtotal, c)),
            (f"Tax ({percent(invoice.tax_rate)}%)", money(draft.tax, c)),
            ("Total credited, with tax", money(draft.total, c)),
        ],
        lines_title="What is credited",
        facts=[("Customer", invoice.customer.name), ("Invoice", invoice.number), ("Reason", reason)],
        button=f"Ask for approval of a credit note of {money(draft.total, c)}",
        back=reverse("invoice-credit-note", args=[invoice.pk]),
    )


@login_required
@require_area("billing")
def credit_note_view(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the credit-note form (one amount per line); POST (finance/admin): credit_note_request."""
    invoice = load_invoice(pk)
    lines = [ln for ln in invoice.lines.all() if ln.amount > 0]
    credited = dict(
        CreditNoteLine.objects.filter(invoice_line__invoice=invoice)
        .values("invoice_line")
        .annotate(s=Sum("amount"))
        .values_list("invoice_line", "s")
    )
    if request.method == "POST":
        form = CreditNoteForm(request.POST, lines=lines)
        if form.is_valid():
            payload = form.payload()
            reason = form.cleaned_data["reason"]
            try:
                if not is_confirmed(request):
                    draft = lifecycle.credit_note_preview(invoice=invoice, lines=payload, reason=reason)
                    return confirm_page(request, _confirmation(invoice, draft, reason))
                approval = reversals.credit_note_request(
                    invoice=invoice, lines=payload, reason=reason, actor=request.user
                )
            except DomainError as exc:
                apply_errors(form, exc.errors, rename=form.rename(payload))
                if not exc.errors:
                    form.add_error(None, exc.detail)
            else:
                p = approval.payload
                messages.success(
                    request,
                    f"Credit note of {money(Decimal(p['total']), invoice.currency)} on {invoice.number} of "
                    f"{invoice.customer.name} (tax {money(Decimal(p['tax']), invoice.currency)} included) "
                    f"waits for approval #{approval.pk}: another person must approve it before it is "
                    "issued.",
                )
                return redirect("invoice", pk=pk)
    else:
        if not can_write(request.user, "billing"):
            messages.info(request, "Your role can read invoices but not issue credit notes.")
            return redirect("invoice", pk=pk)
        form = CreditNoteForm(lines=lines)
    c = invoice.currency
    rows = []
    for line, bound in form.bound_lines():
        already = credited.get(line.pk) or Decimal(0)
        rows.append(
            {
                "line": line,
                "field": bound,
                "amount": money(line.amount, c),
                "credited": money(already, c) if already else "",
                "remaining": money(line.amount - already, c),
                "remaining_raw": line.amount - already,
            }
        )
    return render(
        request,
        "billing/invoices/credit_note.html",
        {
            "invoice": invoice,
            "form": form,
            "rows": rows,
            "tax_rate": percent(invoice.tax_rate),
            "finalizable": invoice.status in (Invoice.Status.FINALIZED, Invoice.Status.PAID),
        },
        status=400 if form.is_bound else 200,
    )
