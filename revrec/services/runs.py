"""Revenue runs: plan one item per contract, let any number of workers claim them in batches, finish the run.

Like the billing run (billing/invoicing/runs.py): the plan task creates one ``RevenueRunItem`` per
contract and sends ``REVENUE_RUN_PARALLELISM`` work tasks; each worker loops "claim up to BATCH_SIZE
pending items with SELECT … FOR UPDATE SKIP LOCKED, lock their contracts, recognize their revenue for
the period, mark the items" inside ONE transaction per batch. A killed worker's batch rolls back (none
of its entries, markers, audit events or item outcomes was committed) and its items are pending again
for any worker or for the run resumed by the stalled-run resumer; nothing committed is repeated: the
schedule lines and usage lines a batch recognizes are marked with their entry in the same transaction,
each contract's row is locked while it is recognized, and an entry's ``source_key`` is unique.

Per batch, reads and writes are set-based (``revrec.services.postings.recognize_contracts_period``):
a handful of queries for all its contracts, the entries, lines, markers and audit events written with
one statement per table. A contract that fails (a product mapped to a non-revenue account, …) is
parked with its error and does not stop the run: a pricing-type error leaves it out of its batch; a
database error rolls the batch back to a savepoint and its contracts are recognized one at a time,
each in a savepoint of its own."""

from __future__ import annotations

import logging
import traceback

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from billing.contracts.models import Contract
from billing.models import Invoice, InvoiceLine
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.core.enqueue import enqueue, enqueue_on_commit
from revops.core.outbox import outbox_publish
from revops.core.services.jobs import (
    job_advance,
    job_complete,
    job_create,
    job_fail,
    job_set_total,
    job_start,
)
from revops.core.statistics import planner_statistics_refresh
from revops.errors import ValidationFailed
from revrec.models import JournalEntry, JournalLine, RevenueRun, RevenueRunItem, ScheduleLine
from revrec.services.periods import current_key, is_closed, period_bounds
from revrec.services.postings import recognize_contracts_period

log = logging.getLogger(__name__)
# The run's tasks, by their stable Celery names (sent through the enqueue seam). The plan task keeps
# the name the single-task run had, so a run queued before the change is planned by it.
PLAN_TASK = "revrec.execute_revenue_run"
EXECUTE_TASK = PLAN_TASK
WORK_TASK = "revrec.work_revenue_run"
# Contracts a worker claims and recognizes per transaction (settings.REVENUE_RUN_BATCH_SIZE overrides
# it). A killed worker loses (rolls back) at most one batch, which is recognized again.
BATCH_SIZE = 100
PLAN_CHUNK = 5000  # items written per INSERT while planning
RUN_CONTRACT_STATUSES = ("active", "terminated", "expired")


def _workers() -> int:
    return int(getattr(settings, "REVENUE_RUN_PARALLELISM", getattr(settings, "BILLING_RUN_PARALLELISM", 4)))


def _batch_size() -> int:
    return max(1, int(getattr(settings, "REVENUE_RUN_BATCH_SIZE", BATCH_SIZE)))


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
    enqueue_on_commit(PLAN_TASK, run.pk)
    return run


def check_run_period(period: str) -> None:
    """A revenue run is for a period up to the current one: a run for the current month recognizes
    what is scheduled through its end (dated its last day); a later period would recognize revenue
    not yet earned (every remaining schedule line) and open the periods up to it."""
    from revrec.services.periods import first_period_key, latest_closed_key

    # Before the books' first period: while nothing is closed a run may still open earlier months (the
    # books then begin earlier); once a period is closed none can be created before it, and the run for
    # the first open period recognizes everything scheduled up to it.
    first = first_period_key()
    if first is not None and period < first and latest_closed_key() is not None:
        raise ValidationFailed(
            f"{period} is not a period of the books: they begin in {first} (a run for the first open "
            "period recognizes everything scheduled up to it).",
            field="period",
        )
    today = current_key()
    if period > today:
        raise ValidationFailed(
            f"A revenue run is for a period up to the current one ({today}); {period} has not begun.",
            field="period",
        )


def revenue_run_fail(*, run_id: int, error: str) -> None:
    run = RevenueRun.objects.get(pk=run_id)
    RevenueRun.objects.filter(pk=run_id).update(
        status=RevenueRun.Status.FAILED, error=error[:5000], finished_at=timezone.now()
    )
    job_fail(job_id=run.job_id, error=error)


