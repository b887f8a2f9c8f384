"""The approval queue: one page for every maker-checker request (revenue schedules, contract
modifications, SSP changes, exception waivers, period reopenings, price overrides…), decided one by one
or in bulk through ``approval_decide``. Each request shows what approving it applies — the content
bound when it was requested — and that content's SHA-256; a request whose content changed since is
refused (409) and replaced by a new one. The requester gets 409, a non-approver 403, a rejection
without a comment 400 — shown on the page with what was typed kept. Apps show what approving a
request of their kind would do through ``register_approval_preview``."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from compliance.services.close import CLOSE
from compliance.services.exceptions import compliance_run
from compliance.views.approval_terms import approval_terms, period_scope
from compliance.views.approvals_export import approvals_csv
from compliance.views.close_readiness import close_readiness
from compliance.views.display import PERIOD_RE, change_rows, object_link
from revops.core.approvals.models import Approval
from revops.core.approvals.outcomes import approval_withdraw
from revops.core.approvals.registry import approval_kinds, approval_previews
from revops.core.approvals.services import SelfApproval, approval_decide
from revops.core.ids import parse_id, parse_ids
from revops.core.listing import wants_csv
from revops.core.ui import require_area
from revops.errors import DomainError
from revops.roles import can_decide, can_write
from revrec.models import AccountingPeriod

PENDING_SHOWN = 500


def _decide(request: HttpRequest) -> tuple[list[Approval], list[dict], int]:
    """Apply the posted decision to the selected requests. Returns (decided, errors, status)."""
    ids = parse_ids(request.POST.getlist("ids"))
    action = request.POST.get("action")
    comment = (request.POST.get("comment") or "").strip()
    if action not in ("approve", "reject"):
        return [], [{"approval": None, "message": "Choose approve or reject."}], 400
    if not ids:
        return [], [{"approval": None, "message": "Select at least one request."}], 400
    if action == "reject" and not comment:
        message = "Say why you reject it. A comment is required to reject."
        return [], [{"approval": None, "message": message}], 400
    done, errors, status = [], [], 200
    for approval in Approval.objects.filter(pk__in=ids).order_by("id"):
        try:
            approval_decide(
                approval=approval, user=request.user, approve=action == "approve", comment=comment
            )
            done.append(approval)
        except DomainError as exc:
            errors.append({"approval": approval, "message": exc.detail})
            if status == 200 or isinstance(exc, SelfApproval):
                status = exc.status
    return done, errors, status


@login_required
@require_area("approvals")
def approval_queue(request: HttpRequest) -> HttpResponse:
    errors, status = [], 200
    if request.method == "GET" and wants_csv(request):
        return approvals_csv(request, lambda qs: _filtered(qs, request, _filters(request)))
    if request.method == "POST":
        done, errors, status = _decide(request)
        verb = "Approved" if request.POST.get("action") == "approve" else "Rejected"
        if len(done) == 1:
            messages.success(request, f"{verb}: {done[0].summary}")
        elif done:
            messages.success(request, f"{verb} {len(done)} requests.")
        if not errors:
            query = request.GET.urlencode()
            return redirect(reverse("approvals") + (f"?{query}" if query else ""))
    return render(request, "compliance/approvals.html", _context(request, errors), status=status)


@login_required
@require_area("compliance", write=True)
@require_POST
def approval_run_checks(request: HttpRequest, pk: int) -> HttpResponse:
    """Run the checks from a pending period-close request whose check run went stale (the books
    changed after it): the same run as the compliance dashboard's, then back to the request, which
    can be decided once its checklist is green again (approving checks the whole checklist again)."""
    approval = get_object_or_404(Approval, pk=pk, kind=CLOSE)
    back = reverse("approvals") + f"?kind={CLOSE}#approval-{approval.pk}"
    if approval.status != Approval.Status.PENDING:
        messages.error(
            request, f"Request #{approval.pk} was already {approval.get_status_display().lower()}."
        )
        return redirect(back)
    run = compliance_run(trigger="close_approval", actor=request.user)
    failing = sum(1 for result in run.results.values() if result["status"] == "fail")
    ran = (
        f"Check run #{run.pk}: all {len(run.results)} checks pass."
        if not failing
        else f"Check run #{run.pk}: {failing} of {len(run.results)} checks fail (their findings are open "
        "exceptions)."
    )
    if close_readiness([approval]).get(approval.pk) is None:
        key = AccountingPeriod.objects.filter(pk=approval.object_id).values_list("period", flat=True).first()
        messages.success(request, f"{ran} Request #{approval.pk} to close {key} can be decided now.")
    else:
        messages.warning(request, f"{ran} Approving request #{approval.pk} is still refused: see below.")
    return redirect(back)


@login_required
@require_area("approvals")
@require_POST
def approval_withdraw_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The requester withdraws their own pending request (403 for anyone else, 409 once decided)."""
    approval = get_object_or_404(Approval, pk=pk)
    try:
        approval_withdraw(approval=approval, user=request.user, reason=request.POST.get("reason", ""))
    except DomainError as error:
        messages.error(request, f"Not withdrawn: {error.detail}")
        return redirect(reverse("approvals") + "?requester=mine")
    messages.success(request, f"Withdrawn: {approval.summary} (request #{approval.pk}).")
    return redirect(reverse("approvals") + "?requester=mine")


