"""What people hear about requests, and what a request's maker may still do: the approvers a new
request is addressed to are notified of it, and the requester is notified of every decision on it (in
the app, and by email when configured — the same notifications); the requester may withdraw their own
pending request (nobody else may; audited). The decider's side is :mod:`revops.core.approvals.services`."""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse

from revops.core.approvals.models import Approval
from revops.core.approvals.settle import approval_settle
from revops.core.audit.actions import AuditAction
from revops.errors import Forbidden, InvalidTransition

OUTCOME_TITLES = {
    Approval.Status.APPROVED: "Approved",
    Approval.Status.REJECTED: "Rejected",
}


def approval_url(approval: Approval) -> str:
    """Where a request is shown: the queue (a decided one under "My requests"), anchored at it."""
    return f"{reverse('approvals')}?requester=mine#approval-{approval.pk}"


def approval_queue_url(approval: Approval) -> str:
    """Where an approver opens one request: the queue filtered to it, anchored at it."""
    return f"{reverse('approvals')}?request={approval.pk}#approval-{approval.pk}"


def approval_addressees(approval: Approval, *, makers: set[int]) -> list:
    """The approvers who may decide ``approval``: active users with the approver role who are not one
    of its ``makers`` (the requester, and whoever asked for a request it replaced) and whom segregation
    of duties does not bar from it (:func:`revops.core.approvals.sod.sod_refusal`)."""
    from django.contrib.auth import get_user_model

    from revops.core.approvals.sod import sod_refusal
    from revops.roles import DECIDERS

    candidates = (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=DECIDERS)
        .exclude(pk__in=makers)
        .distinct()
        .order_by("pk")
    )
    return [
        user for user in candidates if sod_refusal(user, kind=approval.kind, requester_ids=makers) is None
    ]


def _makers(approval: Approval) -> set[int]:
    from revops.core.approvals.selectors import approval_makers

    return approval_makers(approval)


def _name(user) -> str:
    """A person as the pages name them: their full name, else their username."""
    return user.get_full_name() or user.get_username()


def _kind_label(kind: str) -> str:
    from revops.core.approvals.registry import approval_handler

    handler = approval_handler(kind)
    return handler.label if handler is not None else kind.replace("_", " ")


def approval_requested_notify(approval: Approval, *, exclude=()) -> None:
    """Tell the approvers a new pending request is addressed to (inside the requesting transaction):
    each gets a notification linking to the request in the queue, emailed when email is configured —
    never the requester, nor anyone in ``exclude`` (a decider whose own attempt replaced the request
    is shown the replacement on the spot)."""
    from revops.core.notifications.services import notification_create

    makers = _makers(approval)
    skip = makers | {getattr(user, "pk", None) for user in exclude}
    who = _name(approval.requested_by) if approval.requested_by_id else "The system"
    body = f"{who} asked for a {_kind_label(approval.kind).lower()} decision (request #{approval.pk})."
    if approval.supersedes_id:
        body += f" It replaces request #{approval.supersedes_id}, whose content changed before a decision."
    for user in approval_addressees(approval, makers=makers):
        if user.pk in skip:
            continue
        notification_create(
            user=user,
            kind="approval.requested",
            title=f"To decide: {approval.summary}"[:300],
            body=body,
            url=approval_queue_url(approval),
            approval=approval,
        )


def approvals_requested_notify(approvals: list[Approval]) -> None:
    """Requests opened in bulk (one kind, one requester: a batch of revenue schedules) are announced
    once per approver, not once per request: a notification pointing at the queue filtered to the
    kind — unless that approver still has such a notification unread for the kind, which already
    says what waits."""
    from revops.core.notifications.models import Notification
    from revops.core.notifications.services import notification_create

    if len(approvals) == 1:
        approval_requested_notify(approvals[0])
        return
    if not approvals:
        return
    first = approvals[0]
    makers = set().union(*(_makers(a) for a in approvals))
    label = _kind_label(first.kind)
    kind = f"approval.requested:{first.kind}"[:40]
    unread = set(
        Notification.objects.filter(kind=kind, read_at__isnull=True).values_list("user_id", flat=True)
    )
    who = _name(first.requested_by) if first.requested_by_id else "The system"
    for user in approval_addressees(first, makers=makers):
        if user.pk in unread:
            continue
        notification_create(
            user=user,
            kind=kind,
            title=f"To decide: {len(approvals):,} {label.lower()} requests",
            body=f"{who} asked for {len(approvals):,} {label.lower()} decisions at once "
            f"(requests #{approvals[0].pk} to #{approvals[-1].pk}); the queue lists every one waiting.",
            url=f"{reverse('approvals')}?kind={first.kind}",
        )


def approval_outcome_notify(approval: Approval) -> None:
    """Tell the requester how their request was decided (inside the deciding transaction)."""
    from revops.core.notifications.services import notification_create

    title = OUTCOME_TITLES.get(approval.status)
    if title is None or approval.requested_by_id is None:
        return
    decider = _name(approval.decided_by) if approval.decided_by_id else "someone"
    body = f"{title} by {decider}" + (f": “{approval.comment}”" if approval.comment else ".")
    notification_create(
        user=approval.requested_by,
        kind=f"approval.{approval.status}",
        title=f"{title}: {approval.summary}"[:300],
        body=body,
        url=approval_url(approval),
        approval=approval,
    )


@transaction.atomic
def approval_withdraw(*, approval: Approval, user, reason: str = "") -> Approval:
    """Withdraw a pending request: only the user who requested it may, before anyone decides it. Its
    object is left as a rejection leaves it (nothing that approving would apply is applied: the kind's
    ``on_rejected`` runs with the withdrawal as the comment). Status ``cancelled``, audited."""
    approval = Approval.objects.select_for_update().get(pk=approval.pk)
    if approval.requested_by_id is None or approval.requested_by_id != getattr(user, "pk", None):
        raise Forbidden("Only the person who asked for this request can withdraw it.")
    if approval.status != Approval.Status.PENDING:
        raise InvalidTransition(
            f"This request was already {approval.status}; only a pending one is withdrawn."
        )
    reason = reason.strip()
    approval_settle(
        approval,
        user=user,
        status=Approval.Status.CANCELLED,
        comment=f"Withdrawn by the requester{': ' + reason if reason else '.'}"[:2000],
        action=AuditAction.APPROVAL_WITHDRAWN,
        audited={"reason": reason},
    )
    return approval
