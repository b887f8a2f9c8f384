"""Customer pages: the list (search, currency, contracts, open balance), the new-customer form, and
the customer page (facts, balance, contracts, invoices, this month's usage, prepaid credits).

Function views calling the same services as the API (revops.parties.services.customers,
billing.invoicing.credits.credit_grant_request: every grant waits for an approver)."""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, DecimalField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from billing.billing_settings import billing_settings_current, hours_text
from billing.contracts.models import Contract
from billing.display import decorate_invoices
from billing.invoicing.credits import credit_grant_request
from billing.invoicing.forms import CreditGrantForm
from billing.models import CreditExpiry, CreditGrant, Invoice, Meter
from billing.usage.aggregation import local_bounds, usage_total
from billing.usage.partitions import add_months
from billing.views.invoices import usage_explorer_url
from billing.views.lists import CUSTOMER_COLUMNS, CUSTOMER_SORTING
from revops.core.audit.selectors import audit_event_list
from revops.core.filters import filter_page
from revops.core.forms import apply_errors
from revops.core.listing import csv_response, list_page, sorted_queryset, wants_csv
from revops.core.ui import require_area
from revops.errors import DomainError
from revops.formatting import money, percent, quantity
from revops.money import stored_sum
from revops.parties.filters import CustomerFilter
from revops.parties.forms import (
    COMMON_CURRENCIES,
    COMMON_TIMEZONES,
    CustomerEditForm,
    CustomerForm,
    CustomerGraceForm,
)
from revops.parties.models import Customer
from revops.parties.services.customers import customer_create, customer_update
from revops.roles import can_write

PAGE_SIZE = 50
ZERO = Decimal(0)
MONEY = DecimalField(max_digits=30, decimal_places=10)


def _open_balance_subquery():
    """Σ balance due of a customer's finalized invoices (paid and void ones owe nothing)."""
    return Subquery(
        Invoice.objects.filter(customer=OuterRef("pk"), status=Invoice.Status.FINALIZED)
        .order_by()
        .values("customer")
        .annotate(s=Sum(F("total") - F("amount_paid") - F("amount_credited"), output_field=MONEY))
        .values("s")[:1],
        output_field=MONEY,
    )


@login_required
@require_area("customers")
def customer_list(request: HttpRequest) -> HttpResponse:
    q = (request.GET.get("q") or "").strip()
    currency = (request.GET.get("currency") or "").strip().upper()
    everyone = Customer.objects.annotate(
        n_contracts=Count("contracts", distinct=True),
        n_active=Count("contracts", filter=Q(contracts__status=Contract.Status.ACTIVE), distinct=True),
        open_balance=Coalesce(_open_balance_subquery(), Value(ZERO), output_field=MONEY),
    )
    listed = filter_page(CustomerFilter, request.GET, everyone)
    if wants_csv(request):
        rows, _ = sorted_queryset(listed.qs, CUSTOMER_SORTING, request.GET.get("sort"))
        return csv_response(rows, CUSTOMER_COLUMNS, filename="customers")
    listing = list_page(request, listed.qs, CUSTOMER_SORTING, per_page=PAGE_SIZE)
    page = listing.page
    rows = list(page.object_list)
    for c in rows:
        c.m_balance = money(c.open_balance, c.currency)
    context = {
        "listing": listing,
        "page": page,
        "customers": rows,
        "q": q,
        "currency": currency,
        "filter_errors": listed.errors,
        "currencies": sorted(set(Customer.objects.values_list("currency", flat=True))),
        "can_edit": can_write(request.user, "customers"),
        "query": listing.query,
    }
    if request.htmx:
        return render(request, "billing/customers/list.html#results", context)
    return render(request, "billing/customers/list.html", context)


@login_required
@require_area("customers", write=True)
def customer_create_view(request: HttpRequest) -> HttpResponse:
    form = CustomerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            customer = customer_create(actor=request.user, **form.service_kwargs())
        except DomainError as exc:
            apply_errors(form, exc.errors)
            if not exc.errors:
                form.add_error(None, exc.detail)
        else:
            messages.success(request, f"Customer {customer.name} ({customer.external_id}) created.")
            return redirect("customer", pk=customer.pk)
    return render(
        request,
        "billing/customers/create.html",
        {"form": form, "currencies": COMMON_CURRENCIES, "timezones": COMMON_TIMEZONES},
        status=400 if form.is_bound else 200,
    )


def _usage_summary(customer: Customer) -> dict:
    """This month's total per meter, in the customer's billing time zone."""
    zone = ZoneInfo(customer.timezone or "UTC")
    today = timezone.now().astimezone(zone).date()
    start = today.replace(day=1)
    end = add_months(start, 1)
    lo, hi = local_bounds(start, end, customer.timezone or "UTC")
    rows = []
    for meter in Meter.objects.order_by("code"):
        total = usage_total(customer=customer, meter=meter, start=lo, end=hi)
        rows.append(
            {
                "meter": meter,
                "total": quantity(total),
                "is_zero": total == 0,
                "url": usage_explorer_url(customer, meter.code, start, end),
            }
        )
    return {"start": start, "end": end, "rows": rows}


def _grace(customer: Customer) -> dict:
    """How the customer's drafts finalize themselves: its own grace period, else the organization's."""
    own = customer.auto_finalize_grace_hours
    organization = billing_settings_current().auto_finalize_grace_hours
    if own is not None:
        text, source = hours_text(own), "its own"
    else:
        text, source = hours_text(organization), "the organization's"
    return {"text": text, "source": source, "off": own is None and organization is None}


