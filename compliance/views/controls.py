"""Compliance dashboard and exceptions: run the checks, resolve with the fix (refused with 409 while
the check still fails), request a waiver, decide a waiver someone else requested."""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Case, Count, IntegerField, Value, When
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from compliance.checks import CHECKS
from compliance.filters import ExceptionFilter
from compliance.models import CheckRun, ComplianceException
from compliance.services.exceptions import (
    WAIVER,
    compliance_run,
    exception_resolve,
    exception_waive_request,
)
from compliance.views.display import (
    EXCEPTION_TYPE,
    SEVERITIES,
    decision,
    object_link,
    readable,
    trigger_label,
    with_items,
)
from revops.core.approvals.models import Approval
from revops.core.approvals.services import approval_decide
from revops.core.audit.models import AuditEvent
from revops.core.filters import filter_page
from revops.core.ui import require_area
from revops.errors import DomainError
from revops.roles import can_decide, can_write


@login_required
@require_area("compliance")
def dashboard(request):
    runs = list(CheckRun.objects.select_related("started_by").order_by("-id")[:20])
    open_qs = ComplianceException.objects.filter(status=ComplianceException.Status.OPEN)
    open_by_check = dict(open_qs.values_list("check_code").annotate(n=Count("id")).order_by())
    by_severity = dict(open_qs.values_list("severity").annotate(n=Count("id")).order_by())
    checks = []
    for code, check in CHECKS.items():
        run = next((r for r in runs if code in (r.results or {})), None)
        result = run.results[code] if run else {}
        checks.append(
            {
                "check": check,
                "status": result.get("status"),
                "findings": result.get("findings"),
                "run": run,
                "open": open_by_check.get(code, 0),
            }
        )
    checks.sort(
        key=lambda c: ({"fail": 0, None: 1, "pass": 2}[c["status"]], SEVERITIES.index(c["check"].severity))
    )
    tally = Counter(c["status"] for c in checks)
    pending = Approval.objects.filter(status=Approval.Status.PENDING)
    pending_count = pending.count()
    awaiting_me = (
        pending.exclude(requested_by_id=request.user.pk).count()
        if pending_count and can_decide(request.user)
        else 0
    )
    context = {
        "last_run": runs[0] if runs else None,
        "last_trigger": trigger_label(runs[0].trigger) if runs else "",
        "recent_runs": [
            {
                "run": r,
                "trigger": trigger_label(r.trigger),
                "failing": sum(1 for x in (r.results or {}).values() if x.get("status") == "fail"),
            }
            for r in runs[:5]
        ],
        "checks": checks,
        "passing": tally["pass"],
        "failing": tally["fail"],
        "not_run": tally[None],
        "severities": [(s, ComplianceException.Severity(s).label, by_severity.get(s, 0)) for s in SEVERITIES],
        "open_total": sum(by_severity.values()),
        "pending_count": pending_count,
        "awaiting_me": awaiting_me,
        "can_run": can_write(request.user, "compliance"),
    }
    return render(request, "compliance/dashboard.html", context)


@login_required
@require_area("compliance", write=True)
@require_POST
def run_checks(request):
    run = compliance_run(trigger="manual", actor=request.user)
    failing = sorted(c for c, r in run.results.items() if r["status"] == "fail")
    if failing:
        messages.warning(
            request,
            f"Check run #{run.pk}: {len(failing)} of {len(run.results)} checks fail. Their findings are open exceptions.",
        )
    else:
        messages.success(request, f"Check run #{run.pk}: all {len(run.results)} checks pass.")
    return redirect("compliance")


def _severity_rank():
    return Case(
        *[When(severity=s, then=Value(i)) for i, s in enumerate(SEVERITIES)],
        default=Value(len(SEVERITIES)),
        output_field=IntegerField(),
    )


