"""Billing runs: plan the work items, let workers claim them, finish the run.

No chords: every worker loops "claim a batch of up to BATCH_SIZE pending items with SELECT … FOR
UPDATE SKIP LOCKED, build their invoices, mark them done" inside ONE transaction per batch, so a
killed worker leaves its batch's items pending (the transaction rolls back: none of their invoices,
claims or audit events was committed) and any worker — or the same run started again — finishes
them; nothing committed is lost and nothing is billed twice (the claims, and each contract's row
lock, see to that across runs).

Why one transaction per batch rather than per invoice: the batch's contracts are locked and read,
their usage aggregated and fingerprinted, and their invoices, claims, lines, audit events, items and
the job's progress written with a few statements for the whole batch (see
``billing.invoicing.build.invoices_build``), and it commits once — per invoice that is about a
twentieth of the statements and CPU of a transaction per invoice. The cost: a killed worker redoes
up to BATCH_SIZE items instead of one, and a batch's contracts stay locked for the batch (a fraction
of a second). A failing contract is parked with its error and does not stop the others: a pricing
error leaves it out of its batch; a database error rolls the batch's round back to a savepoint and
its items are built one at a time, each in a savepoint of its own."""

from __future__ import annotations

import logging
import traceback
from collections import defaultdict
from datetime import date

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from billing.catalog.reader import Catalog
from billing.contracts.models import Contract
from billing.contracts.services.due import contracts_apply_due
from billing.invoicing.build import (
    BILLABLE_CONTRACT_STATUSES,
    contract_due_items,
    invoices_build,
    lines_and_claims,
)
from billing.invoicing.selectors import billing_run_invoice_count
from billing.models import BillingRun, BillingRunItem, Invoice, PendingCharge
from billing.schedule import billing_horizon
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.core.enqueue import enqueue, enqueue_on_commit
from revops.core.models import Job
from revops.core.outbox import outbox_publish
from revops.core.services.jobs import (
    job_advance,
    job_complete,
    job_create,
    job_fail,
    job_set_total,
    job_start,
)
from revops.dates import parse_date
from revops.errors import FieldError, ValidationFailed

log = logging.getLogger(__name__)
PLAN_CHUNK = 500  # contracts planned per handful of queries
CATALOG_BATCH = 100  # items a worker builds on one read of the catalog
# Items a worker claims and builds per transaction (settings.BILLING_RUN_BATCH_SIZE overrides it):
# their contracts are read, their usage aggregated and their invoices written with a few statements
# for the whole batch. A killed worker loses (rolls back) at most one batch, which is built again.
BATCH_SIZE = 50
# The run's tasks, by their stable Celery names (sent through the kernel's enqueue seam).
PLAN_TASK = "billing.plan_billing_run"
WORK_TASK = "billing.work_billing_run"
# Planning that raises is tried again this many times, this many seconds apart, then the run fails.
PLAN_RETRIES = 5
PLAN_RETRY_SECONDS = 10


def _workers() -> int:
    return int(getattr(settings, "BILLING_RUN_PARALLELISM", 4))


@transaction.atomic
def billing_run_start(*, as_of: date, customers: list[str] | None = None, actor=None) -> BillingRun:
    """Record the run and queue its planning (after commit). Returns at once (202).

    ``as_of`` may be at most one billing interval ahead (a year: the longest interval); each
    contract line is billed up to its own horizon, the current period plus one interval
    (``billing.schedule.billing_horizon``), whatever ``as_of`` says."""
    as_of = parse_date(as_of, field="as_of")
    latest = billing_horizon(timezone.localdate(), "year")
    if as_of > latest:
        raise ValidationFailed(
            f"A billing run can bill at most one billing interval ahead (as of {latest.isoformat()} at "
            "the latest); later periods are billed when their time comes.",
            field="as_of",
        )
    customers = sorted(set(customers or []))
    if customers:
        from revops.parties.models import Customer

        known = set(Customer.objects.filter(external_id__in=customers).values_list("external_id", flat=True))
        unknown = [c for c in customers if c not in known]
        if unknown:
            raise ValidationFailed(
                f"Unknown customers: {', '.join(unknown[:10])}.",
                errors=[
                    FieldError(f"customers[{customers.index(c)}]", f"Unknown customer '{c}'.")
                    for c in unknown
                ],
            )
    user = actor if getattr(actor, "pk", None) else None
    job = job_create(
        kind="billing_run", started_by=user, params={"as_of": str(as_of), "customers": customers}
    )
    run = BillingRun.objects.create(as_of=as_of, customers=customers, job=job, requested_by=user)
    audit_record(
        actor=actor,
        action=AuditAction.BILLING_RUN_STARTED,
        obj=run,
        changes={"as_of": as_of, "customers": customers},
    )
    # If the broker is down the run stays queued and the stalled-run resumer sends it again.
    enqueue_on_commit(PLAN_TASK, run.pk)
    return run


