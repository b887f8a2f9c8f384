"""Payments on the invoice page: recording one and reversing one, each after a confirmation step that
states the consequence (revops.core.confirm)."""

from __future__ import annotations

import functools
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from billing.invoicing import lifecycle
from billing.invoicing.forms import PaymentForm
from billing.invoicing.payments import payment_of_invoice, payment_reverse
from billing.models import Invoice
from billing.views.invoices import _invoice_context, load_invoice
from revops.books import posting_period_for
from revops.core.confirm import Confirmation, confirm_page, is_confirmed
from revops.core.forms import apply_errors, error_text
from revops.core.ui import require_area
from revops.errors import DomainError
from revops.formatting import day, money


class _DryRun(Exception):
    pass


def checked_without_saving(action) -> None:
    """Run ``action`` (a service call) in a transaction that is always rolled back: the confirmation
    step is shown only for input the service accepts, and nothing is kept."""
    try:
        with transaction.atomic():
            action()
            raise _DryRun
    except _DryRun:
        pass


def _payment_confirmation(invoice: Invoice, data: dict) -> Confirmation:
    c = invoice.currency
    after = invoice.balance_due - data["amount"]
    posted_in, correction_for = posting_period_for(data["date"])
    where = (
        f" It is dated in the closed period {correction_for}, so it posts into the first open period "
        f"{posted_in} as a correction."
        if correction_for
        else ""
    )
    return Confirmation(
        title=f"Record a payment of {money(data['amount'], c)} on {invoice.number}?",
        subject=invoice.number,
        consequence=(
            f"The payment is booked to cash against {invoice.customer.name}'s receivable and "
            f"{'marks the invoice paid in full' if after <= 0 else 'leaves a balance due'}.{where} "
            "A recorded payment is not edited: if it was wrong, it is reversed by an audited reversing entry."
        ),
        facts=[
            ("Customer", invoice.customer.name),
            ("Amount", money(data["amount"], c)),
            ("Received on", day(data["date"])),
            ("Reference", data.get("reference") or "—"),
            ("Balance due now", money(invoice.balance_due, c)),
            ("Balance due after", money(max(after, 0), c)),
        ],
        button=f"Record payment of {money(data['amount'], c)}",
        back=reverse("invoice", args=[invoice.pk]),
        seen=[(PAID_SEEN, str(invoice.amount_paid))],
    )


PAID_SEEN = "paid_before"  # the invoice's amount paid when the confirmation was shown


def _paid_seen(request: HttpRequest):
    """The amount paid the confirmation showed, or None when the POST does not carry a valid one."""
    try:
        return Decimal(request.POST.get(PAID_SEEN, ""))
    except (InvalidOperation, ValueError):
        return None


@login_required
@require_area("billing", write=True)
@require_POST
def invoice_payment_view(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = get_object_or_404(Invoice.objects.select_related("customer"), pk=pk)
    form = PaymentForm(request.POST, balance=invoice.balance_due)
    if form.is_valid():
        data = form.cleaned_data
        record = functools.partial(
            lifecycle.payment_record,
            invoice=invoice,
            amount=data["amount"],
            paid_on=data["date"],
            reference=data["reference"],
            actor=request.user,
        )
        try:
            seen = _paid_seen(request) if is_confirmed(request) else None
            if seen is None or not seen.is_finite():
                # Not confirmed yet (or a confirmation without the state it showed): check, then ask.
                checked_without_saving(record)  # what the service refuses is a form error before the step
                return confirm_page(request, _payment_confirmation(invoice, data))
            # Recorded only if the invoice's payments are still those the confirmation showed: a replayed
            # or doubled confirmation finds them changed and records nothing.
            payment = record(expected_paid=seen)
        except DomainError as exc:
            apply_errors(form, exc.errors, rename={"date": "date", "paid_on": "date"})
            if not exc.errors:
                form.add_error(None, exc.detail)
        else:
            invoice.refresh_from_db()
            status = "paid in full" if invoice.status == Invoice.Status.PAID else "partly paid"
            posted_in, correction_for = posting_period_for(payment.date)
            note = (
                f" It is dated in the closed period {correction_for}, so it posts into the first open "
                f"period {posted_in} as a correction for {correction_for}."
                if correction_for
                else ""
            )
            messages.success(
                request,
                f"Payment of {money(payment.amount, payment.currency)} recorded on {invoice.number} "
                f"({invoice.customer.name}); the invoice is {status}.{note}",
            )
            return redirect("invoice", pk=pk)
    context = _invoice_context(request, load_invoice(pk), payment_form=form, open_form="payment")
    return render(request, "billing/invoices/detail.html", context, status=400)


@login_required
@require_area("billing", write=True)
@require_POST
def payment_reverse_view(request: HttpRequest, pk: int, payment_id: int) -> HttpResponse:
    """Reverse a recorded payment: the reason first, then a confirmation step, then the service."""
    invoice = get_object_or_404(Invoice.objects.select_related("customer"), pk=pk)
    payment = get_object_or_404(invoice.payments, pk=payment_id)
    reason = request.POST.get("reason", "").strip()
    if reason and not is_confirmed(request):
        c = invoice.currency
        return confirm_page(
            request,
            Confirmation(
                title=f"Reverse the payment of {money(payment.amount, c)} on {invoice.number}?",
                subject=invoice.number,
                consequence=(
                    "The payment stays on record and a reversal is added: the invoice's balance is due "
                    f"again ({money(invoice.balance_due + payment.amount, c)}), a reversing journal entry "
                    "takes the cash back off the receivable (dated today; never in a closed period) and "
                    "the audit trail records who did it and why. A reversal cannot itself be undone: "
                    "record the payment again if it arrives."
                ),
                facts=[
                    ("Customer", invoice.customer.name),
                    ("Payment", f"{money(payment.amount, c)} received {day(payment.date)}"),
                    ("Reference", payment.reference or "—"),
                    ("Reason", reason),
                ],
                button=f"Reverse payment of {money(payment.amount, c)}",
                back=reverse("invoice", args=[pk]),
                danger=True,
            ),
        )
    try:
        payment = payment_of_invoice(invoice_id=pk, payment_id=payment_id)
        payment_reverse(payment=payment, reason=reason, actor=request.user)
    except DomainError as exc:
        messages.error(request, f"The payment was not reversed — {error_text(exc)}")
    else:
        messages.success(
            request,
            f"Payment of {money(payment.amount, invoice.currency)} on {invoice.number} "
            f"({invoice.customer.name}) reversed; the invoice's balance is due again.",
        )
    return redirect("invoice", pk=pk)