@login_required
@require_area("compliance")
def exception_list(request):
    # Open exceptions unless told otherwise ("all": every status); the rest is the API's filter set.
    filters = {
        "status": request.GET.get("status") or ComplianceException.Status.OPEN,
        "severity": request.GET.get("severity") or "",
        "check": request.GET.get("check") or "",
    }
    data = {k: v for k, v in filters.items() if not (k == "status" and v == "all")}
    listed = filter_page(ExceptionFilter, data, ComplianceException.objects.select_related("owner"))
    qs = listed.qs
    page = Paginator(qs.annotate(rank=_severity_rank()).order_by("rank", "-id"), 50).get_page(
        request.GET.get("page")
    )
    waivers = set(
        Approval.objects.filter(
            kind=WAIVER,
            object_type=EXCEPTION_TYPE,
            status=Approval.Status.PENDING,
            object_id__in=[str(x.pk) for x in page],
        ).values_list("object_id", flat=True)
    )
    context = {
        "page": page,
        "rows": [
            {
                "x": x,
                "check": CHECKS.get(x.check_code),
                "object": object_link(x.object_type, x.object_id, lookup=False),
                "waiver_pending": str(x.pk) in waivers,
            }
            for x in page
        ],
        "filters": filters,
        "filter_errors": listed.errors,
        "query": urlencode({k: v for k, v in filters.items() if v}),
        "statuses": ComplianceException.Status.choices,
        "severities": ComplianceException.Severity.choices,
        "checks": sorted(((c.code, c.title) for c in CHECKS.values()), key=lambda c: c[1]),
    }
    if request.htmx and request.htmx.target == "exception-results":
        return render(request, "compliance/exceptions.html#results", context)
    return render(request, "compliance/exceptions.html", context)


def _exception_page(request, exc: ComplianceException, *, status: int = 200, error: dict | None = None):
    approvals = list(
        Approval.objects.filter(
            kind=WAIVER, object_type=EXCEPTION_TYPE, object_id=str(exc.pk)
        ).select_related("requested_by", "decided_by")
    )
    pending = next((a for a in approvals if a.status == Approval.Status.PENDING), None)
    own = pending is not None and pending.requested_by_id == request.user.pk
    history = AuditEvent.objects.filter(
        object_type=EXCEPTION_TYPE, object_id=str(exc.pk)
    ) | AuditEvent.objects.filter(
        object_type="compliance.approval", object_id__in=[str(a.pk) for a in approvals]
    )
    is_open = exc.status == ComplianceException.Status.OPEN
    writer = can_write(request.user, "compliance")
    context = {
        "x": exc,
        "check": CHECKS.get(exc.check_code),
        "object": object_link(exc.object_type, exc.object_id),
        "details": readable(exc.details),
        "approvals": approvals,
        "pending": pending,
        "own_pending": own,
        "can_act": is_open and writer,
        "can_waive": is_open and writer and pending is None,
        "can_decide_pending": pending is not None and can_decide(request.user) and not own,
        "history": with_items(history.order_by("seq")),
        "error": error or {},
        "posted": request.POST.get("comment", "") if error else "",
    }
    return render(request, "compliance/exception_detail.html", context, status=status)


@login_required
@require_area("compliance")
def exception_detail(request, pk: int):
    return _exception_page(
        request, get_object_or_404(ComplianceException.objects.select_related("owner", "resolved_by"), pk=pk)
    )


@login_required
@require_area("compliance", write=True)
@require_POST
def exception_resolve_view(request, pk: int):
    exc = get_object_or_404(ComplianceException, pk=pk)
    try:
        exception_resolve(exception=exc, comment=request.POST.get("comment", ""), actor=request.user)
    except DomainError as error:
        exc.refresh_from_db()
        return _exception_page(request, exc, status=error.status, error={"resolve": error.detail})
    messages.success(request, "Resolved: the check no longer finds this fault.")
    return redirect("compliance-exception", pk=pk)


@login_required
@require_area("compliance", write=True)
@require_POST
def exception_waive_view(request, pk: int):
    exc = get_object_or_404(ComplianceException, pk=pk)
    try:
        approval = exception_waive_request(
            exception=exc, comment=request.POST.get("comment", ""), actor=request.user
        )
    except DomainError as error:
        exc.refresh_from_db()
        return _exception_page(request, exc, status=error.status, error={"waive": error.detail})
    messages.success(
        request, f"Waiver requested (approval #{approval.pk}): another approver must sign it off."
    )
    return redirect("compliance-exception", pk=pk)


@login_required
@require_area("approvals", write=True)
@require_POST
def exception_decide_view(request, pk: int):
    exc = get_object_or_404(ComplianceException, pk=pk)
    approval = get_object_or_404(
        Approval,
        pk=request.POST.get("approval") or 0,
        kind=WAIVER,
        object_type=EXCEPTION_TYPE,
        object_id=str(pk),
    )
    try:
        approve, comment = decision(request)
        approval_decide(approval=approval, user=request.user, approve=approve, comment=comment)
    except DomainError as error:
        exc.refresh_from_db()
        return _exception_page(request, exc, status=error.status, error={"decide": error.detail})
    messages.success(request, "Waiver approved: the exception is waived." if approve else "Waiver rejected.")
    return redirect("compliance-exception", pk=pk)
