"""A finalization run's life outside its batches: start (the ids or filters cleaned and the run
recorded), preview, plan (one item per draft, in billing-date order), fan-out to the workers, finish,
progress and problems, and the stalled-run resumer's step. The batches: :mod:`.batch`."""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Count, Exists, OuterRef, Q, Sum
from django.db.models.functions import Cast
from django.utils import timezone

from billing.invoicing.filters import InvoiceFilter
from billing.models import (
    FinalizationItem,
    FinalizationRun,
    Invoice,
    InvoiceLine,
)
from revops.core.approvals.models import Approval
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.core.enqueue import enqueue, enqueue_on_commit
from revops.core.services.jobs import job_complete, job_create, job_fail, job_set_total, job_start
from revops.core.statistics import planner_statistics_refresh
from revops.errors import DomainError, FieldError, ValidationFailed

PLAN_TASK = "billing.plan_finalization_run"
log = logging.getLogger(__name__)
WORK_TASK = "billing.work_finalization_run"
PLAN_CHUNK = 2000
MAX_IDS = 100_000
# The invoice list's filters a run may be started with (GET /invoices takes the same names).
FILTER_NAMES = (
    "status",
    "customer",
    "customer_id",
    "period_start",
    "billing_date",
    "billing_date_from",
    "billing_date_to",
    "holds_period",
)


def _workers() -> int:
    return int(getattr(settings, "FINALIZATION_PARALLELISM", getattr(settings, "BILLING_RUN_PARALLELISM", 4)))


def _clean_ids(invoice_ids) -> list[int]:
    if not isinstance(invoice_ids, list | tuple) or not invoice_ids:
        raise ValidationFailed("List the draft invoices to finalize.", field="ids")
    if len(invoice_ids) > MAX_IDS:
        raise ValidationFailed(f"At most {MAX_IDS} invoices per run; use a filter for more.", field="ids")
    errors = [
        FieldError(f"ids[{i}]", "An invoice id is a positive integer.")
        for i, value in enumerate(invoice_ids)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0
    ]
    if errors:
        raise ValidationFailed(errors[0].message, errors=errors[:50])
    ids = list(dict.fromkeys(invoice_ids))
    known = set(Invoice.objects.filter(pk__in=ids).values_list("pk", flat=True))
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise ValidationFailed(
            f"No invoice with id {', '.join(map(str, unknown[:10]))}.",
            errors=[
                FieldError(f"ids[{invoice_ids.index(i)}]", f"No invoice with id {i}.") for i in unknown[:50]
            ],
        )
    return ids


def _clean_filters(filters) -> dict:
    if not isinstance(filters, dict):
        raise ValidationFailed("A filter is an object of the invoice list's parameters.", field="filter")
    unknown = sorted(set(filters) - set(FILTER_NAMES))
    if unknown:
        raise ValidationFailed(
            f"Unknown filter '{unknown[0]}'; the invoice list's filters are {', '.join(FILTER_NAMES)}.",
            errors=[FieldError(f"filter.{name}", "Not a filter of the invoice list.") for name in unknown],
        )
    data = {name: "" if value is None else str(value) for name, value in filters.items()}
    if data.get("status", "draft") not in ("", "draft"):
        raise ValidationFailed(
            "Only drafts are finalized: leave status out or set it to draft.", field="filter.status"
        )
    filterset = InvoiceFilter(data, queryset=Invoice.objects.none())
    if not filterset.is_valid():
        errors = [
            FieldError(f"filter.{name}", str(message))
            for name, messages in filterset.form.errors.items()
            for message in messages
        ]
        raise ValidationFailed(errors[0].message, errors=errors)
    try:  # a filter method checks its value as it filters (holds_period): refused here, not in the plan
        filterset.qs  # noqa: B018 - built for its checks, not run
    except ValidationFailed as exc:
        names = [err.field for err in exc.errors if err.field] or ["holds_period"]
        raise ValidationFailed(
            exc.detail, errors=[FieldError(f"filter.{name}", exc.detail) for name in names]
        ) from exc
    low, high = (
        filterset.form.cleaned_data.get("billing_date_from"),
        filterset.form.cleaned_data.get("billing_date_to"),
    )
    if low and high and low > high:
        raise ValidationFailed(
            f"billing_date_to ({high.isoformat()}) is before billing_date_from ({low.isoformat()}).",
            field="filter.billing_date_to",
        )
    return {name: value for name, value in data.items() if value != ""}


