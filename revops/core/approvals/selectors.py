"""Reads of the approval queue: what waits for one person's decision (never their own), and who made
a request (its makers: the requester and whoever asked for a request it replaced)."""

from __future__ import annotations

from revops.core.approvals.models import Approval


def approvals_waiting(user):
    """Pending requests ``user`` did not ask for, oldest first (what an approver's queue holds)."""
    return (
        Approval.objects.filter(status=Approval.Status.PENDING)
        .exclude(requested_by_id=getattr(user, "pk", None))
        .select_related("requested_by")
        .order_by("requested_at", "id")
    )


def approvals_waiting_count(user) -> int:
    return approvals_waiting(user).count()


def approval_makers(approval: Approval) -> set[int]:
    """Everyone who asked for this request or a request it replaced (each change makes a maker)."""
    out, seen, current = set(), set(), approval
    while current is not None and current.pk not in seen:
        seen.add(current.pk)
        if current.requested_by_id is not None:
            out.add(current.requested_by_id)
        current = current.supersedes if current.supersedes_id else None
    return out
