"""Revenue schedules (step 5): generated from the pure recognition functions, versioned, approved by
someone other than the preparer (maker-checker through revops.core.approvals), only then posted."""

from __future__ import annotations

import logging
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from revops.core.approvals.models import Approval
from revops.core.approvals.registry import register_approval_kind
from revops.core.approvals.services import (
    approval_decide,
    approval_for,
    approval_request,
    approval_void,
)
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.errors import InvalidTransition
from revops.parties.models import RecognitionMethod
from revrec.models import PerformanceObligation, RevenueSchedule, ScheduleLine
from revrec.recognition import schedule as compute_schedule
from revrec.services.input_progress import input_lines

log = logging.getLogger(__name__)
ZERO = Decimal(0)
KIND = "revenue_schedule"


def schedule_lines_for(po: PerformanceObligation) -> list:
    method = po.recognition
    if po.progress_measure == "input":
        return input_lines(po, amount=po.allocated_amount, existing=[], cut=None)
    if method == RecognitionMethod.MILESTONE:
        # Without an approved milestone the promise is satisfied at the end of the service period.
        return compute_schedule(
            currency=po.currency,
            amount=po.allocated_amount,
            method="point_in_time",
            start=po.start,
            end=po.end,
            satisfied_on=_last_day(po),
        )
    return compute_schedule(
        currency=po.currency,
        amount=po.allocated_amount,
        method=method,
        start=po.start,
        end=po.end,
        satisfied_on=po.start if method == RecognitionMethod.POINT_IN_TIME else None,
    )


def _last_day(po):
    from datetime import timedelta

    return po.end - timedelta(days=1)


@transaction.atomic
def schedule_create(
    *,
    po: PerformanceObligation,
    treatment: str = RevenueSchedule.Treatment.INITIAL,
    note: str = "",
    lines=None,
    actor=None,
) -> RevenueSchedule:
    """A new schedule version, submitted for approval at once (the preparer is ``actor``)."""
    if po.variable:
        raise InvalidTransition("Usage obligations are recognized as invoiced; they have no fixed schedule.")
    computed = lines if lines is not None else schedule_lines_for(po)
    version = (RevenueSchedule.objects.filter(obligation=po).aggregate(v=Max("version"))["v"] or 0) + 1
    # A new version changes the lines awaiting sign-off: an older version still pending is voided with
    # its approval, so nobody approves lines that are no longer the ones proposed.
    for stale in RevenueSchedule.objects.select_for_update().filter(
        obligation=po, status=RevenueSchedule.Status.PENDING_APPROVAL
    ):
        stale.status = RevenueSchedule.Status.SUPERSEDED
        stale.save(update_fields=["status"])
        pending = approval_for(stale, kind=KIND)
        if pending is not None and pending.status == Approval.Status.PENDING:
            approval_void(approval=pending, actor=actor, reason=f"Replaced by schedule v{version}.")
        audit_record(
            actor=actor, action=AuditAction.SCHEDULE_SUPERSEDED, obj=stale, changes={"by_version": version}
        )
    sched = RevenueSchedule.objects.create(
        obligation=po,
        version=version,
        status=RevenueSchedule.Status.PENDING_APPROVAL,
        treatment=treatment,
        treatment_note=note,
        method=po.recognition,
        amount=sum((ln.amount for ln in computed), ZERO),
        currency=po.currency,
        prepared_by=actor if getattr(actor, "pk", None) else None,
    )
    ScheduleLine.objects.bulk_create(
        [
            ScheduleLine(schedule=sched, period=ln.period, start=ln.start, end=ln.end, amount=ln.amount)
            for ln in computed
        ]
    )
    audit_record(
        actor=actor,
        action=AuditAction.SCHEDULE_CREATED,
        obj=sched,
        changes=schedule_created_changes(po, sched, computed),
    )
    approval_request(kind=KIND, obj=sched, requested_by=actor, summary=schedule_summary(po, sched))
    return sched


def schedule_created_changes(po: PerformanceObligation, sched: RevenueSchedule, computed) -> dict:
    """The ``schedule.created`` event's body (one schedule or a batch: the same event)."""
    return {
        "po": po.key,
        "contract": po.contract.number,
        "version": sched.version,
        "treatment": sched.treatment,
        "amount": sched.amount,
        "lines": [[ln.period, ln.amount] for ln in computed],
    }


def schedule_summary(po: PerformanceObligation, sched: RevenueSchedule) -> str:
    return (
        f"Revenue schedule v{sched.version} for {po.contract.number} / {po.key}: "
        f"{sched.amount} {po.currency} {po.get_recognition_display().lower()}"
    )


