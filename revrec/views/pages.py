"""Revenue overview, the contract revenue tab, revenue runs and the SSP book."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from billing.contracts.models import Contract
from revops.core.approvals.models import Approval
from revops.core.filters import filter_page
from revops.core.ui import require_area
from revops.errors import DomainError, ValidationFailed
from revops.roles import can_write
from revrec import reports
from revrec.filters import SSPFilter
from revrec.models import AccountingPeriod, RevenueRun, SSPEntry
from revrec.selectors import revenue_run_outcomes
from revrec.services.runs import revenue_run_start
from revrec.views.display import (
    POSITION,
    REVENUE,
    ZERO,
    Amt,
    _currency_context,
    _reverse_or_none,
    _this_period,
    contract_page_url,
    lines_url,
)
from revrec.views.estimates import variable_context

# --- overview -------------------------------------------------------------------------------------------


@login_required
@require_area("revenue")
def overview(request: HttpRequest) -> HttpResponse:
    error = None
    try:
        currency = reports.resolve_currency(request.GET.get("currency"))
    except ValidationFailed as exc:
        currency, error = reports.default_currency(), exc.detail
    period = _this_period()
    kpis = reports.revenue_kpis(currency=currency, period=period)
    q = (request.GET.get("q") or "").strip()
    contracts = (
        Contract.objects.filter(currency=currency)
        .exclude(status__in=[Contract.Status.DRAFT, Contract.Status.PENDING_APPROVAL])
        .select_related("customer")
        .order_by("-id")
    )
    if q:
        contracts = contracts.filter(Q(number__icontains=q) | Q(customer__name__icontains=q))
    page = Paginator(contracts, 25).get_page(request.GET.get("page"))
    balances = reports.contract_balances([c.pk for c in page.object_list])
    rows = []
    for c in page.object_list:
        b = balances.get(c.pk, {})
        rows.append(
            {
                "contract": c,
                "price": Amt(c.transaction_price, currency),
                "recognized": Amt(b.get("rec", ZERO), currency, lines_url(roles=REVENUE, contract=c.pk)),
                "billed": Amt(
                    b.get("billed", ZERO), currency, lines_url(roles=POSITION, kind="billing", contract=c.pk)
                ),
                "deferred": Amt(
                    b.get("deferred", ZERO), currency, lines_url(roles="deferred", contract=c.pk)
                ),
                "unbilled": Amt(
                    b.get("unbilled", ZERO), currency, lines_url(roles="unbilled", contract=c.pk)
                ),
            }
        )
    year = f"{period[:4]}-01"
    context = {
        **_currency_context(currency),
        "error": error,
        "period": period,
        "kpis": {
            "month": Amt(
                kpis["recognized_period"],
                currency,
                lines_url(roles=REVENUE, period=period, currency=currency),
            ),
            "ytd": Amt(
                kpis["recognized_ytd"],
                currency,
                lines_url(roles=REVENUE, start=year, end=reports.add_months(period, 1), currency=currency),
            ),
            "deferred": Amt(kpis["deferred"], currency, lines_url(roles="deferred", currency=currency)),
            "unbilled": Amt(kpis["unbilled"], currency, lines_url(roles="unbilled", currency=currency)),
            "last": kpis["last_recognized_period"],
        },
        "pending_approvals": Approval.objects.filter(status=Approval.Status.PENDING).count(),
        "runs": RevenueRun.objects.select_related("job", "requested_by")[:5],
        "page": page,
        "rows": rows,
        "q": q,
    }
    return render(request, "revrec/overview.html", context)


# --- contract revenue tab ---------------------------------------------------------------------------------


@login_required
@require_area("revenue")
def contract_revenue(request: HttpRequest, pk: int) -> HttpResponse:
    contract = get_object_or_404(Contract.objects.select_related("customer"), pk=pk)
    detail = reports.contract_revenue_detail(contract)
    c = contract.currency
    for row in detail["rows"]:
        po = row["po"]
        row["m_ssp"] = Amt(po.ssp, c)
        row["m_allocated"] = Amt(po.allocated_amount, c)
        row["m_recognized"] = Amt(row["recognized"], c, lines_url(roles=REVENUE, obligation=po.pk))
        row["m_billed"] = Amt(row["billed"], c, lines_url(roles=POSITION, kind="billing", obligation=po.pk))
        row["m_deferred"] = Amt(row["deferred"], c, lines_url(roles="deferred", obligation=po.pk))
        row["m_unbilled"] = Amt(row["unbilled"], c, lines_url(roles="unbilled", obligation=po.pk))
        row["end_inclusive"] = po.end - timedelta(days=1)
    ids = [po.pk for po in (r["po"] for r in detail["rows"])]
    for month in detail["months"]:
        p = month["period"]
        month["m_scheduled"] = Amt(month["scheduled"], c, quiet_zero=True)
        month["m_recognized"] = Amt(
            month["recognized"], c, lines_url(roles=REVENUE, contract=contract.pk, period=p), quiet_zero=True
        )
        month["m_usage"] = Amt(
            month["usage"], c, lines_url(roles=REVENUE, contract=contract.pk, period=p), quiet_zero=True
        )
        month["m_remaining"] = Amt(month["remaining"], c, quiet_zero=True)
        for cell in month["cells"]:
            cell["m"] = Amt(cell["line"].amount, c, quiet_zero=True) if cell["line"] else None
            cell["entry_url"] = (
                reverse("revenue-ledger-entry", args=[cell["line"].posted_entry_id])
                if cell["posted"]
                else None
            )
    t = detail["totals"]
    detail["m_totals"] = {
        "allocated": Amt(t["allocated"], c),
        "recognized": Amt(t["recognized"], c, lines_url(roles=REVENUE, contract=contract.pk)),
        "billed": Amt(t["billed"], c, lines_url(roles=POSITION, kind="billing", contract=contract.pk)),
        "deferred": Amt(t["deferred"], c, lines_url(roles="deferred", contract=contract.pk)),
        "unbilled": Amt(t["unbilled"], c, lines_url(roles="unbilled", contract=contract.pk)),
        "scheduled": Amt(t["scheduled"], c),
        "month_recognized": Amt(t["month_recognized"], c, lines_url(roles=REVENUE, contract=contract.pk)),
        "usage": Amt(t["usage"], c),
        "remaining": Amt(t["remaining"], c),
    }
    for v in detail["versions"]:
        v["m_amount"] = Amt(v["schedule"].amount, c)
    context = {
        **detail,
        "contract_url": contract_page_url(contract.pk),
        "m_price": Amt(contract.transaction_price, c),
        "customer_url": _reverse_or_none("customer", contract.customer_id),
        "po_ids": ids,
        "pending_schedules": sum(1 for v in detail["versions"] if v["schedule"].status == "pending_approval"),
        **variable_context(contract, request.user),
    }
    return render(request, "revrec/contract.html", context)


# --- revenue runs -----------------------------------------------------------------------------------------


@login_required
@require_area("revenue")
def runs(request: HttpRequest) -> HttpResponse:
    error, status = None, 200
    period_value = request.POST.get("period") or _this_period()
    if request.method == "POST":
        try:
            period = reports.parse_period(request.POST.get("period"))
            run = revenue_run_start(period=period, actor=request.user)
            messages.success(request, f"Revenue run #{run.pk} for {period} started.")
            return redirect("revenue-runs")
        except DomainError as exc:
            error, status = exc.detail, exc.status
    page = Paginator(RevenueRun.objects.select_related("job", "requested_by"), 25).get_page(
        request.GET.get("page")
    )
    outcomes = revenue_run_outcomes(list(page.object_list))
    for run in page.object_list:
        run.outcome = outcomes[run.pk]
    periods = list(AccountingPeriod.objects.order_by("-period")[:24])
    closed = {p.period for p in periods if p.status == AccountingPeriod.Status.CLOSED}
    context = {
        "page": page,
        "error": error,
        "period_value": period_value,
        "can_run": can_write(request.user, "revenue"),
        "periods": periods,
        "closed": sorted(closed),
        # A run under way: the table refreshes itself (entries and parked contracts as they happen).
        "live": any(run.status in (RevenueRun.Status.QUEUED, RevenueRun.Status.RUNNING) for run in page),
    }
    return render(request, "revrec/runs.html", context, status=status)


# --- SSP book ---------------------------------------------------------------------------------------------


@login_required
@require_area("revenue")
def ssp_book(request: HttpRequest) -> HttpResponse:
    listed = filter_page(
        SSPFilter,
        request.GET,
        SSPEntry.objects.select_related("product", "created_by").order_by(
            "product__code", "currency", "-version"
        ),
    )
    entries, product = listed.qs, (request.GET.get("product") or "").strip()
    rows = []
    for e in entries[:1000]:
        c = e.currency
        rows.append(
            {
                "entry": e,
                "ssp": Amt(e.ssp, c) if e.ssp is not None else None,
                "low": Amt(e.ssp_low, c) if e.ssp_low is not None else None,
                "high": Amt(e.ssp_high, c) if e.ssp_high is not None else None,
            }
        )
    context = {
        "rows": rows,
        "product": product,
        "filter_errors": listed.errors,
        "can_propose": can_write(request.user, "revenue"),
    }
    return render(request, "revrec/ssp.html", context)
