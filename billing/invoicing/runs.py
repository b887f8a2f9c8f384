"""Billing runs: plan the work items, let workers claim them, finish the run.

No chords: every worker loops "claim one pending item with SELECT … FOR UPDATE SKIP LOCKED, build
its invoice, mark it done" inside ONE transaction per item, so a killed worker leaves the item
pending (its transaction rolls back) and any worker — or the same run started again — finishes it.
A failing contract is parked with its error and does not stop the others."""

from __future__ import annotations

import logging
import traceback
from collections import defaultdict
from datetime import date

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from billing.contracts.terms import catalog_memo
from billing.invoicing.build import BILLABLE_CONTRACT_STATUSES, contract_due_items, invoice_build
from billing.models import BillingClaim, BillingRun, BillingRunItem, Invoice, PendingCharge
from compliance.audit import audit_record
from revops.contracts.models import Contract, ContractLine
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
from revops.errors import FieldError, ValidationFailed

log = logging.getLogger(__name__)
PLAN_CHUNK = 500  # contracts planned per handful of queries
CATALOG_BATCH = 100  # items a worker builds on one read of the catalog


def _workers() -> int:
    return int(getattr(settings, "BILLING_RUN_PARALLELISM", 4))


@transaction.atomic
def billing_run_start(*, as_of: date, customers: list[str] | None = None, actor=None) -> BillingRun:
    """Record the run and queue its planning (after commit). Returns at once (202)."""
    customers = sorted(set(customers or []))
    if customers:
        from revops.contracts.models import Customer

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
        actor=actor, action="billing_run.started", obj=run, changes={"as_of": as_of, "customers": customers}
    )
    from billing.tasks import plan_billing_run

    transaction.on_commit(lambda: _enqueue(plan_billing_run, run.pk))
    return run


def _enqueue(task, *args) -> None:
    """Queue a task; if the broker is down the run stays queued and the beat job resumes it."""
    try:
        task.delay(*args)
    except Exception:  # noqa: BLE001 - a broker outage must not fail the request that recorded the run
        log.warning(
            "Could not queue %s%s; it will be resumed when the broker is back.",
            task.name,
            args,
            exc_info=True,
        )


def _billing_dates(
    contract,
    *,
    as_of: date,
    lines: list | None = None,
    claimed: set[tuple] | None = None,
    waiting: list[PendingCharge] | None = None,
) -> list[date]:
    """Dates with something to bill: due items, and credits or charges waiting from an amendment or a
    termination even when no regular item falls on a date (e.g. a fee-only contract terminated mid-period).
    ``lines``, ``claimed`` and ``waiting`` (the contract's unbilled pending charges up to ``as_of``)
    may be passed preloaded by the planner."""
    dates = [
        item.billing_date for item in contract_due_items(contract, as_of=as_of, lines=lines, claimed=claimed)
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
    contracts = Contract.objects.filter(status__in=BILLABLE_CONTRACT_STATUSES, start_date__lte=run.as_of)
    if run.customers:
        contracts = contracts.filter(customer__external_id__in=run.customers)
    ids = list(contracts.order_by("pk").values_list("pk", flat=True))
    with catalog_memo():
        for start in range(0, len(ids), PLAN_CHUNK):
            _plan_chunk(run, ids[start : start + PLAN_CHUNK])
    total = run.items.count()
    job_set_total(job_id=run.job_id, total=total)
    return total


def _plan_chunk(run: BillingRun, ids: list[int]) -> None:
    """Plan a chunk of contracts with a handful of queries: their lines, claims and pending charges
    are loaded for the whole chunk (not per contract); the due dates are computed in memory."""
    contracts = Contract.objects.filter(pk__in=ids).order_by("pk")
    lines: dict[int, list[ContractLine]] = defaultdict(list)
    for line in ContractLine.objects.filter(contract_id__in=ids).select_related("plan", "product"):
        lines[line.contract_id].append(line)
    claimed: dict[int, set[tuple]] = defaultdict(set)
    for contract_id, *claim in BillingClaim.objects.filter(contract_line__contract_id__in=ids).values_list(
        "contract_line__contract_id", "contract_line_id", "period_start", "kind"
    ):
        claimed[contract_id].add(tuple(claim))
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
        )
        items.extend(
            BillingRunItem(run=run, customer_id=contract.customer_id, contract=contract, billing_date=d)
            for d in sorted(set(dates))
        )
    BillingRunItem.objects.bulk_create(items, ignore_conflicts=True)


