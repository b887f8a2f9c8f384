"""Revenue runs: post every contract's revenue for a period (idempotent; progress on a Job)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from billing.contracts.models import Contract
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.core.enqueue import enqueue, enqueue_on_commit
from revops.core.outbox import outbox_publish
from revops.core.services.jobs import job_complete, job_create, job_fail, job_set_progress, job_start
from revops.errors import ValidationFailed
from revrec.models import RevenueRun
from revrec.services.periods import current_key, is_closed, period_bounds
from revrec.services.postings import recognize_contract_period

log = logging.getLogger(__name__)
EXECUTE_TASK = "revrec.execute_revenue_run"  # its stable Celery name (sent through the enqueue seam)


@transaction.atomic
def revenue_run_start(*, period: str, actor=None) -> RevenueRun:
    period_bounds(period)  # validates YYYY-MM
    check_run_period(period)
    user = actor if getattr(actor, "pk", None) else None
    job = job_create(kind="revenue_run", started_by=user, params={"period": period})
    run = RevenueRun.objects.create(period=period, job=job, requested_by=user)
    audit_record(
        actor=actor,
        action=AuditAction.REVENUE_RUN_STARTED,
        obj=run,
        changes={"period": period, "closed": is_closed(period)},
    )
    # If the broker is down the run stays queued and the stalled-run resumer sends it again.
    enqueue_on_commit(EXECUTE_TASK, run.pk)
    return run


def check_run_period(period: str) -> None:
    """A revenue run is for a period up to the current one: a run for the current month recognizes
    what is scheduled through its end (dated its last day); a later period would recognize revenue
    not yet earned (every remaining schedule line) and open the periods up to it."""
    today = current_key()
    if period > today:
        raise ValidationFailed(
            f"A revenue run is for a period up to the current one ({today}); {period} has not begun.",
            field="period",
        )


def revenue_run_execute(*, run_id: int) -> int:
    """One transaction per contract: a crash loses nothing and a re-run repeats nothing."""
    run = RevenueRun.objects.get(pk=run_id)
    if run.status == RevenueRun.Status.COMPLETED:
        return run.entries_created
    _start, end = period_bounds(run.period)
    try:
        check_run_period(run.period)  # a run queued before the bound existed never recognizes the future
    except ValidationFailed as exc:
        RevenueRun.objects.filter(pk=run.pk).update(status=RevenueRun.Status.FAILED, error=exc.detail)
        job_fail(job_id=run.job_id, error=exc.detail)
        return 0
    contracts = list(
        Contract.objects.filter(
            start_date__lt=end, status__in=["active", "terminated", "expired"]
        ).values_list("pk", flat=True)
    )
    job_start(job_id=run.job_id, total=len(contracts))
    RevenueRun.objects.filter(pk=run.pk).update(status=RevenueRun.Status.RUNNING)
    created = 0
    try:
        for done, pk in enumerate(contracts, start=1):
            with transaction.atomic():
                contract = Contract.objects.select_for_update().get(pk=pk)
                if recognize_contract_period(contract=contract, period=run.period):
                    created += 1
            job_set_progress(job_id=run.job_id, done=done)
    except Exception as exc:
        RevenueRun.objects.filter(pk=run.pk).update(
            status=RevenueRun.Status.FAILED, error=str(exc)[:5000], entries_created=created
        )
        job_fail(job_id=run.job_id, error=str(exc))
        raise
    with transaction.atomic():
        finished = (
            RevenueRun.objects.filter(pk=run.pk)
            .exclude(status=RevenueRun.Status.COMPLETED)
            .update(status=RevenueRun.Status.COMPLETED, entries_created=created, finished_at=timezone.now())
        )
        if not finished:  # a duplicate delivery of the same run finished first
            return created
        job_complete(job_id=run.job_id, result={"entries_created": created})
        audit_record(
            actor="revenue_run",
            action=AuditAction.REVENUE_RUN_COMPLETED,
            obj=run,
            changes={"period": run.period, "entries_created": created},
        )
        outbox_publish(
            topic="revenue_run.completed", obj=run, payload={"period": run.period, "entries_created": created}
        )
    return created


def revenue_run_resume(run: RevenueRun) -> bool:
    """The stalled-run resumer's step for a revenue run (revops.core.services.jobs): send it again.
    Idempotent: a run executed twice posts each entry once."""
    enqueue(EXECUTE_TASK, run.pk)
    return True
