"""Invoice pages: the review queue (drafts → finalize in bulk, as a finalization run with its own
page) and the invoice page with its actions
(refresh usage, finalize, void, payment, PDF). The credit-note page is in ``credit_notes``, the line
drill-down in ``invoice_lines``.

Function views calling the same services and selectors as the API (billing.invoicing.lifecycle,
build, selectors); what a service refuses comes back as a form error or a flash message. The small
display helpers at the top (links to a line's price version and usage) are shared by the other
billing pages; the invoice display strings are in ``billing.display``."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Prefetch, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from billing.display import decorate_invoices
from billing.documents.invoice_doc import unprintable_party_characters
from billing.documents.wording import overdue_days, proration_note
from billing.invoicing import lifecycle
from billing.invoicing import reversals as reversal_requests
from billing.invoicing.build import invoice_refresh_draft
from billing.invoicing.filters import InvoiceFilter
from billing.invoicing.finalization import (
    finalization_counts,
    finalization_preview,
    finalization_problems,
    finalization_start,
)
from billing.invoicing.forms import PaymentForm, VoidForm
from billing.invoicing.selectors import invoice_list, invoice_with_lines
from billing.models import CreditNoteLine, FinalizationItem, FinalizationRun, Invoice, InvoiceLine
from billing.search import invoice_refs
from billing.views.lists import INVOICE_COLUMNS, INVOICE_QUEUE_SORTING, INVOICE_SORTING, with_balance
from revops.core.audit.display import audit_rows
from revops.core.audit.selectors import audit_event_list
from revops.core.confirm import Confirmation, confirm_page, is_confirmed
from revops.core.filters import filter_page
from revops.core.forms import apply_errors, error_text
from revops.core.ids import parse_ids
from revops.core.listing import csv_response, list_page, sorted_queryset, wants_csv
from revops.core.ui import require_area
from revops.errors import DomainError
from revops.formatting import day, money, percent, quantity, unit_price
from revops.money import round_money
from revops.parties.models import Customer
from revops.roles import can_write

log = logging.getLogger(__name__)
PAGE_SIZE = 50

# --- display helpers (shared by the other billing pages) ---------------------------------


def safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


def pricing_version_url(line: InvoiceLine) -> str | None:
    """The pricing page of the line's price version, when that page exists."""
    if not line.price_version_id:
        return None
    try:
        return reverse("pricing-version", args=[line.price_version.plan.code, line.price_version.number])
    except NoReverseMatch:
        return None


def usage_explorer_url(customer: Customer, meter_code: str, start, end) -> str | None:
    try:
        base = reverse("usage-explorer")
    except NoReverseMatch:
        return None
    query = {"customer": customer.external_id, "meter": meter_code}
    if start and end:
        query |= {"start": start.isoformat(), "end": end.isoformat()}
    return f"{base}?{urlencode(query)}"


# --- review queue ------------------------------------------------------------------------------------


