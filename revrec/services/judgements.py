"""Judgements that move revenue and wait for a second person (maker-checker, accounting.md §10a): a
variable-consideration re-estimate and an input-method obligation's total expected costs share one way
of being requested, rejected (audited, nothing changes) and registered as an approval kind."""

from __future__ import annotations

from collections.abc import Callable

from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.errors import Conflict


def judgement_request(*, kind: str, obj, summary: str, payload: dict, actor, what: str):
    """Ask for approval of ``payload``; asking again with the same figures returns the pending request,
    different figures while one waits → 409 naming it (``what`` says what waits)."""
    from revops.core.approvals.services import approval_request

    approval = approval_request(kind=kind, obj=obj, summary=summary, payload=payload, requested_by=actor)
    if approval.payload != payload:
        raise Conflict(
            f"{what} waits for approval (request #{approval.pk}); decide it before submitting another."
        )
    return approval


def register_judgement(
    kind: str,
    *,
    label: str,
    on_approved: Callable,
    content: Callable,
    rejected_action: AuditAction,
    rejected_changes: Callable[[dict], dict],
) -> None:
    """Register the approval kind: approving applies the request's payload (``on_approved``); rejecting
    changes nothing and is audited as ``rejected_action`` with ``rejected_changes(payload)``, the
    approval and the approver's comment."""
    from revops.core.approvals.registry import register_approval_kind

    def on_rejected(approval, user) -> None:
        audit_record(
            actor=user,
            action=rejected_action,
            object_type=approval.object_type,
            object_id=approval.object_id,
            changes={
                "approval": approval.pk,
                **rejected_changes(approval.payload or {}),
                "comment": approval.comment,
            },
        )

    register_approval_kind(
        kind, on_approved=on_approved, on_rejected=on_rejected, label=label, content=content
    )