@transaction.atomic
def schedules_generate(*, contract, actor=None) -> list[RevenueSchedule]:
    """Schedules for every active fixed PO that has none yet (after activation or a new version).
    One contract, one schedule at a time; :func:`schedules_generate_many` does the same for many
    contracts with a few statements per batch, with identical records
    (``revrec.services.schedule_batches``)."""
    created = []
    pos = PerformanceObligation.objects.filter(
        contract=contract, status=PerformanceObligation.Status.ACTIVE, variable=False
    ).select_related("contract")
    for po in pos:
        if not po.schedules.exists():
            created.append(schedule_create(po=po, actor=actor))
    return created


def _on_approved(approval: Approval, user) -> None:
    sched = RevenueSchedule.objects.select_for_update().get(pk=approval.object_id)
    if sched.status != RevenueSchedule.Status.PENDING_APPROVAL:
        raise InvalidTransition(f"Schedule v{sched.version} is {sched.status}, not pending approval.")
    previous = RevenueSchedule.objects.filter(
        obligation=sched.obligation, status=RevenueSchedule.Status.APPROVED
    )
    for old in previous:
        old.status = RevenueSchedule.Status.SUPERSEDED
        old.save(update_fields=["status"])
        audit_record(
            actor=user, action=AuditAction.SCHEDULE_SUPERSEDED, obj=old, changes={"by_version": sched.version}
        )
    sched.status = RevenueSchedule.Status.APPROVED
    sched.decided_by, sched.decided_at, sched.decision_comment = user, timezone.now(), approval.comment
    sched.save(update_fields=["status", "decided_by", "decided_at", "decision_comment"])
    audit_record(
        actor=user, action=AuditAction.SCHEDULE_APPROVED, obj=sched, changes={"comment": approval.comment}
    )


def _on_rejected(approval: Approval, user) -> None:
    sched = RevenueSchedule.objects.select_for_update().get(pk=approval.object_id)
    sched.status = RevenueSchedule.Status.REJECTED
    sched.decided_by, sched.decided_at, sched.decision_comment = user, timezone.now(), approval.comment
    sched.save(update_fields=["status", "decided_by", "decided_at", "decision_comment"])
    audit_record(
        actor=user, action=AuditAction.SCHEDULE_REJECTED, obj=sched, changes={"comment": approval.comment}
    )


def _content(approval: Approval) -> dict:
    """What approving applies (bound into the request's hash): the schedule version and its lines."""
    sched = RevenueSchedule.objects.select_related("obligation").get(pk=approval.object_id)
    return {
        "obligation": sched.obligation.key,
        "contract": sched.obligation.contract_id,
        "version": sched.version,
        "status": sched.status,
        "treatment": sched.treatment,
        "method": sched.method,
        "currency": sched.currency,
        "amount": sched.amount,
        "lines": [[ln.period, ln.start, ln.end, ln.amount] for ln in sched.lines.order_by("period", "id")],
    }


def _content_many(approvals: list[Approval]) -> list[dict]:
    """:func:`_content` of many requests with two queries (their schedules, then all their lines)."""
    ids = [int(a.object_id) for a in approvals]
    heads = {
        row[0]: row[1:]
        for row in RevenueSchedule.objects.filter(pk__in=ids).values_list(
            "pk",
            "obligation__key",
            "obligation__contract_id",
            "version",
            "status",
            "treatment",
            "method",
            "currency",
            "amount",
        )
    }
    lines: dict[int, list] = defaultdict(list)
    for schedule_id, period, start, end, amount in (
        ScheduleLine.objects.filter(schedule_id__in=ids)
        .order_by("schedule_id", "period", "id")
        .values_list("schedule_id", "period", "start", "end", "amount")
    ):
        lines[schedule_id].append([period, start, end, amount])
    out = []
    for pk in ids:
        key, contract_id, version, status, treatment, method, currency, amount = heads[pk]
        out.append(
            {
                "obligation": key,
                "contract": contract_id,
                "version": version,
                "status": status,
                "treatment": treatment,
                "method": method,
                "currency": currency,
                "amount": amount,
                "lines": lines[pk],
            }
        )
    return out


def register() -> None:
    register_approval_kind(
        KIND,
        on_approved=_on_approved,
        on_rejected=_on_rejected,
        label="Revenue schedule",
        content=_content,
        content_many=_content_many,
    )


