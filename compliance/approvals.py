"""The one approval service (maker-checker) for schedules, modifications, discounts, SSP changes,
overrides, waivers and period reopen. The requester can never decide their own request; every
decision is audited with its comment, in the same transaction as what approving does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from compliance.audit import audit_record
from compliance.models import Approval
from revops.errors import Conflict, Forbidden, InvalidTransition, ValidationFailed
from revops.roles import can_decide


class SelfApproval(Conflict):
    slug = "self-approval"
    title = "You cannot decide your own request"


@dataclass(frozen=True)
class Handler:
    on_approved: Callable[[Approval, object], None]
    on_rejected: Callable[[Approval, object], None] | None = None
    label: str = ""


_HANDLERS: dict[str, Handler] = {}
# kind -> (build, template): the approval queue shows, under a request of that kind, ``template``
# rendered with ``p`` = build(approvals)[approval.pk] (one call per page, for all requests of the kind).
_PREVIEWS: dict[str, tuple[Callable[[list[Approval]], dict[int, dict]], str]] = {}


def register_approval_preview(kind: str, *, build, template: str) -> None:
    """Let the app that owns a kind show what approving it would do (a schedule's months, a
    modification's treatments) in the one approval queue, without the queue importing that app."""
    _PREVIEWS[kind] = (build, template)


def approval_previews(approvals: list[Approval]) -> dict[int, dict]:
    """{approval pk: {"template", "p"}} for the requests whose kind has a registered preview."""
    out: dict[int, dict] = {}
    for kind, (build, template) in _PREVIEWS.items():
        of_kind = [a for a in approvals if a.kind == kind]
        if of_kind:
            for pk, context in build(of_kind).items():
                out[pk] = {"template": template, "p": context}
    return out


def register_approval_kind(kind: str, *, on_approved, on_rejected=None, label: str = "") -> None:
    _HANDLERS[kind] = Handler(on_approved, on_rejected, label or kind.replace("_", " "))


def approval_kinds() -> dict[str, Handler]:
    return dict(_HANDLERS)


def approval_request(
    *,
    kind: str,
    obj=None,
    object_type: str | None = None,
    object_id=None,
    summary: str,
    payload: dict | None = None,
    requested_by=None,
) -> Approval:
    """Open a request (inside the caller's transaction). One pending request per object and kind."""
    if kind not in _HANDLERS:
        raise ValidationFailed(f"Unknown approval kind '{kind}'.", field="kind")
    if obj is not None:
        object_type, object_id = f"{obj._meta.app_label}.{obj._meta.model_name}", obj.pk
    from revops.jsonsafe import jsonable

    existing = Approval.objects.filter(
        kind=kind, object_type=object_type, object_id=str(object_id), status=Approval.Status.PENDING
    ).first()
    if existing:
        return existing
    user = requested_by if getattr(requested_by, "pk", None) else None
    approval = Approval.objects.create(
        kind=kind,
        object_type=object_type,
        object_id=str(object_id),
        summary=summary[:300],
        payload=jsonable(payload or {}),
        requested_by=user,
    )
    audit_record(
        actor=requested_by,
        action="approval.requested",
        obj=approval,
        changes={"kind": kind, "object": f"{object_type}:{object_id}", "summary": summary},
    )
    return approval


def check_can_decide(approval: Approval, user) -> None:
    if not can_decide(user):
        raise Forbidden("Only approvers can decide approval requests.")
    if approval.requested_by_id is not None and approval.requested_by_id == getattr(user, "pk", None):
        raise SelfApproval("You requested this; someone else must approve or reject it (maker-checker).")


@transaction.atomic
def approval_decide(*, approval: Approval, user, approve: bool, comment: str = "") -> Approval:
    approval = Approval.objects.select_for_update().get(pk=approval.pk)
    if approval.status != Approval.Status.PENDING:
        raise InvalidTransition(f"This request was already {approval.status}.")
    check_can_decide(approval, user)
    if not approve and not comment.strip():
        raise ValidationFailed("Say why you reject it.", field="comment")
    approval.status = Approval.Status.APPROVED if approve else Approval.Status.REJECTED
    approval.decided_by = user
    approval.decided_at = timezone.now()
    approval.comment = comment
    approval.save(update_fields=["status", "decided_by", "decided_at", "comment"])
    audit_record(
        actor=user,
        action=f"approval.{approval.status}",
        obj=approval,
        changes={
            "kind": approval.kind,
            "object": f"{approval.object_type}:{approval.object_id}",
            "comment": comment,
        },
    )
    handler = _HANDLERS[approval.kind]
    if approve:
        handler.on_approved(approval, user)
    elif handler.on_rejected:
        handler.on_rejected(approval, user)
    return approval


def approval_for(obj, *, kind: str | None = None):
    qs = Approval.objects.filter(
        object_type=f"{obj._meta.app_label}.{obj._meta.model_name}", object_id=str(obj.pk)
    )
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-id").first()