def _customer_context(request: HttpRequest, customer: Customer, *, grant_form=None, grace_form=None) -> dict:
    c = customer.currency
    today = timezone.localdate()
    open_qs = Invoice.objects.filter(customer=customer, status=Invoice.Status.FINALIZED)
    agg = open_qs.aggregate(
        s=Sum(F("total") - F("amount_paid") - F("amount_credited"), output_field=MONEY),
        n=Count("id", filter=Q(total__gt=F("amount_paid") + F("amount_credited"))),
        overdue=Count("id", filter=Q(due_date__lt=today, total__gt=F("amount_paid") + F("amount_credited"))),
    )
    contracts = list(customer.contracts.annotate(n_lines=Count("lines")).order_by("-start_date", "-id"))
    for contract in contracts:
        contract.m_price = money(contract.transaction_price, contract.currency)
    invoices = decorate_invoices(
        Invoice.objects.filter(customer=customer)
        .select_related("contract")
        .order_by("-billing_date", "-id")[:25]
    )
    grants = list(
        CreditGrant.objects.filter(customer=customer)
        .annotate(used=Coalesce(Sum("applications__amount"), Value(ZERO), output_field=MONEY))
        .order_by("-granted_on", "-id")
    )
    released = dict(
        CreditExpiry.objects.filter(grant__customer=customer)
        .values("grant_id")
        .annotate(s=Sum("amount"))
        .values_list("grant_id", "s")
    )
    for g in grants:
        g.released = stored_sum(released.get(g.pk))
        g.m_amount = money(g.amount, g.currency)
        g.m_used = money(g.used, g.currency)
        g.m_released = money(g.released, g.currency)
        g.m_remaining = money(g.amount - g.used - g.released, g.currency)
        g.expired = bool(g.expires_on and g.expires_on <= today)
    return {
        "customer": customer,
        "balance": money(agg["s"] or ZERO, c),
        "open_count": agg["n"],
        "overdue_count": agg["overdue"],
        "contracts": contracts,
        "invoices": invoices,
        "invoice_count": Invoice.objects.filter(customer=customer).count(),
        "usage": _usage_summary(customer),
        "grants": grants,
        "grant_form": grant_form or CreditGrantForm(),
        "can_edit_customers": can_write(request.user, "customers"),
        "can_edit_contracts": can_write(request.user, "contracts"),
        "can_edit_billing": can_write(request.user, "billing"),
        "tax_rate": percent(customer.tax_rate),
        "grace": _grace(customer),
        "grace_form": grace_form
        or CustomerGraceForm(initial={"auto_finalize_grace_hours": customer.auto_finalize_grace_hours}),
    }


@login_required
@require_area("customers")
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer.objects.select_related("legal_entity"), pk=pk)
    return render(request, "billing/customers/detail.html", _customer_context(request, customer))


@login_required
@require_area("billing", write=True)
@require_POST
def credit_grant_view(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=pk)
    form = CreditGrantForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        kind = data["kind"] or "purchased"
        try:
            done = credit_grant_request(
                customer=customer,
                amount=data["amount"],
                granted_on=data["granted_on"],
                expires_on=data["expires_on"],
                reason=data["reason"],
                kind=kind,
                payment_reference=data["payment_reference"],
                actor=request.user,
            )
        except DomainError as exc:
            apply_errors(form, exc.errors)
            if not exc.errors:
                form.add_error(None, exc.detail)
        else:
            messages.warning(
                request,
                f"{kind.capitalize()} credit requested (#{done.pk}): nothing is granted until an approver "
                "other than you approves it in the approval queue.",
            )
            return redirect("customer", pk=pk)
    context = _customer_context(request, customer, grant_form=form)
    return render(request, "billing/customers/detail.html", context, status=400)


@login_required
@require_area("customers", write=True)
def customer_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a customer's facts through ``customer_update`` (audited with each old and new value)."""
    customer = get_object_or_404(Customer, pk=pk)
    form = CustomerEditForm(request.POST or None, customer=customer)
    if request.method == "POST" and form.is_valid():
        try:
            customer = customer_update(customer=customer, actor=request.user, **form.service_kwargs())
        except DomainError as exc:
            apply_errors(form, exc.errors)
            if not exc.errors:
                form.add_error(None, exc.detail)
        else:
            messages.success(request, f"Customer {customer.name} ({customer.external_id}) saved.")
            return redirect("customer", pk=customer.pk)
    history = audit_event_list(object_type=Customer._meta.label_lower, object_id=str(customer.pk))[:20]
    context = {
        "form": form,
        "customer": customer,
        "history": list(history),
        "currencies": COMMON_CURRENCIES,
        "timezones": COMMON_TIMEZONES,
    }
    return render(request, "billing/customers/create.html", context, status=400 if form.is_bound else 200)


@login_required
@require_area("customers", write=True)
@require_POST
def customer_grace_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Set or clear the customer's own grace period before its drafts finalize themselves (audited)."""
    customer = get_object_or_404(Customer, pk=pk)
    form = CustomerGraceForm(request.POST)
    if form.is_valid():
        hours = form.cleaned_data["auto_finalize_grace_hours"]
        try:
            customer = customer_update(customer=customer, actor=request.user, auto_finalize_grace_hours=hours)
        except DomainError as exc:
            apply_errors(form, exc.errors)
            if not exc.errors:
                form.add_error(None, exc.detail)
        else:
            grace = _grace(customer)
            messages.success(
                request,
                f"{customer.name}'s drafts finalize themselves: {grace['text'].lower()} ({grace['source']}).",
            )
            return redirect("customer", pk=pk)
    context = _customer_context(request, customer, grace_form=form)
    return render(request, "billing/customers/detail.html", context, status=400)