@login_required
@require_area("billing")
def invoice_list_view(request: HttpRequest) -> HttpResponse:
    # The review queue shows drafts unless told otherwise ("all": every status); the rest is the API's
    # filter set (an unknown customer or a bad date is a form error above an empty list).
    shown_status, data = queue_filter(request.GET)
    listed = filter_page(InvoiceFilter, data, with_balance(invoice_list()))
    filters = {
        "status": shown_status,
        "customer": request.GET.get("customer") or "",
        "billing_date": listed.values.get("billing_date"),
        "billing_period": listed.values.get("billing_period") or "",
        "overdue": request.GET.get("overdue") or "",
        "number": request.GET.get("number") or "",
    }
    qs = listed.qs
    status = None if shown_status == "all" else shown_status
    sorting = INVOICE_QUEUE_SORTING if status == Invoice.Status.DRAFT else INVOICE_SORTING
    if wants_csv(request):
        rows, _ = sorted_queryset(qs, sorting, request.GET.get("sort"))
        return csv_response(rows, INVOICE_COLUMNS, filename=f"invoices-{shown_status}")
    listing = list_page(request, qs.annotate(n_lines=Count("lines")), sorting)
    page = listing.page
    totals = [
        {"currency": row["currency"], "count": row["n"], "total": money(row["s"], row["currency"])}
        for row in qs.order_by()
        .values("currency")
        .annotate(s=Sum("total"), n=Count("id"))
        .order_by("currency")
    ]
    context = {
        "listing": listing,
        "form": listed.form,
        "filter_errors": listed.errors,
        "filters": filters,
        "page": page,
        "invoices": decorate_invoices(page.object_list),
        "totals": totals,
        "customers": Customer.objects.order_by("name").only("external_id", "name")[:1000],
        "statuses": [*Invoice.Status.choices, ("all", "All statuses")],
        "can_edit": can_write(request.user, "billing"),
        "query": listing.query,
        "here": request.get_full_path(),
        # The exact filter the list applied: "finalize all matching" posts it back as it is.
        "run_filter": data,
        "extra_filters": {k: v for k, v in data.items() if k in EXTRA_FILTERS},
        "extra_filter_text": ", ".join(
            f"{k.replace('_', ' ')} {v}" for k, v in data.items() if k in EXTRA_FILTERS
        ),
    }
    if request.htmx:
        return render(request, "billing/invoices/list.html#results", context)
    return render(request, "billing/invoices/list.html", context)


# Request fields of the bulk-finalize form that are not filters.
FORM_FIELDS = frozenset(
    {"csrfmiddlewaretoken", "next", "all", "confirm", "invoice", "expected", "page", "sort", "format"}
)
# Filters of the list without a field of their own in the toolbar (set by links such as the month end's).
EXTRA_FILTERS = ("customer_id", "period_start", "billing_date_from", "billing_date_to")


def queue_filter(params) -> tuple[str, dict[str, str]]:
    """The one source of the review queue's filter: the status shown and the filter set's data — what
    the list applies and, unchanged, what "finalize all matching drafts" hands to the run (the run
    refuses a name it cannot honour instead of dropping it)."""
    # A number looked up is found whatever its status (a finalized one is not in the drafts' queue).
    shown_status = "all" if params.get("number") else (params.get("status") or Invoice.Status.DRAFT)
    data = {k: params.get(k) for k in params if k not in FORM_FIELDS and params.get(k)}
    if shown_status == "all":
        data.pop("status", None)
    else:
        data["status"] = shown_status
    return shown_status, data


def _confirm_context(*, ids, filters, preview: dict, back: str) -> dict:
    return {
        "ids": ids or [],
        "run_filter": filters or {},
        "filter_text": ", ".join(
            f"{k.replace('_', ' ')} {v}" for k, v in (filters or {}).items() if k != "status"
        )
        or "all drafts",
        "count": preview["count"],
        "digest": preview["digest"],
        "held": preview["held"],
        "totals": [
            {"currency": t["currency"], "count": t["n"], "total": money(t["total"], t["currency"])}
            for t in preview["totals"]
        ],
        "back": back,
        "back_label": "Invoice review queue",
        "action": reverse("invoices-finalize"),
    }


def finalize_confirmation(
    request: HttpRequest, *, ids=None, filters=None, back: str, **shown
) -> HttpResponse | None:
    """The confirmation step of a bulk finalize, wherever it is started (the review queue, the month
    end): ``None`` when this POST confirms exactly the drafts and totals the confirmation showed —
    the SHA-256 of them (``finalization_preview``'s digest) that it carries as ``expected`` — else the
    confirmation page: the drafts' count and total per currency and how many an approval holds; shown
    again with a notice that nothing was finalized when they changed since (a draft added, finalized
    or refreshed). ``shown`` overrides what the page says (``action``: where it posts; ``back_label``;
    ``filter_text``). Raises what :func:`finalization_preview` refuses."""
    preview = finalization_preview(invoice_ids=ids, filters=filters)
    if request.POST.get("confirm") and request.POST.get("expected", "") == preview["digest"]:
        return None
    context = {**_confirm_context(ids=ids, filters=filters, preview=preview, back=back), **shown}
    context["changed"] = bool(request.POST.get("confirm"))
    return render(request, "billing/invoices/finalize_confirm.html", context)