@transaction.atomic
def revenue_run_plan(*, run_id: int) -> int:
    """Create one pending item per contract that may have revenue in the period, in one transaction
    (a planner killed midway leaves no half plan). Idempotent (the items are unique per run and
    contract). Returns the number of items."""
    run = RevenueRun.objects.select_for_update().get(pk=run_id)
    if run.status in (RevenueRun.Status.COMPLETED, RevenueRun.Status.FAILED):
        return 0
    try:
        check_run_period(run.period)  # a run queued before the bound existed never recognizes the future
    except ValidationFailed as exc:
        revenue_run_fail(run_id=run.pk, error=exc.detail)
        return 0
    _start, end = period_bounds(run.period)
    job_start(job_id=run.job_id)
    RevenueRun.objects.filter(pk=run.pk).update(status=RevenueRun.Status.RUNNING)
    # The month's invoices and their postings were just written: plan the batches on today's sizes.
    planner_statistics_refresh(JournalEntry, JournalLine, ScheduleLine, Invoice, InvoiceLine)
    ids = list(
        Contract.objects.filter(start_date__lt=end, status__in=RUN_CONTRACT_STATUSES)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for start in range(0, len(ids), PLAN_CHUNK):
        RevenueRunItem.objects.bulk_create(
            [RevenueRunItem(run=run, contract_id=pk) for pk in ids[start : start + PLAN_CHUNK]],
            ignore_conflicts=True,
        )
    total = run.items.count()
    job_set_total(job_id=run.job_id, total=total)
    return total


def _claim_batch(run: RevenueRun, size: int) -> list[RevenueRunItem]:
    """Lock up to ``size`` pending items in id order, skipping items other workers hold."""
    qs = RevenueRunItem.objects.filter(run=run, status=RevenueRunItem.Status.PENDING).order_by("id")
    if connection.vendor == "postgresql":
        qs = qs.select_for_update(skip_locked=True)
    return list(qs[:size])


def _recognize_items(run: RevenueRun, items: list[RevenueRunItem]) -> None:
    """Recognize the items' contracts together; on a database error roll the batch back to its
    savepoint and recognize them one at a time, each in a savepoint of its own, so a failing contract
    is parked alone. Sets each item's status, entry and error."""
    ids = [item.contract_id for item in items]
    errors: dict[int, Exception] = {}
    try:
        with transaction.atomic():
            entries = recognize_contracts_period(
                contract_ids=ids, period=run.period, errors=errors, actor="revenue_run"
            )
    except Exception as exc:  # noqa: BLE001 - retried one by one below, where each failure is parked
        log.info("revenue run %s: a batch failed (%s); recognizing its contracts one at a time", run.pk, exc)
        entries, errors = {}, {}
        for pk in ids:
            try:
                with transaction.atomic():
                    entries.update(recognize_contracts_period(contract_ids=[pk], period=run.period))
            except Exception as one:  # noqa: BLE001 - parked: rolled back to its savepoint, recorded
                errors[pk] = one
    for item in items:
        item.attempts += 1
        exc = errors.get(item.contract_id)
        if exc is not None:
            log.warning("revenue run %s: contract %s failed: %s", run.pk, item.contract_id, exc)
            log.debug("%s", "".join(traceback.format_exception(exc)))
            item.status = RevenueRunItem.Status.FAILED
            item.error = f"{type(exc).__name__}: {exc}"[:5000]
            item.entry = None
        else:
            entry = entries.get(item.contract_id)
            item.status = RevenueRunItem.Status.DONE if entry else RevenueRunItem.Status.SKIPPED
            item.entry = entry


def _save_items(items: list[RevenueRunItem]) -> None:
    """Write the batch's items' outcome with one UPDATE (from arrays on PostgreSQL)."""
    fields = ["status", "entry", "error", "attempts", "finished_at"]
    if connection.vendor != "postgresql":
        RevenueRunItem.objects.bulk_update(items, fields)
        return
    table = connection.ops.quote_name(RevenueRunItem._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS i SET status = u.status, entry_id = u.entry_id, "  # noqa: S608
            "error = u.error, attempts = u.attempts, finished_at = u.finished_at "
            "FROM unnest(%s::bigint[], %s::text[], %s::bigint[], %s::text[], %s::integer[], "
            "%s::timestamptz[]) AS u (id, status, entry_id, error, attempts, finished_at) WHERE i.id = u.id",
            [
                [item.pk for item in items],
                [item.status for item in items],
                [item.entry_id for item in items],
                [item.error for item in items],
                [item.attempts for item in items],
                [item.finished_at for item in items],
            ],
        )


def _replan_foreign_key_checks() -> None:
    """Let PostgreSQL plan the batch's foreign-key checks again (``DISCARD PLANS``, this session only):
    the checks of every line, marker and item written (``SELECT 1 FROM revrec_journalentry WHERE id =
    $1 FOR KEY SHARE``) run from cached generic plans made with the table sizes of the worker's first
    batch — a sequential scan of a journal that was nearly empty then and grows by a batch's entries
    each time (see billing.invoicing.runs._replan_foreign_key_checks)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DISCARD PLANS")


def _work_batch(run: RevenueRun, size: int) -> int:
    """Claim up to ``size`` items and finish them in ONE transaction: their entries, the items' status
    and the job's progress commit together, or (a killed worker, a lost connection) not at all — the
    items are then pending again for any worker, and nothing of them was written. Returns the number
    of items finished (0: nothing left to claim)."""
    with transaction.atomic():
        items = _claim_batch(run, size)
        if not items:
            return 0
        _replan_foreign_key_checks()
        _recognize_items(run, items)
        now = timezone.now()
        for item in items:
            item.finished_at = now
        _save_items(items)
        job_advance(job_id=run.job_id, by=len(items))
        return len(items)


def revenue_run_work(*, run_id: int, limit: int | None = None) -> int:
    """Claim and recognize items, ``BATCH_SIZE`` per transaction, until none is pending (or ``limit``
    items), then finish the run if nothing is left. Safe on any number of workers."""
    run = RevenueRun.objects.get(pk=run_id)
    if run.status in (RevenueRun.Status.COMPLETED, RevenueRun.Status.FAILED):
        return 0
    size = _batch_size()
    done = 0
    while limit is None or done < limit:
        claimed = _work_batch(run, size if limit is None else min(size, limit - done))
        if not claimed:
            break
        done += claimed
    revenue_run_finish(run_id=run_id)
    return done


def revenue_run_counts(run: RevenueRun) -> dict[str, int]:
    """{pending, done, skipped, failed, entries} of a run's items."""
    s = RevenueRunItem.Status
    return run.items.aggregate(
        pending=Count("id", filter=Q(status=s.PENDING)),
        done=Count("id", filter=Q(status=s.DONE)),
        skipped=Count("id", filter=Q(status=s.SKIPPED)),
        failed=Count("id", filter=Q(status=s.FAILED)),
        entries=Count("entry"),
    )


@transaction.atomic
def revenue_run_finish(*, run_id: int) -> bool:
    """Mark the run completed once no item is pending (exactly once, under the run's row lock)."""
    run = RevenueRun.objects.select_for_update().get(pk=run_id)
    if run.status in (RevenueRun.Status.COMPLETED, RevenueRun.Status.FAILED):
        return False
    counts = revenue_run_counts(run)
    if counts["pending"]:
        return False
    run.status = RevenueRun.Status.COMPLETED
    run.entries_created = counts["entries"]
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "entries_created", "finished_at"])
    result = {"entries_created": run.entries_created, "failures": counts["failed"]}
    job_complete(job_id=run.job_id, result=result)
    audit_record(
        actor="revenue_run",
        action=AuditAction.REVENUE_RUN_COMPLETED,
        obj=run,
        changes={"period": run.period, **result},
    )
    outbox_publish(topic="revenue_run.completed", obj=run, payload={"period": run.period, **result})
    return True


