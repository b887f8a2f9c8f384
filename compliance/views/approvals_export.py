"""The approval queue's CSV export (revops.core.listing): the requests the queue's filters select —
pending ones by default, ``?status=all`` (or approved / rejected / …) for the decided ones too — in
the queue's order, oldest first."""

from __future__ import annotations

from django.http import HttpRequest

from revops.core.approvals.models import Approval
from revops.core.listing import Column, csv_response

APPROVAL_COLUMNS = [
    Column("request", "pk"),
    Column("kind", "kind"),
    Column("status", "status"),
    Column("summary", "summary"),
    Column("object_type", "object_type"),
    Column("object_id", "object_id"),
    Column("requested_by", lambda a: a.requested_by.username if a.requested_by else ""),
    Column("requested_at", "requested_at"),
    Column("decided_by", lambda a: a.decided_by.username if a.decided_by else ""),
    Column("decided_at", "decided_at"),
    Column("comment", "comment"),
    Column("content_sha256", "content_hash"),
]


def approvals_selected(params, user=None) -> object:
    """The requests the queue's filters select: ``kind``, ``status`` (default pending; ``all``),
    ``requester`` (a username, or ``mine``: ``user``'s) and ``period`` (YYYY-MM: the requests that
    stand between it and its close, and its own close or reopen)."""
    from compliance.views.approval_terms import period_scope
    from compliance.views.display import PERIOD_RE

    qs = Approval.objects.select_related("requested_by", "decided_by")
    status = params.get("status") or Approval.Status.PENDING
    if status != "all":
        qs = qs.filter(status=status)
    if params.get("kind"):
        qs = qs.filter(kind=params["kind"])
    if params.get("requester") == "mine":
        qs = qs.filter(requested_by_id=getattr(user, "pk", None))
    elif params.get("requester"):
        qs = qs.filter(requested_by__username=params["requester"])
    if PERIOD_RE.fullmatch(params.get("period") or ""):
        qs = qs.filter(period_scope(params["period"]))
    return qs.order_by("requested_at", "id")


def approvals_csv(request: HttpRequest):
    return csv_response(approvals_selected(request.GET, request.user), APPROVAL_COLUMNS, filename="approvals")
