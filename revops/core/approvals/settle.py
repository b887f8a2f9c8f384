"""A pending request's outcome, recorded the same way whoever settles it: the decider
(:mod:`revops.core.approvals.services`) or the requester withdrawing it
(:mod:`revops.core.approvals.outcomes`)."""

from __future__ import annotations

from django.utils import timezone

from revops.core.approvals.models import Approval
from revops.core.approvals.registry import approval_handler
from revops.core.audit.services import audit_record


def approval_settle(
    approval: Approval, *, user, status: str, comment: str, action: str, audited: dict
) -> None:
    """Record a locked pending request's outcome (approved, rejected or withdrawn), audit it with
    ``audited`` beside the kind, object and content hash, and run the kind's handler: ``on_approved``
    for an approval, ``on_rejected`` (when the kind has one) for any other outcome."""
    approval.status = status
    approval.decided_by = user
    approval.decided_at = timezone.now()
    approval.comment = comment
    approval.save(update_fields=["status", "decided_by", "decided_at", "comment"])
    audit_record(
        actor=user,
        action=action,
        obj=approval,
        changes={
            "kind": approval.kind,
            "object": f"{approval.object_type}:{approval.object_id}",
            **audited,
            "content_hash": approval.content_hash,
        },
    )
    handler = approval_handler(approval.kind)
    if status == Approval.Status.APPROVED:
        handler.on_approved(approval, user)
    elif handler is not None and handler.on_rejected:
        handler.on_rejected(approval, user)