@transaction.atomic
def finalization_start(
    *, invoice_ids: list[int] | None = None, filters: dict | None = None, actor=None, trigger: str = "manual"
) -> FinalizationRun:
    """Record a run finalizing the drafts ``invoice_ids`` names — or, without ids, every draft the
    invoice list's ``filters`` select (``{}``: every draft) — and queue its planning after commit.
    Returns at once. Ids that are not drafts any more are reported as skipped, not refused."""
    if invoice_ids is not None and filters is not None:
        raise ValidationFailed("Give either invoice ids or a filter, not both.", field="filter")
    ids = _clean_ids(invoice_ids) if invoice_ids is not None else []
    cleaned = _clean_filters(filters or {}) if invoice_ids is None else {}
    user = actor if getattr(actor, "pk", None) else None
    job = job_create(
        kind="invoice_finalization",
        started_by=user,
        params={"trigger": trigger, "invoices": len(ids), "filter": cleaned}
        if ids
        else {"trigger": trigger, "filter": cleaned},
    )
    run = FinalizationRun.objects.create(
        trigger=trigger[:32], invoice_ids=ids, filters=cleaned, job=job, requested_by=user
    )
    audit_record(
        actor=actor or trigger,
        action=AuditAction.INVOICE_FINALIZATION_STARTED,
        obj=run,
        changes={"trigger": trigger, "invoices": len(ids), "filter": cleaned},
    )
    enqueue_on_commit(PLAN_TASK, run.pk)
    return run


def finalization_preview(*, invoice_ids: list[int] | None = None, filters: dict | None = None) -> dict:
    """What a run started with the same arguments would finalize, for a confirmation step: the drafts'
    count and totals per currency (cleaned and selected exactly as the run does; refuses what
    :func:`finalization_start` refuses), how many of them an approval holds today, and ``digest``: the
    SHA-256 of the exact drafts and their totals, which the confirmation carries — a confirmed step
    whose digest differs (a draft added, gone or re-totalled since) starts nothing."""
    if invoice_ids is not None and filters is not None:
        raise ValidationFailed("Give either invoice ids or a filter, not both.", field="filter")
    if invoice_ids is not None:
        selected = Invoice.objects.filter(pk__in=_clean_ids(invoice_ids))
    else:
        selected = _selected(FinalizationRun(filters=_clean_filters(filters or {})))
    drafts = selected.filter(status=Invoice.Status.DRAFT).order_by()
    totals = list(drafts.values("currency").annotate(n=Count("id"), total=Sum("total")).order_by("currency"))
    held = drafts.filter(contract_awaits_approval()).count()
    rows = drafts.order_by("pk").values_list("pk", "currency", "total")
    digest = hashlib.sha256("\n".join(f"{pk}:{cur}:{total}" for pk, cur, total in rows).encode()).hexdigest()
    return {"count": sum(row["n"] for row in totals), "totals": totals, "held": held, "digest": digest}


def contract_awaits_approval() -> Exists:
    """True for an invoice whose contract waits for an approval (the rule :func:`approval_holds` applies
    in each batch; auto-finalization and the confirmation step use it to say so beforehand)."""
    return Exists(
        Approval.objects.filter(
            object_type="contracts.contract",
            object_id=Cast(OuterRef("contract_id"), output_field=CharField()),
            status=Approval.Status.PENDING,
        )
    )


def approval_holds(contract_ids) -> dict[int, int]:
    """contract id → the id of its oldest pending approval, for the contracts that wait for one. A draft
    of such a contract is not finalized by any run (controls win), whatever started the run."""
    rows = (
        Approval.objects.filter(
            object_type="contracts.contract",
            object_id__in=[str(pk) for pk in set(contract_ids)],
            status=Approval.Status.PENDING,
        )
        .order_by("-pk")
        .values_list("object_id", "pk")
    )
    return {int(object_id): pk for object_id, pk in rows}


def _selected(run: FinalizationRun):
    if run.invoice_ids:
        return Invoice.objects.filter(pk__in=run.invoice_ids)
    data = {**run.filters, "status": Invoice.Status.DRAFT}
    filterset = InvoiceFilter(data, queryset=Invoice.objects.all())
    if not filterset.is_valid():  # e.g. the filter's customer was deleted since: nothing matches
        return Invoice.objects.none()
    return filterset.qs


def finalization_plan(*, run_id: int) -> int:
    """One item per selected invoice, in billing-date order (the order numbers are handed out in).
    Idempotent: planning again adds nothing."""
    run = FinalizationRun.objects.get(pk=run_id)
    if run.status in (FinalizationRun.Status.COMPLETED, FinalizationRun.Status.FAILED):
        return 0
    job_start(job_id=run.job_id)
    FinalizationRun.objects.filter(pk=run.pk, started_at__isnull=True).update(started_at=timezone.now())
    FinalizationRun.objects.filter(pk=run.pk).update(status=FinalizationRun.Status.RUNNING)
    # The billing run just wrote the drafts: plan the batches on today's table sizes.
    planner_statistics_refresh(Invoice, InvoiceLine)
    ids = _selected(run).order_by("billing_date", "id").values_list("pk", flat=True)
    chunk: list[int] = []
    for pk in ids.iterator(chunk_size=PLAN_CHUNK):
        chunk.append(pk)
        if len(chunk) == PLAN_CHUNK:
            _plan_chunk(run, chunk)
            chunk = []
    _plan_chunk(run, chunk)
    total = run.items.count()
    job_set_total(job_id=run.job_id, total=total)
    return total


