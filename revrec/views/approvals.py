"""The approval queue: every pending request, decided one by one or in bulk (maker-checker)."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from compliance.approvals import SelfApproval, approval_decide, approval_kinds
from compliance.models import Approval
from revops.core.ui import require_area
from revops.errors import DomainError
from revops.roles import can_decide
from revrec.models import RevenueSchedule
from revrec.views.display import (
    ZERO,
    Amt,
)

# --- approval queue -------------------------------------------------------------------------------------


def _schedule_previews(approvals) -> dict[int, dict]:
    ids = [int(a.object_id) for a in approvals if a.kind == "revenue_schedule" and a.object_id.isdigit()]
    schedules = (
        RevenueSchedule.objects.filter(pk__in=ids)
        .select_related("obligation__contract__customer", "obligation__product", "prepared_by")
        .prefetch_related("lines")
    )
    previous = {
        s.obligation_id: {ln.period: ln.amount for ln in s.lines.all()}
        for s in RevenueSchedule.objects.filter(
            obligation_id__in=[s.obligation_id for s in schedules], status=RevenueSchedule.Status.APPROVED
        ).prefetch_related("lines")
    }
    out = {}
    for s in schedules:
        c = s.currency
        before = previous.get(s.obligation_id, {})
        periods = sorted({ln.period for ln in s.lines.all()} | set(before))
        amounts = {ln.period: ln.amount for ln in s.lines.all()}
        out[s.pk] = {
            "schedule": s,
            "amount": Amt(s.amount, c),
            "has_previous": bool(before),
            "lines": [
                {
                    "period": p,
                    "amount": Amt(amounts.get(p, ZERO), c, quiet_zero=True),
                    "previous": Amt(before.get(p, ZERO), c, quiet_zero=True),
                    "change": Amt(amounts.get(p, ZERO) - before.get(p, ZERO), c, quiet_zero=True),
                }
                for p in periods
            ],
        }
    return out


OPTION_LABELS = {
    "separate_contract": "Separate",
    "prospective": "Prospective",
    "cumulative_catch_up": "Catch-up",
}


def _modification_previews(approvals) -> dict[int, dict]:
    """Contract modifications: each treatment's effect side by side (from the stored analysis)."""
    from revrec.models import ContractModification

    wanted = {
        int(a.object_id): a.pk
        for a in approvals
        if a.object_type == "revrec.contractmodification" and a.object_id.isdigit()
    }
    out = {}
    for m in ContractModification.objects.filter(pk__in=wanted).select_related("contract"):
        analysis = m.analysis or {}
        c = m.contract.currency
        options = [
            k
            for k in OPTION_LABELS
            if any(k in (o.get("options") or {}) for o in analysis.get("obligations", []))
        ]

        def amt(value, c=c):
            try:
                return Amt(Decimal(str(value)), c)
            except (ArithmeticError, ValueError):
                return "—"

        out[wanted[m.pk]] = {
            "contract_id": m.contract_id,
            "contract_number": m.contract.number,
            "effective_date": m.effective_date,
            "reason": m.reason,
            "proposed_label": m.get_proposed_treatment_display(),
            "option_labels": [OPTION_LABELS[k] for k in options],
            "obligations": [
                {
                    "key": o.get("key", "?"),
                    "new": o.get("new", False),
                    "old": amt(o.get("old_allocation", 0)),
                    "new_allocation": amt(o.get("new_allocation", 0)),
                    "recognized": amt(o.get("recognized_to_date", 0)),
                    "adjustments": [
                        amt((o.get("options") or {}).get(k, {}).get("adjustment", 0)) for k in options
                    ],
                }
                for o in analysis.get("obligations", [])
            ],
        }
    return out


def _decide(request: HttpRequest) -> tuple[list[str], list[dict], int]:
    """Apply the posted decision(s). Returns (done, errors, status)."""
    ids = [i for i in request.POST.getlist("ids") if i.isdigit()]
    action = request.POST.get("action")
    comment = (request.POST.get("comment") or "").strip()
    if action not in ("approve", "reject"):
        return [], [{"approval": None, "message": "Choose approve or reject."}], 400
    if not ids:
        return [], [{"approval": None, "message": "Select at least one request."}], 400
    if action == "reject" and not comment:
        return (
            [],
            [{"approval": None, "message": "Say why you reject it: a comment is required to reject."}],
            400,
        )
    done, errors, status = [], [], 200
    for approval in Approval.objects.filter(pk__in=ids).order_by("id"):
        try:
            approval_decide(
                approval=approval, user=request.user, approve=action == "approve", comment=comment
            )
            done.append(approval.summary)
        except DomainError as exc:
            errors.append({"approval": approval, "message": exc.detail})
            if isinstance(exc, SelfApproval) or status == 200:
                status = 409 if isinstance(exc, SelfApproval) else exc.status
    return done, errors, status


@login_required
@require_area("approvals")
def approvals(request: HttpRequest) -> HttpResponse:
    errors, status = [], 200
    if request.method == "POST":
        done, errors, status = _decide(request)
        verb = "Approved" if request.POST.get("action") == "approve" else "Rejected"
        if done:
            messages.success(request, f"{verb} {len(done)} request{'s' if len(done) != 1 else ''}.")
        if not errors:
            query = request.GET.urlencode()
            return redirect(reverse("revenue-approvals") + (f"?{query}" if query else ""))
    kinds = approval_kinds()
    kind = request.GET.get("kind") or ""
    pending = (
        Approval.objects.filter(status=Approval.Status.PENDING)
        .select_related("requested_by")
        .order_by("requested_at", "id")
    )
    if kind:
        pending = pending.filter(kind=kind)
    pending = list(pending[:500])
    previews = _schedule_previews(pending)
    modifications = _modification_previews(pending)
    decider = can_decide(request.user)
    now = timezone.now()
    selected = set(request.POST.getlist("ids")) if errors else set()
    rows = []
    for a in pending:
        own = a.requested_by_id is not None and a.requested_by_id == request.user.pk
        rows.append(
            {
                "approval": a,
                "kind_label": kinds[a.kind].label if a.kind in kinds else a.kind,
                "own": own,
                "can_decide": decider and not own,
                "age_days": (now - a.requested_at).days,
                "preview": previews.get(int(a.object_id))
                if a.kind == "revenue_schedule" and a.object_id.isdigit()
                else None,
                "modification": modifications.get(a.pk),
                "selected": str(a.pk) in selected,
                "payload": a.payload or None,
            }
        )
    recent = (
        Approval.objects.exclude(status=Approval.Status.PENDING)
        .select_related("requested_by", "decided_by")
        .order_by("-decided_at", "-id")[:15]
    )
    context = {
        "rows": rows,
        "errors": errors,
        "decider": decider,
        "can_bulk": any(r["can_decide"] for r in rows),
        "kinds": sorted(((k, h.label) for k, h in kinds.items()), key=lambda x: x[1]),
        "kind": kind,
        "recent": [
            {"approval": a, "kind_label": kinds[a.kind].label if a.kind in kinds else a.kind} for a in recent
        ],
        "posted_comment": request.POST.get("comment", "") if errors else "",
    }
    return render(request, "revrec/approvals.html", context, status=status)