def _billing_dates(
    contract,
    *,
    as_of: date,
    lines: list | None = None,
    claimed: set[tuple] | None = None,
    waiting: list[PendingCharge] | None = None,
    catalog: Catalog | None = None,
) -> list[date]:
    """Dates with something to bill: due items, and credits or charges waiting from an amendment or a
    termination even when no regular item falls on a date (e.g. a fee-only contract terminated mid-period).
    ``lines``, ``claimed`` and ``waiting`` (the contract's unbilled pending charges up to ``as_of``)
    may be passed preloaded by the planner, with the ``catalog`` it reads plans through."""
    dates = [
        item.billing_date
        for item in contract_due_items(contract, as_of=as_of, lines=lines, claimed=claimed, catalog=catalog)
    ]
    if waiting is None:
        waiting = list(
            PendingCharge.objects.filter(
                contract=contract, invoice_line__isnull=True, service_start__lte=as_of
            )
        )
    for charge in waiting:
        if any(charge.service_start <= d for d in dates):
            continue  # a regular invoice on or after its date picks it up
        day = charge.service_start
        if (
            Invoice.objects.filter(contract=contract, billing_date=day)
            .exclude(status=Invoice.Status.DRAFT)
            .exists()
        ):
            day = as_of
        if (
            not Invoice.objects.filter(contract=contract, billing_date=day)
            .exclude(status=Invoice.Status.DRAFT)
            .exists()
        ):
            dates.append(day)
    return dates


def billing_run_plan(*, run_id: int) -> int:
    """Create one item per (contract, billing date) with something due and unbilled. Idempotent."""
    run = BillingRun.objects.select_related("job").get(pk=run_id)
    if run.status in (BillingRun.Status.COMPLETED, BillingRun.Status.FAILED):
        return 0
    job_start(job_id=run.job_id)
    BillingRun.objects.filter(pk=run.pk, started_at__isnull=True).update(started_at=timezone.now())
    BillingRun.objects.filter(pk=run.pk).update(status=BillingRun.Status.RUNNING)
    # Renewals, trial conversions and scheduled changes due by the run's date apply first (issue 17).
    contracts_apply_due(as_of=run.as_of, customers=run.customers or None)
    contracts = Contract.objects.filter(status__in=BILLABLE_CONTRACT_STATUSES, start_date__lte=run.as_of)
    if run.customers:
        contracts = contracts.filter(customer__external_id__in=run.customers)
    ids = list(contracts.order_by("pk").values_list("pk", flat=True))
    catalog = Catalog()  # one read of the catalog for the whole planning pass
    for start in range(0, len(ids), PLAN_CHUNK):
        _plan_chunk(run, ids[start : start + PLAN_CHUNK], catalog=catalog)
    total = run.items.count()
    job_set_total(job_id=run.job_id, total=total)
    return total


def _plan_chunk(run: BillingRun, ids: list[int], *, catalog: Catalog) -> None:
    """Plan a chunk of contracts with a handful of queries: their lines, claims and pending charges
    are loaded for the whole chunk (not per contract); the due dates are computed in memory."""
    contracts = Contract.objects.filter(pk__in=ids).order_by("pk")
    lines, claimed = lines_and_claims(ids)
    waiting: dict[int, list[PendingCharge]] = defaultdict(list)
    for charge in PendingCharge.objects.filter(
        contract_id__in=ids, invoice_line__isnull=True, service_start__lte=run.as_of
    ):
        waiting[charge.contract_id].append(charge)
    items = []
    for contract in contracts:
        dates = _billing_dates(
            contract,
            as_of=run.as_of,
            lines=lines[contract.pk],
            claimed=claimed[contract.pk],
            waiting=waiting[contract.pk],
            catalog=catalog,
        )
        items.extend(
            BillingRunItem(run=run, customer_id=contract.customer_id, contract=contract, billing_date=d)
            for d in sorted(set(dates))
        )
    BillingRunItem.objects.bulk_create(items, ignore_conflicts=True)


def _claim_batch(run: BillingRun, size: int) -> list[BillingRunItem]:
    """Lock up to ``size`` pending items, oldest billing date first, skipping items other workers hold."""
    qs = BillingRunItem.objects.filter(run=run, status=BillingRunItem.Status.PENDING).order_by(
        "billing_date", "id"
    )
    if connection.vendor == "postgresql":
        qs = qs.select_for_update(skip_locked=True)
    return list(qs[:size])


def _rounds(items: list[BillingRunItem]) -> list[list[BillingRunItem]]:
    """Split a batch so each contract appears at most once per round, its billing dates in order (an
    earlier date's invoice takes the pending charges, and the later one must see that)."""
    rounds: list[list[BillingRunItem]] = []
    seen: dict[int, int] = defaultdict(int)
    for item in sorted(items, key=lambda i: (i.billing_date, i.id)):
        k = seen[item.contract_id]
        seen[item.contract_id] += 1
        if k == len(rounds):
            rounds.append([])
        rounds[k].append(item)
    return rounds


