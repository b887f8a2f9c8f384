"""What a request's maker hears and may still do: the requester may withdraw their own pending
request (nobody else may; audited), and is notified of every decision on it (in the app, and by email
when configured). The decider's side is :mod:`revops.core.approvals.services`."""

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


def approval_outcome_notify(approval: Approval) -> None:
    """Tell the requester how their request was decided (inside the deciding transaction)."""
    from revops.core.notifications.services import notification_create

    title = OUTCOME_TITLES.get(approval.status)
    if title is None or approval.requested_by_id is None:
        return
    decider = approval.decided_by.get_username() if approval.decided_by_id else "someone"
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
