"""Customer documents other than the stored invoice PDF (``invoices.invoice_pdf``): a credit note's PDF
and the statement of an invoice's balance, both rendered when asked for from the stored records (the
same records give the same bytes). The invoice PDF stored at finalization is never re-rendered: after
a payment or a credit note it still reads as issued, and the statement tells the balance."""

from __future__ import annotations

import hashlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone

from billing.documents.services import credit_note_pdf, invoice_statement_pdf
from billing.models import CreditNote, Invoice
from revops.core.forms import error_text
from revops.core.ui import require_area
from revops.errors import DomainError


def _pdf(data: bytes, filename: str, request: HttpRequest) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    disposition = "inline" if request.GET.get("inline") else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["X-Content-SHA256"] = hashlib.sha256(data).hexdigest()
    return response


@login_required
@require_area("billing")
def invoice_statement(request: HttpRequest, pk: int) -> HttpResponse:
    """The statement of the invoice's balance today: invoiced, each payment and credit note, balance."""
    invoice = get_object_or_404(Invoice, pk=pk)
    today = timezone.localdate()
    try:
        data = invoice_statement_pdf(invoice=invoice, as_of=today)
    except DomainError as exc:
        messages.error(request, error_text(exc))
        return redirect("invoice", pk=pk)
    return _pdf(data, f"{invoice.number}-statement-{today.isoformat()}.pdf", request)


@login_required
@require_area("billing")
def credit_note_document(request: HttpRequest, pk: int, note_id: int) -> HttpResponse:
    note = get_object_or_404(CreditNote, pk=note_id, invoice_id=pk)
    return _pdf(credit_note_pdf(credit_note=note), f"{note.number}.pdf", request)