@login_required
@require_area("billing", write=True)
@require_POST
def invoice_bulk_finalize(request: HttpRequest) -> HttpResponse:
    """Finalize the selected drafts — or, with ``all``, every draft the queue's filter shows (the very
    filter the list applied). A first post shows what would be finalized (count and totals) to confirm;
    the confirmed post starts a finalization run and goes to its page at once: workers finalize the
    drafts in batches while the page shows the job's progress and then each outcome."""
    back = safe_next(request, reverse("invoices"))
    ids, filters = None, None
    if request.POST.get("all"):
        _, filters = queue_filter(request.POST)
    else:
        ids = parse_ids(request.POST.getlist("invoice"))
        if not ids:
            messages.warning(request, "Select at least one draft invoice to finalize.")
            return redirect(back)
    try:
        page = finalize_confirmation(request, ids=ids, filters=filters, back=back)
        if page is not None:
            return page
        run = finalization_start(invoice_ids=ids, filters=filters, actor=request.user, trigger="manual")
    except DomainError as exc:
        messages.error(request, f"Nothing was finalized — {error_text(exc)}")
        return redirect(back)
    return redirect("finalization-run", pk=run.pk)


def _finalization_context(run: FinalizationRun) -> dict:
    counts = finalization_counts(run)
    problems = finalization_problems(run)
    for item in problems:
        invoice = item.invoice
        item.label = f"{invoice.number or f'draft {invoice.draft_reference}'} ({invoice.customer.name}, {day(invoice.billing_date)})"
    done = run.items.filter(status=FinalizationItem.Status.DONE).select_related(
        "invoice", "invoice__customer"
    )
    first = done.order_by("invoice__sequence").first()
    last = done.order_by("-invoice__sequence").first()
    return {
        "run": run,
        "job": run.job,
        "counts": counts,
        "problems": problems,
        "finished": run.status in (FinalizationRun.Status.COMPLETED, FinalizationRun.Status.FAILED),
        "first_number": first.invoice.number if first else "",
        "last_number": last.invoice.number if last else "",
        "filter_text": ", ".join(
            f"{k.replace('_', ' ')} {v}" for k, v in run.filters.items() if k != "status"
        )
        or "all drafts",
    }


