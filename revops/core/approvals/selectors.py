"""Reads of the approval queue for one person: what waits for their decision (never their own)."""

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
