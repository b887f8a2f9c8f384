"""Period close: the periods with their status, a period's checklist, close and reopen — each an approval
request (close refused with the failing items; the checklist's approval blocker opens the queue filtered
to the period)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from compliance.confirmations import close_confirmation
from compliance.services.close import (
    REOPEN,
    close_checklist,
    close_request_pending,
    period_close_request,
    period_reopen_request,
)
from compliance.views.display import PERIOD_TYPE, recent_periods, with_items
from revops.core.approvals.models import Approval
from revops.core.audit.models import AuditEvent
from revops.core.confirm import confirm_page, is_confirmed
from revops.core.ui import require_area
from revops.errors import DomainError
from revops.roles import can_write
from revrec.models import AccountingPeriod
from revrec.services.periods import latest_snapshot, period_bounds, reopen_refusal


@login_required
@require_area("periods")
def period_list(request):
    stored = {p.period: p for p in AccountingPeriod.objects.select_related("closed_by")}
    keys = sorted(set(stored) | set(recent_periods()), reverse=True)
    reopen = {
        a.object_id: a
        for a in Approval.objects.filter(kind=REOPEN, object_type=PERIOD_TYPE, status=Approval.Status.PENDING)
    }
    rows, checked = [], 0
    for key in keys:
        period = stored.get(key)
        closed = period is not None and period.status == AccountingPeriod.Status.CLOSED
        row = {
            "key": key,
            "period": period,
            "closed": closed,
            "reopen": reopen.get(str(period.pk)) if period else None,
        }
        if not closed and checked < 12:  # readiness of the most recent open periods
            items = close_checklist(key)
            row["done"], row["total"], checked = sum(i.ok for i in items), len(items), checked + 1
        rows.append(row)
    return render(request, "compliance/periods.html", {"rows": rows})


# checklist item -> where to fix it (shown when the page exists in this deployment)
CHECKLIST_FIX = {
    "previous_closed": ("compliance-periods", ""),
    "billing_run": ("billing-runs", ""),
    "drafts_finalized": ("invoices", "?status=draft"),
    "revenue_run": ("revenue-runs", ""),
    "schedules_approved": ("approvals", "?period={key}"),
    "estimates_reassessed": ("revenue", ""),
    "checks_current": ("compliance", ""),
    "no_critical_exceptions": ("compliance-exceptions", "?status=open&severity=critical"),
    "trial_balance": ("revenue-ledger", ""),
}


def checklist_fix_url(code: str, key: str) -> str | None:
    url_name, query = CHECKLIST_FIX.get(code, (None, ""))
    try:
        return reverse(url_name) + query.format(key=key) if url_name else None
    except NoReverseMatch:
        return None


def _period_page(request, key: str, *, status: int = 200, errors: list | None = None, error: str = ""):
    period = AccountingPeriod.objects.select_related("closed_by").filter(period=key).first()
    closed = period is not None and period.status == AccountingPeriod.Status.CLOSED
    reopenings = (
        list(
            Approval.objects.filter(
                kind=REOPEN, object_type=PERIOD_TYPE, object_id=str(period.pk)
            ).select_related("requested_by", "decided_by")
        )
        if period
        else []
    )
    pending = next((a for a in reopenings if a.status == Approval.Status.PENDING), None)
    writer = can_write(request.user, "periods")
    items = close_checklist(key)
    start, end = period_bounds(key)
    context = {
        "key": key,
        "period": period,
        "start": start,
        "last_day": end - timedelta(days=1),
        "closed": closed,
        "items": [
            {"item": i, "url": None if i.ok or closed else checklist_fix_url(i.code, key)} for i in items
        ],
        "ready": all(i.ok for i in items),
        "blocked_by_approvals": any(i.code == "schedules_approved" and not i.ok for i in items),
        "done": sum(i.ok for i in items),
        "reopenings": [a for a in reopenings if a.status != Approval.Status.PENDING],
        "pending": pending,
        "close_pending": None if closed else close_request_pending(key),
        "can_close": writer and not closed,
        "reopen_blocked": reopen_refusal(key) if closed and pending is None else None,
        "can_reopen": writer and closed and pending is None and reopen_refusal(key) is None,
        "snapshot": latest_snapshot(period) if closed else None,
        "history": with_items(
            AuditEvent.objects.filter(object_type=PERIOD_TYPE, object_id=str(period.pk)).order_by("seq")
        )
        if period
        else [],
        "errors": errors or [],
        "error": error,
        "posted_reason": request.POST.get("reason", "") if (errors or error) else "",
    }
    return render(request, "compliance/period.html", context, status=status)


@login_required
@require_area("periods")
def period_detail(request, key: str):
    return _period_page(request, key)


@login_required
@require_area("periods", write=True)
@require_POST
def period_close_view(request, key: str):
    if not is_confirmed(request) and all(item.ok for item in close_checklist(key)):
        return confirm_page(request, close_confirmation(key))
    try:
        approval = period_close_request(key=key, actor=request.user)
    except DomainError as error:
        failures = [e.message for e in error.errors if e.field.startswith("checklist.")]
        return _period_page(
            request, key, status=error.status, errors=failures, error=error.detail if not failures else ""
        )
    messages.success(
        request,
        f"Asked an approver to close {key} (request #{approval.pk}): it closes when another approver "
        "approves it.",
    )
    return redirect("compliance-period", key=key)


@login_required
@require_area("periods", write=True)
@require_POST
def period_reopen_view(request, key: str):
    try:
        approval = period_reopen_request(key=key, reason=request.POST.get("reason", ""), actor=request.user)
    except DomainError as error:
        return _period_page(request, key, status=error.status, error=error.detail)
    messages.success(
        request, f"Reopening {key} requested (approval #{approval.pk}): another approver must sign it off."
    )
    return redirect("compliance-period", key=key)