@login_required
@require_area("billing")
def finalization_run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A finalization run: the job's progress bar (polled), then what was finalized and what was not,
    with the reason."""
    run = get_object_or_404(FinalizationRun.objects.select_related("job", "requested_by"), pk=pk)
    context = _finalization_context(run)
    if request.htmx:
        return render(request, "billing/invoices/finalization.html#live", context)
    return render(request, "billing/invoices/finalization.html", context)


# --- invoice page ------------------------------------------------------------------------------------


def _line_rows(invoice: Invoice) -> list[InvoiceLine]:
    c = invoice.currency
    credited = dict(
        CreditNoteLine.objects.filter(invoice_line__invoice=invoice)
        .values("invoice_line")
        .annotate(s=Sum("amount"))
        .values_list("invoice_line", "s")
    )
    lines = list(invoice.lines.all())
    for line in lines:
        line.m_amount = money(line.amount, c)
        line.m_unit = unit_price(line.unit_amount, c) if line.unit_amount is not None else ""
        line.m_quantity = quantity(line.quantity)
        line.m_credited = money(credited[line.pk], c) if credited.get(line.pk) else ""
        line.is_negative = line.amount < 0
        line.proration = proration_note(
            kind=line.kind,
            breakdown=line.breakdown,
            service_start=line.service_start,
            service_end=line.service_end,
        )
    return lines


def _balance_row(invoice: Invoice) -> tuple[str, str, str]:
    c = invoice.currency
    if invoice.status == Invoice.Status.VOID:
        return ("Balance due", "nothing — void", "total")
    if invoice.status == Invoice.Status.DRAFT:
        return ("Balance due", "not issued yet", "total")
    if invoice.balance_due < 0:
        return ("Credit in the customer's favour", money(-invoice.balance_due, c), "total")
    return ("Balance due", money(invoice.balance_due, c), "total")


def _invoice_context(request: HttpRequest, invoice: Invoice, **forms) -> dict:
    c = invoice.currency
    editable = can_write(request.user, "billing")
    is_draft = invoice.status == Invoice.Status.DRAFT
    is_final = invoice.status == Invoice.Status.FINALIZED
    creditable = [ln for ln in invoice.lines.all() if ln.amount > 0]
    payments = list(invoice.payments.select_related("created_by"))
    reversals = {r.payment_id: r for r in invoice.payment_reversals.select_related("created_by")}
    for p in payments:
        p.m_amount = money(p.amount, c)
        p.reversed_by = reversals.get(p.pk)
    notes = list(
        invoice.credit_notes.select_related("created_by").prefetch_related(
            Prefetch("lines", queryset=CreditNoteLine.objects.select_related("invoice_line"))
        )
    )
    for note in notes:
        note.m_total = money(note.total, c)
        note.m_subtotal = money(note.subtotal, c)
        note.m_tax = money(note.tax, c)
        for nl in note.lines.all():
            nl.m_amount = money(nl.amount, c)
    applications = list(invoice.credit_applications.select_related("grant"))
    for a in applications:
        a.m_amount = money(a.amount, c)
    totals = [
        ("Subtotal", money(invoice.subtotal, c), ""),
        *([("Discount (included above)", money(-invoice.discount, c), "muted")] if invoice.discount else []),
        (f"Tax ({percent(invoice.tax_rate)}%)", money(invoice.tax, c), ""),
        *(
            [("Prepaid credits applied", money(-invoice.credits_applied, c), "")]
            if invoice.credits_applied
            else []
        ),
        ("Total", money(invoice.total, c), "total"),
        ("Paid", money(invoice.amount_paid, c), ""),
        ("Credited", money(invoice.amount_credited, c), ""),
        _balance_row(invoice),
    ]
    return {
        "invoice": invoice,
        "pdf_unprintable": unprintable_party_characters(invoice),
        "lines": _line_rows(invoice),
        "totals": totals,
        "payments": payments,
        "credit_notes": notes,
        "applications": applications,
        "audit_events": audit_rows(audit_event_list(refs=invoice_refs(invoice))[:50]),
        "can_edit": editable,
        "can_refresh": editable and is_draft,
        "can_finalize": editable and is_draft,
        "pending_reversal": reversal_requests.pending_for(invoice) if invoice.number else None,
        "can_void": editable and is_final and invoice.amount_paid == 0,
        "can_pay": editable and is_final and invoice.balance_due > 0,
        "can_reverse_payment": editable and invoice.status in (Invoice.Status.FINALIZED, Invoice.Status.PAID),
        "can_credit": editable
        and invoice.status in (Invoice.Status.FINALIZED, Invoice.Status.PAID)
        and bool(creditable),
        # A finalized invoice always offers its PDF: rendered by a worker after the finalization
        # committed, or on the first download if the worker has not got to it yet.
        "has_pdf": bool(invoice.number) and invoice.status != Invoice.Status.DRAFT,
        "void_form": forms.get("void_form") or VoidForm(),
        "payment_form": forms.get("payment_form")
        or PaymentForm(balance=round_money(invoice.balance_due, invoice.currency)),
        "open_form": forms.get("open_form", ""),
        "m_balance": money(invoice.balance_due, c),
        "overdue_days": overdue_days(
            status=invoice.status,
            due_date=invoice.due_date,
            balance_due=invoice.balance_due,
            today=timezone.localdate(),
        ),
    }


def load_invoice(pk: int) -> Invoice:
    get_object_or_404(Invoice, pk=pk)
    return invoice_with_lines(pk)


@login_required
@require_area("billing")
def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = load_invoice(pk)
    return render(request, "billing/invoices/detail.html", _invoice_context(request, invoice))


def _run_action(request: HttpRequest, pk: int, action, success: str) -> HttpResponse:
    invoice = get_object_or_404(Invoice, pk=pk)
    try:
        result = action(invoice)
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(
            request,
            success.format(
                invoice=result, customer=result.customer.name, total=money(result.total, result.currency)
            ),
        )
    return redirect("invoice", pk=pk)


@login_required
@require_area("billing", write=True)
@require_POST
def invoice_refresh(request: HttpRequest, pk: int) -> HttpResponse:
    return _run_action(
        request,
        pk,
        lambda inv: invoice_refresh_draft(invoice=inv, actor=request.user),
        "Draft {invoice.draft_reference} of {customer}: usage re-rated with everything received so far. "
        "Total now {total}.",
    )


@login_required
@require_area("billing", write=True)
@require_POST
def invoice_finalize_view(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = get_object_or_404(Invoice.objects.select_related("customer", "contract"), pk=pk)
    if not is_confirmed(request) and invoice.status == Invoice.Status.DRAFT:
        c = invoice.currency
        return confirm_page(
            request,
            Confirmation(
                title=f"Finalize draft {invoice.draft_reference} for {invoice.customer.name}?",
                subject=f"Draft {invoice.draft_reference}",
                consequence=(
                    "Finalizing cannot be undone. Usage is re-rated one last time, prepaid credits are "
                    "drawn, the invoice takes the next gapless invoice number and its journal entry "
                    "posts; afterwards it can only be voided (while unpaid) or credited."
                ),
                facts=[
                    ("Customer", invoice.customer.name),
                    ("Contract", invoice.contract.number),
                    ("Billing date", day(invoice.billing_date)),
                    ("Total now (before credits)", money(invoice.subtotal + invoice.tax, c)),
                ],
                button=f"Finalize draft {invoice.draft_reference}",
                back=reverse("invoice", args=[pk]),
            ),
        )
    return _run_action(
        request,
        pk,
        lambda inv: lifecycle.invoice_finalize(invoice=inv, actor=request.user),
        "Invoice {invoice.number} of {customer} finalized (was draft {invoice.draft_reference}); its PDF is "
        "being rendered and stored with its SHA-256.",
    )


@login_required
@require_area("billing", write=True)
@require_POST
def invoice_void_view(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = get_object_or_404(Invoice, pk=pk)
    form = VoidForm(request.POST)
    if form.is_valid():
        try:
            if invoice.status == Invoice.Status.DRAFT:  # nothing numbered or posted: one person
                invoice = lifecycle.invoice_void(
                    invoice=invoice, reason=form.cleaned_data["reason"], actor=request.user
                )
            else:  # reverses the invoice's posting: a second person approves (maker-checker)
                approval = reversal_requests.invoice_void_request(
                    invoice=invoice, reason=form.cleaned_data["reason"], actor=request.user
                )
        except DomainError as exc:
            apply_errors(form, exc.errors or [], rename={})
            if not exc.errors:
                form.add_error(None, exc.detail)
        else:
            if invoice.status == Invoice.Status.VOID:
                messages.success(request, f"Invoice of {invoice.customer.name} is void.")
            else:
                messages.success(
                    request,
                    f"Void of {invoice.number} of {invoice.customer.name} waits for approval "
                    f"#{approval.pk}: another person must approve it. It keeps its number.",
                )
            return redirect("invoice", pk=pk)
    context = _invoice_context(request, load_invoice(pk), void_form=form, open_form="void")
    return render(request, "billing/invoices/detail.html", context, status=400)


@login_required
@require_area("billing")
def invoice_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The stored PDF, checked against its SHA-256. A finalized invoice whose document the worker has
    not rendered yet is rendered now (the same bytes the worker stores); a stored one is never
    re-rendered."""
    from billing.documents.services import invoice_document_ensure
    from billing.documents.storage import open_invoice_pdf

    invoice = get_object_or_404(Invoice.objects.select_related("customer", "legal_entity"), pk=pk)
    try:
        invoice = invoice_document_ensure(invoice=invoice, actor=request.user)
        data = open_invoice_pdf(invoice)
    except DomainError as exc:
        messages.error(request, error_text(exc))
        return redirect("invoice", pk=pk)
    response = HttpResponse(data, content_type="application/pdf")
    disposition = "inline" if request.GET.get("inline") else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{invoice.number}.pdf"'
    response["X-Content-SHA256"] = invoice.pdf_sha256
    return response