def _build_round(run: BillingRun, items: list[BillingRunItem], *, catalog: Catalog) -> None:
    """Build one round's invoices (at most one per contract) together; if that hits a database error,
    roll the round back to its savepoint and build its items one at a time, each in a savepoint of
    its own, so a failing contract is parked alone."""
    requests = [(item.contract_id, item.billing_date) for item in items]
    errors: dict[tuple, Exception] = {}
    try:
        with transaction.atomic():
            built = invoices_build(requests, run=run, actor="billing_run", errors=errors, catalog=catalog)
    except Exception as exc:  # noqa: BLE001 - retried one by one below, where each failure is parked
        log.info("billing run %s: a batch failed (%s); building its items one at a time", run.pk, exc)
        built, errors = {}, {}
        for request in requests:
            try:
                with transaction.atomic():
                    built.update(invoices_build([request], run=run, actor="billing_run", catalog=catalog))
            except Exception as exc:  # noqa: BLE001 - parked: rolled back to its savepoint, recorded
                errors[request] = exc
    for item, request in zip(items, requests, strict=True):
        item.attempts += 1
        exc = errors.get(request)
        if exc is not None:
            log.warning(
                "billing run %s: contract %s @ %s failed: %s",
                run.pk,
                item.contract_id,
                item.billing_date,
                exc,
            )
            log.debug("%s", "".join(traceback.format_exception(exc)))
            item.status = BillingRunItem.Status.FAILED
            item.error = f"{type(exc).__name__}: {exc}"[:5000]
        else:
            invoice = built.get(request)
            item.status = BillingRunItem.Status.DONE if invoice else BillingRunItem.Status.SKIPPED
            item.invoice = invoice


def _save_items(items: list[BillingRunItem]) -> None:
    """Write the batch's items' outcome with one UPDATE (on PostgreSQL from arrays: Django's
    ``bulk_update`` builds a CASE per field and row, which costs more CPU than the invoices)."""
    fields = ["status", "invoice", "error", "attempts", "finished_at"]
    if connection.vendor != "postgresql":
        BillingRunItem.objects.bulk_update(items, fields)
        return
    table = connection.ops.quote_name(BillingRunItem._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS i SET status = u.status, invoice_id = u.invoice_id, "  # noqa: S608
            "error = u.error, attempts = u.attempts, finished_at = u.finished_at "
            "FROM unnest(%s::bigint[], %s::text[], %s::bigint[], %s::text[], %s::integer[], "
            "%s::timestamptz[]) AS u (id, status, invoice_id, error, attempts, finished_at) WHERE i.id = u.id",
            [
                [item.pk for item in items],
                [item.status for item in items],
                [item.invoice_id for item in items],
                [item.error for item in items],
                [item.attempts for item in items],
                [item.finished_at for item in items],
            ],
        )


