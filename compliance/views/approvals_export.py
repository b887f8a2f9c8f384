"""The approval queue's CSV export (revops.core.listing): the requests the queue's filters select —
pending ones by default, ``?status=all`` (or approved / rejected / …) for the decided ones too — in
the queue's order, oldest first; the queue's other filters are the queue's own."""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import QuerySet
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


def approvals_csv(request: HttpRequest, queue_filter: Callable[[QuerySet], QuerySet]):
    """The requests the queue's own filters select (``queue_filter``: kind, period, requester), with
    ``status`` (default pending; ``all``, approved, rejected…), oldest first."""
    qs = Approval.objects.select_related("requested_by", "decided_by")
    status = request.GET.get("status") or Approval.Status.PENDING
    if status != "all":
        qs = qs.filter(status=status)
    rows = queue_filter(qs).order_by("requested_at", "id")
    return csv_response(rows, APPROVAL_COLUMNS, filename="approvals")