def revenue_run_fan_out(*, run_id: int) -> None:
    """Send the run's workers (``REVENUE_RUN_PARALLELISM``): each claims batches of pending items
    (``SKIP LOCKED``) until none is left, so any number of them may run, twice or late."""
    for _ in range(_workers()):
        enqueue_on_commit(WORK_TASK, run_id)


def revenue_run_plan_and_fan_out(*, run_id: int) -> int:
    """Plan the run's items, then send its workers; a run with nothing to do is finished at once."""
    total = revenue_run_plan(run_id=run_id)
    if total == 0:
        revenue_run_finish(run_id=run_id)
        return 0
    revenue_run_fan_out(run_id=run_id)
    return total


def revenue_run_execute(*, run_id: int) -> int:
    """Plan and work the whole run in this process (the demo seeder, management use). Returns the
    number of entries it created."""
    revenue_run_plan(run_id=run_id)
    revenue_run_work(run_id=run_id)
    return RevenueRun.objects.get(pk=run_id).entries_created


def revenue_run_resume(run: RevenueRun) -> bool:
    """The stalled-run resumer's step for a revenue run (revops.core.services.jobs): plan it again if
    it never got its items, send its workers again if items are pending, or mark it finished.
    Idempotent: a run worked twice posts each entry once."""
    pending = run.items.filter(status=RevenueRunItem.Status.PENDING).exists()
    if run.status == RevenueRun.Status.QUEUED or (not pending and not run.items.exists()):
        enqueue(PLAN_TASK, run.pk)
    elif pending:
        for _ in range(_workers()):
            enqueue(WORK_TASK, run.pk)
    else:
        revenue_run_finish(run_id=run.pk)
        return False
    return True