def _replan_foreign_key_checks() -> None:
    """Let PostgreSQL plan the batch's foreign-key checks again. The checks (``SELECT 1 FROM invoice
    WHERE id = $1 FOR KEY SHARE`` for every line, claim and item written) are prepared once per
    connection and soon run from a cached generic plan, made with the table sizes of that moment: a
    worker whose first batch found ``billing_invoice`` nearly empty keeps sequentially scanning it
    while the run adds thousands of invoices — every check reads the whole table, and the run's
    database CPU grows with the square of its size (measured: 1.3 ms per invoice over a 10,000-invoice
    run on a new database, 0.5 ms with this). ``DISCARD PLANS`` drops the cached plans of this
    session only (Django binds parameters client-side, so no prepared statement of ours is lost);
    a few checks per batch are planned again, with the current sizes."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DISCARD PLANS")


def _work_batch(run: BillingRun, size: int, *, catalog: Catalog) -> int:
    """Claim up to ``size`` items and finish them in ONE transaction: their invoices, the items'
    status and the job's progress commit together, or (a killed worker, a lost connection) not at
    all — the items are then pending again for any worker, and nothing of them was written. Returns
    the number of items finished (0: nothing left to claim)."""
    with transaction.atomic():
        items = _claim_batch(run, size)
        if not items:
            return 0
        _replan_foreign_key_checks()
        for round_items in _rounds(items):
            _build_round(run, round_items, catalog=catalog)
        now = timezone.now()  # the batch's items share their finish time: one per transaction
        for item in items:
            item.finished_at = now
        _save_items(items)
        job_advance(job_id=run.job_id, by=len(items))
        return len(items)


def billing_run_work(*, run_id: int, limit: int | None = None) -> int:
    """Claim and build items, ``BATCH_SIZE`` per transaction, until none is pending (or ``limit``
    items). Safe on any number of workers."""
    run = BillingRun.objects.get(pk=run_id)
    size = max(1, int(getattr(settings, "BILLING_RUN_BATCH_SIZE", BATCH_SIZE)))
    done, drained = 0, False
    while not drained and (limit is None or done < limit):
        # The catalog (plans' published versions, products, meters) is read once per CATALOG_BATCH
        # items rather than once per invoice; a version published during a run is picked up within
        # that many items (published versions themselves never change).
        catalog = Catalog()
        in_catalog = 0
        while in_catalog < CATALOG_BATCH and (limit is None or done < limit):
            claimed = _work_batch(run, size if limit is None else min(size, limit - done), catalog=catalog)
            if not claimed:
                drained = True
                break
            done += claimed
            in_catalog += claimed
    billing_run_finish(run_id=run_id)
    return done


@transaction.atomic
def billing_run_finish(*, run_id: int) -> bool:
    """Mark the run completed once no item is pending (exactly once, under the run's row lock)."""
    run = BillingRun.objects.select_for_update().get(pk=run_id)
    if run.status in (BillingRun.Status.COMPLETED, BillingRun.Status.FAILED):
        return False
    counts = run.items.aggregate(
        pending=Count("id", filter=Q(status=BillingRunItem.Status.PENDING)),
        failed=Count("id", filter=Q(status=BillingRunItem.Status.FAILED)),
        invoices=Count("invoice", distinct=True),
    )
    if counts["pending"]:
        return False
    run.status = BillingRun.Status.COMPLETED
    run.invoices_created = counts["invoices"]
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "invoices_created", "finished_at"])
    result = {"invoices_created": run.invoices_created, "failures": counts["failed"]}
    job_complete(job_id=run.job_id, result=result)
    audit_record(actor="billing_run", action=AuditAction.BILLING_RUN_COMPLETED, obj=run, changes=result)
    outbox_publish(topic="billing_run.completed", obj=run, payload=billing_run_payload(run))
    return True


def billing_run_fan_out(*, run_id: int) -> None:
    """Send the run's workers (``BILLING_RUN_PARALLELISM``): each claims batches of pending items
    (``SKIP LOCKED``) until none is left, so any number of them may run, twice or late."""
    for _ in range(_workers()):
        enqueue_on_commit(WORK_TASK, run_id)


def billing_run_plan_and_fan_out(*, run_id: int) -> int:
    """Plan the run's items, then send its workers; a run with nothing due is finished at once.
    Returns how many items were planned."""
    total = billing_run_plan(run_id=run_id)
    if total == 0:
        billing_run_finish(run_id=run_id)
        return 0
    billing_run_fan_out(run_id=run_id)
    return total


def billing_run_plan_failed(*, run_id: int, error: Exception, attempt: int) -> bool:
    """Whether planning that raised ``error`` on ``attempt`` (0 = the first) is tried again; after
    ``PLAN_RETRIES`` retries the run fails with the error."""
    if attempt >= PLAN_RETRIES:
        billing_run_fail(run_id=run_id, error=f"Planning failed: {error}")
        return False
    return True


def billing_run_fail(*, run_id: int, error: str) -> None:
    run = BillingRun.objects.get(pk=run_id)
    BillingRun.objects.filter(pk=run_id).update(status=BillingRun.Status.FAILED, finished_at=timezone.now())
    job_fail(job_id=run.job_id, error=error)


def billing_run_payload(run: BillingRun) -> dict:
    job: Job = run.job
    failures = [
        {
            "customer": i.customer.external_id,
            "contract": i.contract.number,
            "billing_date": i.billing_date,
            "error": i.error,
        }
        for i in run.items.filter(status=BillingRunItem.Status.FAILED).select_related("customer", "contract")[
            :100
        ]
    ]
    return {
        "id": run.pk,
        "as_of": run.as_of,
        "status": run.status,
        "customers": run.customers,
        "progress": {"done": job.progress_done, "total": job.progress_total},
        "invoices_created": billing_run_invoice_count(run=run),
        "failures": failures,
        "created_at": run.created_at,
        "finished_at": run.finished_at,
        "job": job.pk,
    }


def billing_run_resume(run: BillingRun) -> bool:
    """The stalled-run resumer's step for a billing run (revops.core.services.jobs): plan it again if
    it never got its items, send its workers again if items are pending, or mark it finished."""
    pending = run.items.filter(status=BillingRunItem.Status.PENDING).exists()
    if run.status == BillingRun.Status.QUEUED or (not pending and not run.items.exists()):
        enqueue(PLAN_TASK, run.pk)
    elif pending:
        billing_run_fan_out(run_id=run.pk)
    else:
        billing_run_finish(run_id=run.pk)
        return False
    return True