def _plan_chunk(run: FinalizationRun, ids: list[int]) -> None:
    FinalizationItem.objects.bulk_create(
        [FinalizationItem(run=run, invoice_id=pk) for pk in ids], ignore_conflicts=True
    )


def finalization_plan_and_fan_out(*, run_id: int) -> int:
    """Plan, then send the workers. Planning that raises — whatever the reason — ends the run as failed
    with the reason (the run page and ``GET /invoices/finalize/{id}`` show it): the stalled-run resumer
    never re-queues a plan that cannot succeed."""
    try:
        total = finalization_plan(run_id=run_id)
    except Exception as exc:  # noqa: BLE001 - recorded on the run, never retried forever
        log.exception("finalization run %s: planning failed", run_id)
        reason = exc.detail if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
        finalization_fail(run_id=run_id, error=f"Planning failed: {reason}")
        return 0
    if total == 0:
        finalization_finish(run_id=run_id)
        return 0
    finalization_fan_out(run_id=run_id)
    return total


def finalization_fan_out(*, run_id: int) -> None:
    for _ in range(_workers()):
        enqueue_on_commit(WORK_TASK, run_id)


@transaction.atomic
def finalization_finish(*, run_id: int) -> bool:
    """Mark the run completed once no item is pending (exactly once, under the run's row lock)."""
    run = FinalizationRun.objects.select_for_update().get(pk=run_id)
    if run.status in (FinalizationRun.Status.COMPLETED, FinalizationRun.Status.FAILED):
        return False
    counts = run.items.aggregate(
        pending=Count("id", filter=Q(status=FinalizationItem.Status.PENDING)),
        done=Count("id", filter=Q(status=FinalizationItem.Status.DONE)),
        failed=Count("id", filter=Q(status=FinalizationItem.Status.FAILED)),
        skipped=Count("id", filter=Q(status=FinalizationItem.Status.SKIPPED)),
    )
    if counts["pending"]:
        return False
    run.status = FinalizationRun.Status.COMPLETED
    run.finalized, run.failed, run.skipped = counts["done"], counts["failed"], counts["skipped"]
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finalized", "failed", "skipped", "finished_at"])
    result = {"finalized": run.finalized, "failed": run.failed, "skipped": run.skipped}
    job_complete(job_id=run.job_id, result=result)
    audit_record(
        actor="finalization", action=AuditAction.INVOICE_FINALIZATION_COMPLETED, obj=run, changes=result
    )
    return True


def finalization_fail(*, run_id: int, error: str) -> None:
    """End the run as failed with ``error`` (kept on its job); nothing is finalized by it any more."""
    with transaction.atomic():
        run = FinalizationRun.objects.select_for_update().get(pk=run_id)
        if run.status in (FinalizationRun.Status.COMPLETED, FinalizationRun.Status.FAILED):
            return
        run.status, run.finished_at = FinalizationRun.Status.FAILED, timezone.now()
        run.save(update_fields=["status", "finished_at"])
        job_fail(job_id=run.job_id, error=error[:5000])


def finalization_counts(run: FinalizationRun) -> dict[str, int]:
    """Finalized / failed / skipped so far (the run's columns once it completed)."""
    if run.status == FinalizationRun.Status.COMPLETED:
        return {"finalized": run.finalized, "failed": run.failed, "skipped": run.skipped}
    counts = run.items.aggregate(
        finalized=Count("id", filter=Q(status=FinalizationItem.Status.DONE)),
        failed=Count("id", filter=Q(status=FinalizationItem.Status.FAILED)),
        skipped=Count("id", filter=Q(status=FinalizationItem.Status.SKIPPED)),
    )
    return {k: int(v) for k, v in counts.items()}


def finalization_problems(run: FinalizationRun, *, limit: int = 100) -> list[FinalizationItem]:
    """The run's parked and skipped drafts with their reasons, first ``limit``."""
    return list(
        run.items.filter(status__in=[FinalizationItem.Status.FAILED, FinalizationItem.Status.SKIPPED])
        .select_related("invoice", "invoice__customer")
        .order_by("id")[:limit]
    )


def finalization_resume(run: FinalizationRun) -> bool:
    """The stalled-run resumer's step (revops.core.services.jobs): plan again if it never got its items,
    send its workers again if items are pending, or mark it finished."""
    pending = run.items.filter(status=FinalizationItem.Status.PENDING).exists()
    if run.status == FinalizationRun.Status.QUEUED or not run.items.exists():
        enqueue(PLAN_TASK, run.pk)
    elif pending:
        finalization_fan_out(run_id=run.pk)
    else:
        finalization_finish(run_id=run.pk)
        return False
    return True