def _claim_and_build(run: BillingRun) -> str | None:
    """One item, one transaction. Returns the item status, or None when nothing is left to claim."""
    with transaction.atomic():
        qs = BillingRunItem.objects.filter(run=run, status=BillingRunItem.Status.PENDING).order_by(
            "billing_date", "id"
        )
        if connection.vendor == "postgresql":
            qs = qs.select_for_update(skip_locked=True)
        item = qs.first()
        if item is None:
            return None
        try:
            # invoice_build is atomic: nested here, it runs in a savepoint of its own.
            invoice = invoice_build(
                contract_id=item.contract_id, billing_date=item.billing_date, run=run, actor="billing_run"
            )
        except Exception as exc:  # parked: rolled back to the savepoint, recorded, the run goes on
            log.warning(
                "billing run %s: contract %s @ %s failed: %s",
                run.pk,
                item.contract_id,
                item.billing_date,
                exc,
            )
            item.status = BillingRunItem.Status.FAILED
            item.error = f"{type(exc).__name__}: {exc}"[:5000]
            item.attempts += 1
            item.finished_at = timezone.now()
            item.save(update_fields=["status", "error", "attempts", "finished_at"])
            log.debug("%s", traceback.format_exc())
        else:
            item.status = BillingRunItem.Status.DONE if invoice else BillingRunItem.Status.SKIPPED
            item.invoice = invoice
            item.attempts += 1
            item.finished_at = timezone.now()
            item.save(update_fields=["status", "invoice", "attempts", "finished_at"])
        job_advance(job_id=run.job_id)
        return item.status


def billing_run_work(*, run_id: int, limit: int | None = None) -> int:
    """Claim and build items until none is pending (or ``limit`` items). Safe on any number of workers."""
    run = BillingRun.objects.get(pk=run_id)
    done, drained = 0, False
    while not drained and (limit is None or done < limit):
        # The catalog (plans' published versions, products, meters) is read once per CATALOG_BATCH
        # items rather than once per invoice; a version published during a run is picked up within
        # that many items (published versions themselves never change).
        with catalog_memo():
            for _ in range(CATALOG_BATCH):
                if limit is not None and done >= limit:
                    break
                if _claim_and_build(run) is None:
                    drained = True
                    break
                done += 1
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
    audit_record(actor="billing_run", action="billing_run.completed", obj=run, changes=result)
    outbox_publish(topic="billing_run.completed", obj=run, payload=billing_run_payload(run))
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
        "invoices_created": run.items.exclude(invoice__isnull=True).values("invoice").distinct().count(),
        "failures": failures,
        "created_at": run.created_at,
        "finished_at": run.finished_at,
        "job": job.pk,
    }


def stalled_runs_resume() -> int:
    """Beat: re-queue work for runs nobody is working on — the broker lost a message (Redis restarted
    without persistence) or every worker died. Safe to over-trigger: items are claimed with row locks
    and already-billed periods are skipped, so extra workers only find nothing to do."""
    from billing.tasks import plan_billing_run, work_billing_run

    stall = int(getattr(settings, "BILLING_RUN_STALL_SECONDS", 120))
    now = timezone.now()
    count = 0
    for run in BillingRun.objects.filter(
        status__in=[BillingRun.Status.QUEUED, BillingRun.Status.RUNNING]
    ).select_related("job"):
        last = run.job.heartbeat_at or run.created_at
        if (now - last).total_seconds() <= stall:
            continue
        pending = run.items.filter(status=BillingRunItem.Status.PENDING).exists()
        if run.status == BillingRun.Status.QUEUED or (not pending and not run.items.exists()):
            plan_billing_run.delay(run.pk)
        elif pending:
            for _ in range(_workers()):
                work_billing_run.delay(run.pk)
        else:
            billing_run_finish(run_id=run.pk)
            continue
        count += 1
    return count
