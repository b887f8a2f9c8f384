"""Billing-run pages: the list with the "Start billing run" form, and the run page with the job's
progress bar (the core job-progress partial, which polls itself), the parked failures and the
invoices created — refreshed by HTMX while the run is going.

``billing_run_start`` returns at once; its planning and work run on Celery workers in production
and in-process in the quick start (eager tasks), so the run may already be complete on redirect."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from billing.display import decorate_invoices
from billing.invoicing.forms import BillingRunForm
from billing.invoicing.runs import billing_run_start
from billing.invoicing.selectors import billing_run_usage_cutoff
from billing.models import BillingRun, BillingRunItem, Invoice
from revops.core.forms import apply_errors
from revops.core.ui import require_area
from revops.errors import DomainError
from revops.formatting import day
from revops.roles import can_write

PAGE_SIZE = 30


def _runs():
    return BillingRun.objects.select_related("job", "requested_by").annotate(
        n_failed=Count("items", filter=Q(items__status=BillingRunItem.Status.FAILED)),
        n_items=Count("items"),
    )


@login_required
@require_area("billing")
def run_list(request: HttpRequest) -> HttpResponse:
    form = BillingRunForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                run = billing_run_start(
                    as_of=form.cleaned_data["as_of"],
                    customers=form.cleaned_data["customers"] or None,
                    actor=request.user,
                )
            except DomainError as exc:
                apply_errors(
                    form,
                    exc.errors,
                    rename={
                        f"customers[{i}]": "customers" for i in range(len(form.cleaned_data["customers"]))
                    },
                )
                if not exc.errors:
                    form.add_error(None, exc.detail)
            else:
                messages.success(request, f"Billing run #{run.pk} as of {day(run.as_of)} started.")
                return redirect("billing-run", pk=run.pk)
    page = Paginator(_runs().order_by("-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "billing/runs/list.html",
        {
            "form": form,
            "page": page,
            "runs": page.object_list,
            "can_edit": can_write(request.user, "billing"),
        },
        status=400 if form.is_bound else 200,
    )


def _run_context(run: BillingRun) -> dict:
    items = run.items.all()
    counts = {row["status"]: row["n"] for row in items.order_by().values("status").annotate(n=Count("id"))}
    failures = list(
        items.filter(status=BillingRunItem.Status.FAILED)
        .select_related("customer", "contract")
        .order_by("billing_date", "id")[:200]
    )
    for item in failures:
        item.summary = item.error.strip().splitlines()[0] if item.error.strip() else "Unknown error"
    invoices = decorate_invoices(
        Invoice.objects.filter(pk__in=items.filter(invoice__isnull=False).values("invoice"))
        .select_related("customer", "contract")
        .order_by("billing_date", "customer__name", "id")[:500]
    )
    finished = run.status in (BillingRun.Status.COMPLETED, BillingRun.Status.FAILED)
    cutoff = billing_run_usage_cutoff(run=run)
    return {
        "cutoff": cutoff,
        "cutoff_lag": settle_text(cutoff.settle_seconds) if cutoff else "",
        "run": run,
        "job": run.job,
        "failures": failures,
        "invoices": invoices,
        "invoice_count": len(invoices),
        "counts": {
            "done": counts.get(BillingRunItem.Status.DONE, 0),
            "skipped": counts.get(BillingRunItem.Status.SKIPPED, 0),
            "failed": counts.get(BillingRunItem.Status.FAILED, 0),
            "pending": counts.get(BillingRunItem.Status.PENDING, 0),
        },
        "finished": finished,
        "drafts": sum(1 for i in invoices if i.status == Invoice.Status.DRAFT),
    }


def settle_text(seconds: int) -> str:
    """The settle lag in words ("2 minutes", "90 seconds")."""
    if seconds % 60 == 0:
        return f"{seconds // 60} minute{'s' if seconds != 60 else ''}"
    return f"{seconds} seconds"


@login_required
@require_area("billing")
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(BillingRun.objects.select_related("job", "requested_by"), pk=pk)
    return render(request, "billing/runs/detail.html", _run_context(run))


@login_required
@require_area("billing")
def run_live(request: HttpRequest, pk: int) -> HttpResponse:
    """The failures and invoices under the progress bar; polls itself until the run is finished."""
    run = get_object_or_404(BillingRun.objects.select_related("job"), pk=pk)
    return render(request, "billing/runs/detail.html#live", _run_context(run))