def _filters(request: HttpRequest) -> dict:
    """The queue's filters from the URL: kind, period (YYYY-MM: the requests that block its close and
    its own close or reopen) and requester (a username, or ``mine``)."""
    kind = request.GET.get("kind") or ""
    period = request.GET.get("period") or ""
    requester = request.GET.get("requester") or ""
    one = request.GET.get("request") or ""
    return {
        # One request by number (the global search's link to a decided request): it and nothing else.
        "request": parse_id(one),
        "kind": kind,
        "period": period if PERIOD_RE.fullmatch(period) else "",
        "period_invalid": bool(period) and not PERIOD_RE.fullmatch(period),
        "requester": requester,
    }


def _filtered(qs, request: HttpRequest, f: dict):
    if f["request"] is not None:
        qs = qs.filter(pk=f["request"])
    if f["kind"]:
        qs = qs.filter(kind=f["kind"])
    if f["period"]:
        qs = qs.filter(period_scope(f["period"]))
    if f["requester"] == "mine":
        qs = qs.filter(requested_by_id=request.user.pk)
    elif f["requester"]:
        qs = qs.filter(requested_by__username=f["requester"])
    return qs


def _context(request: HttpRequest, errors: list[dict]) -> dict:
    kinds = approval_kinds()
    f = _filters(request)
    pending = Approval.objects.filter(status=Approval.Status.PENDING).select_related("requested_by")
    pending = list(_filtered(pending, request, f).order_by("requested_at", "id")[:PENDING_SHOWN])
    previews = approval_previews(pending)
    terms = approval_terms(pending)
    readiness = close_readiness(pending)
    decider = can_decide(request.user)
    now = timezone.now()
    posted = set(request.POST.getlist("ids")) if errors else set()
    posted_comment = request.POST.get("comment", "") if errors else ""
    rows = []
    for a in pending:
        own = a.requested_by_id is not None and a.requested_by_id == request.user.pk
        payload = a.payload or {}
        rows.append(
            {
                "approval": a,
                "kind_label": kinds[a.kind].label if a.kind in kinds else a.kind,
                "own": own,
                "can_decide": decider and not own,
                "age_days": (now - a.requested_at).days,
                "object": object_link(a.object_type, a.object_id),
                "terms": terms.get(a.pk),
                "readiness": readiness.get(a.pk),
                "note": payload.get("comment") or payload.get("reason") or "",
                "preview": previews.get(a.pk),
                # What the note above does not already say (a waiver's comment, a reopen's reason).
                "payload": change_rows({k: v for k, v in payload.items() if k not in ("comment", "reason")})
                if a.pk not in previews
                else None,
                # Exactly what approving applies (bound when requested) and the SHA-256 it is held to.
                "bound": json.dumps(a.content, indent=2, sort_keys=True, ensure_ascii=False)
                if a.content
                else "",
                "bound_table": change_rows(a.content),
                "selected": str(a.pk) in posted,
                "comment": posted_comment if str(a.pk) in posted else "",
            }
        )
    decided = Approval.objects.exclude(status=Approval.Status.PENDING).select_related(
        "requested_by", "decided_by"
    )
    recent = list(_filtered(decided, request, f).order_by("-decided_at", "-id")[:15])
    recent_terms = approval_terms(recent)
    mine = decided.filter(requested_by_id=request.user.pk).order_by("-decided_at", "-id")[:10]
    return {
        "rows": rows,
        "errors": errors,
        "decider": decider,
        "can_run_checks": can_write(request.user, "compliance"),
        "can_bulk": sum(1 for r in rows if r["can_decide"]) > 1,
        "kinds": sorted(((k, h.label) for k, h in kinds.items()), key=lambda x: x[1]),
        "filters": f,
        "kind": f["kind"],
        "filtered": bool(f["kind"] or f["period"] or f["requester"] or f["request"] is not None),
        "requesters": _requesters(),
        "recent": [
            {
                "approval": a,
                "kind_label": kinds[a.kind].label if a.kind in kinds else a.kind,
                "object": object_link(a.object_type, a.object_id),
                "terms": recent_terms.get(a.pk),
            }
            for a in recent
        ],
        "mine": [
            {"approval": a, "kind_label": kinds[a.kind].label if a.kind in kinds else a.kind} for a in mine
        ],
        "posted_comment": posted_comment if len(posted) > 1 else "",
    }


def _requesters() -> list[str]:
    """Usernames of the people with a pending request (the requester filter's choices)."""
    return sorted(
        set(
            Approval.objects.filter(status=Approval.Status.PENDING, requested_by__isnull=False)
            .values_list("requested_by__username", flat=True)
            .distinct()
        )
    )