def schedule_decide(*, schedule: RevenueSchedule, user, approve: bool, comment: str = "") -> RevenueSchedule:
    approval = approval_for(schedule, kind=KIND)
    if approval is None or approval.status != Approval.Status.PENDING:
        raise InvalidTransition(f"Schedule v{schedule.version} has no pending approval.")
    approval_decide(approval=approval, user=user, approve=approve, comment=comment)
    schedule.refresh_from_db()
    return schedule


def _cancel_pending(sched: RevenueSchedule, user, reason: str) -> None:
    Approval.objects.filter(
        kind=KIND,
        object_type="revrec.revenueschedule",
        object_id=str(sched.pk),
        status=Approval.Status.PENDING,
    ).update(status=Approval.Status.CANCELLED, comment=reason[:2000])


@transaction.atomic
def schedule_revise(
    *, po: PerformanceObligation, lines, treatment: str, note: str, actor=None
) -> RevenueSchedule | None:
    """A new schedule version after a change in the amount or the measure of progress (§10a).

    ``lines`` keep every period already posted unchanged (the caller computed them from the cut-off);
    those lines keep their journal entry, so nothing is recognized twice. When the obligation has an
    approved schedule, the revision replaces it at once (the change itself — an audited estimate or
    cost record — is its evidence); otherwise the revision is submitted for approval like a first
    schedule. Returns None when nothing changes."""
    live = list(
        po.schedules.filter(
            status__in=[RevenueSchedule.Status.APPROVED, RevenueSchedule.Status.PENDING_APPROVAL]
        ).prefetch_related("lines")
    )
    approved = next((x for x in live if x.status == RevenueSchedule.Status.APPROVED), None)
    current = approved or (max(live, key=lambda x: x.version) if live else None)
    if current is not None and [(ln.period, ln.amount) for ln in current.lines.order_by("period")] == [
        (ln.period, ln.amount) for ln in lines
    ]:
        return None
    posted: dict[str, tuple[int, Decimal]] = {}
    for sched in live:
        for ln in sched.lines.all():
            if ln.posted_entry_id:
                posted[ln.period] = (ln.posted_entry_id, ln.amount)
    for ln in lines:
        if ln.period in posted and posted[ln.period][1] != ln.amount:
            raise InvalidTransition(
                f"{po.key}: {ln.period} was recognized as {posted[ln.period][1]}; a revision cannot change it."
            )
    if approved is None:
        for sched in live:
            sched.status = RevenueSchedule.Status.SUPERSEDED
            sched.save(update_fields=["status"])
            _cancel_pending(sched, actor, "Superseded by a revision")
            audit_record(
                actor=actor, action=AuditAction.SCHEDULE_SUPERSEDED, obj=sched, changes={"by": treatment}
            )
        return schedule_create(po=po, treatment=treatment, note=note[:2000], lines=lines, actor=actor)
    for sched in live:
        sched.status = RevenueSchedule.Status.SUPERSEDED
        sched.save(update_fields=["status"])
        _cancel_pending(sched, actor, "Superseded by a revision")
        audit_record(
            actor=actor, action=AuditAction.SCHEDULE_SUPERSEDED, obj=sched, changes={"by": treatment}
        )
    version = (RevenueSchedule.objects.filter(obligation=po).aggregate(v=Max("version"))["v"] or 0) + 1
    user = actor if getattr(actor, "pk", None) else None
    new = RevenueSchedule.objects.create(
        obligation=po,
        version=version,
        status=RevenueSchedule.Status.APPROVED,
        treatment=treatment,
        treatment_note=note[:2000],
        method=po.recognition,
        amount=sum((ln.amount for ln in lines), ZERO),
        currency=po.currency,
        prepared_by=user,
        decided_by=user,
        decided_at=timezone.now(),
        decision_comment="Revised with the recorded change (see the audit trail)",
    )
    ScheduleLine.objects.bulk_create(
        [
            ScheduleLine(
                schedule=new,
                period=ln.period,
                start=ln.start,
                end=ln.end,
                amount=ln.amount,
                posted_entry_id=posted[ln.period][0] if ln.period in posted else None,
            )
            for ln in lines
        ]
    )
    audit_record(
        actor=actor,
        action=AuditAction.SCHEDULE_REVISED,
        obj=new,
        changes={
            "po": po.key,
            "version": version,
            "treatment": treatment,
            "amount": new.amount,
            "note": note[:500],
            "lines": [[ln.period, ln.amount] for ln in lines],
        },
    )
    return new
