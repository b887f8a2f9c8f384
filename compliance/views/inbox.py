"""The compliance approval inbox: every pending request grouped by kind, decided through
``approval_decide`` (the requester gets 409, a non-approver 403, a rejection without comment 400)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from compliance.approvals import approval_decide
from compliance.models import Approval
from compliance.views.display import decision, kind_label, object_link
from revops.core.ui import require_area
from revops.errors import DomainError
from revops.roles import can_decide


def _inbox_page(request, *, status: int = 200, error: dict | None = None):
    pending = list(
        Approval.objects.filter(status=Approval.Status.PENDING)
        .select_related("requested_by")
        .order_by("kind", "requested_at", "id")
    )
    decider = can_decide(request.user)
    groups: dict[str, dict] = {}
    for a in pending:
        own = a.requested_by_id is not None and a.requested_by_id == request.user.pk
        group = groups.setdefault(a.kind, {"kind": a.kind, "label": kind_label(a.kind), "rows": []})
        group["rows"].append(
            {
                "a": a,
                "own": own,
                "can_decide": decider and not own,
                "object": object_link(a.object_type, a.object_id),
                "note": (a.payload or {}).get("comment") or (a.payload or {}).get("reason") or "",
            }
        )
    recent = Approval.objects.exclude(status=Approval.Status.PENDING).select_related(
        "requested_by", "decided_by"
    )
    context = {
        "groups": sorted(groups.values(), key=lambda g: g["label"]),
        "pending_count": len(pending),
        "decider": decider,
        "recent": [{"a": a, "label": kind_label(a.kind)} for a in recent.order_by("-decided_at", "-id")[:10]],
        "error": error,
    }
    return render(request, "compliance/approvals.html", context, status=status)


@login_required
@require_area("approvals")
def approval_inbox(request):
    return _inbox_page(request)


@login_required
@require_area("approvals", write=True)
@require_POST
def approval_decide_view(request, pk: int):
    approval = get_object_or_404(Approval, pk=pk)
    try:
        approve, comment = decision(request)
        approval_decide(approval=approval, user=request.user, approve=approve, comment=comment)
    except DomainError as error:
        return _inbox_page(
            request,
            status=error.status,
            error={"approval": approval, "message": error.detail, "comment": request.POST.get("comment", "")},
        )
    messages.success(request, f"{'Approved' if approve else 'Rejected'}: {approval.summary}")
    return redirect("compliance-approvals")
