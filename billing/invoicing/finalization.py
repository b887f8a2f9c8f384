"""Finalization runs (issue 15 §1): finalizing many drafts — bulk in the review queue, ``POST
/invoices/finalize``, auto-finalization after a grace period — as a job with progress.

:func:`finalization_start` records the run and returns at once; after commit a plan task creates one
item per draft (the ids asked for, or the drafts the invoice list's filters select, in billing-date
order) and sends ``FINALIZATION_PARALLELISM`` workers. Each worker loops "claim up to BATCH_SIZE
pending items with SELECT … FOR UPDATE SKIP LOCKED and finalize their drafts" in ONE transaction per
batch, so a killed worker leaves its batch's items pending (nothing of them committed) and any
worker — or the stalled-run resumer — finishes them; a re-delivered task finds nothing pending and
repeats nothing.

Per invoice the batch keeps ``lifecycle.invoice_finalize``'s semantics — the same steps, from the
same functions: usage re-rated one last time when late usage arrived (a draft whose customer sent
nothing since it was rated would get the very same lines, so it is not rebuilt and no
``invoice.refreshed`` event is written for it; one query finds which drafts need it), prepaid credits drawn, the next gapless
number, ``invoice.finalized`` audited and announced on the outbox (the ledger posts it inline),
``invoice.paid`` too when credits covered it, the PDF rendered by a task after commit. What the batch
does once instead of per invoice: the drafts are locked with one statement, the catalog read once,
the counter of each legal entity locked once (numbers handed out in the drafts' billing-date order,
one only to a draft that is finalized: a parked draft leaves no gap), the invoices' rows written with
one UPDATE, the audit events written with one lock of the chain head, the items' outcome and the job's
progress written once.

The batch runs in two phases. Re-rating (the costly, independent part) runs first, each draft in a
savepoint, without any shared lock, so two workers re-rate in parallel. Then everything that needs
no shared lock is computed — credits drawn (in a savepoint only for a customer with a grant), dates,
totals, the outbox payloads — and only then are the locks every finalization shares taken, as late
as possible: the counters (the batch numbered in one pass), the accounting period (the postings,
set-based) and the audit chain's head (the events last; a revenue run takes the period before the
head too), held for a few statements until commit, so two workers overlap all but those. Should
that set-based step fail (the ledger refused an entry), it is rolled back and done again one draft
at a time, each in a savepoint of its own: a draft that fails in either phase is rolled back
to its savepoint and parked with its error; the others go on."""

from __future__ import annotations

import logging
from collections import defaultdict

from django.conf import settings
from django.db import connection, transaction
from django.db.models import CharField, Count, Exists, F, OuterRef, Prefetch, Q, Sum
from django.db.models.functions import Cast
from django.utils import timezone

from billing.catalog.reader import Catalog
from billing.documents.services import invoice_documents_queue
from billing.invoicing.build import draft_rerate
from billing.invoicing.filters import InvoiceFilter
from billing.invoicing.lifecycle import (
    finalize_announce,
    finalize_announce_many,
    finalize_draw_credits,
    finalize_issue,
    finalized_changes,
    invoices_save_finalized,
)
from billing.invoicing.numbering import counter_advance, counter_lock, number_format
from billing.invoicing.representation import invoice_data_many
from billing.models import (
    CreditGrant,
    FinalizationItem,
    FinalizationRun,
    Invoice,
    InvoiceLine,
    PlanVersion,
    UsageEvent,
)
from billing.usage.aggregation import settle
from revops.core.approvals.models import Approval
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record, audit_record_many
from revops.core.enqueue import enqueue, enqueue_on_commit
from revops.core.services.jobs import job_advance, job_complete, job_create, job_set_total, job_start
from revops.errors import DomainError, FieldError, ValidationFailed

log = logging.getLogger(__name__)

PLAN_TASK = "billing.plan_finalization_run"
WORK_TASK = "billing.work_finalization_run"
# Drafts a worker claims and finalizes per transaction (settings.FINALIZATION_BATCH_SIZE overrides).
BATCH_SIZE = 100
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


def _batch_size() -> int:
    return max(1, int(getattr(settings, "FINALIZATION_BATCH_SIZE", BATCH_SIZE)))


# --- start ---------------------------------------------------------------------------------------------


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
    :func:`finalization_start` refuses), and how many of them an approval holds today."""
    if invoice_ids is not None and filters is not None:
        raise ValidationFailed("Give either invoice ids or a filter, not both.", field="filter")
    if invoice_ids is not None:
        selected = Invoice.objects.filter(pk__in=_clean_ids(invoice_ids))
    else:
        selected = _selected(FinalizationRun(filters=_clean_filters(filters or {})))
    drafts = selected.filter(status=Invoice.Status.DRAFT).order_by()
    totals = list(drafts.values("currency").annotate(n=Count("id"), total=Sum("total")).order_by("currency"))
    held = drafts.filter(contract_awaits_approval()).count()
    return {"count": sum(row["n"] for row in totals), "totals": totals, "held": held}


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


# --- plan ---------------------------------------------------------------------------------------------


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
    total = finalization_plan(run_id=run_id)
    if total == 0:
        finalization_finish(run_id=run_id)
        return 0
    finalization_fan_out(run_id=run_id)
    return total


def finalization_fan_out(*, run_id: int) -> None:
    for _ in range(_workers()):
        enqueue_on_commit(WORK_TASK, run_id)


# --- work ---------------------------------------------------------------------------------------------


def _claim(run: FinalizationRun, size: int) -> list[FinalizationItem]:
    qs = FinalizationItem.objects.filter(run=run, status=FinalizationItem.Status.PENDING).order_by("id")
    if connection.vendor == "postgresql":
        qs = qs.select_for_update(skip_locked=True)
    return list(qs[:size])


def _park(item: FinalizationItem, exc: Exception) -> None:
    item.status = FinalizationItem.Status.FAILED
    text = exc.detail if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
    item.error = str(text)[:5000]
    log.warning("finalization run %s: invoice %s parked: %s", item.run_id, item.invoice_id, item.error)


def _actor(run: FinalizationRun):
    return run.requested_by if run.requested_by_id else run.trigger


def _to_rerate(drafts: list[Invoice]) -> set[int]:
    """The drafts whose re-rating could change them, found with one query for the batch: those that
    rated no usage yet (no watermark) and those of a customer with usage received after their
    watermark (late usage). The others would get the very lines they have — unless a price version was
    published since the oldest of them was rated, when every draft is re-rated."""
    if not drafts:
        return set()
    ids = [inv.pk for inv in drafts]
    marks = [inv.usage_watermark for inv in drafts if inv.usage_watermark is not None]
    # A draft was rated ``settle`` after its watermark (the usage cut-off trails the clock).
    if not marks or PlanVersion.objects.filter(published_at__gt=min(marks) + settle()).exists():
        return set(ids)
    late = UsageEvent.objects.filter(
        customer_id=OuterRef("customer_id"), received_at__gt=OuterRef("usage_watermark")
    )
    return set(
        Invoice.objects.filter(pk__in=ids)
        .filter(Q(usage_watermark__isnull=True) | Exists(late))
        .values_list("pk", flat=True)
    )


def _finalize_batch(run: FinalizationRun, items: list[FinalizationItem], *, catalog: Catalog) -> list[int]:
    """Finalize the batch's drafts (see the module docstring); sets each item's outcome. Returns the
    ids of the invoices finalized."""
    actor = _actor(run)
    by_invoice = {item.invoice_id: item for item in items}
    drafts = list(
        Invoice.objects.select_for_update(of=("self",))
        .filter(pk__in=list(by_invoice))
        .select_related("customer", "legal_entity", "contract")
        .order_by("pk")
    )
    drafts.sort(key=lambda inv: (inv.billing_date, inv.pk))
    audits: dict[int, list[dict]] = defaultdict(list)

    # Phase 1: re-rate each draft with everything received so far (no shared lock taken). A draft whose
    # contract waits for an approval is parked — read after the drafts' lock, whatever started the run.
    holds = approval_holds(inv.contract_id for inv in drafts if inv.status == Invoice.Status.DRAFT)
    stale = _to_rerate([inv for inv in drafts if inv.status == Invoice.Status.DRAFT])
    rerated: list[int] = []
    for invoice in drafts:
        item = by_invoice[invoice.pk]
        if invoice.status != Invoice.Status.DRAFT:
            item.status = FinalizationItem.Status.SKIPPED
            item.error = f"Already {invoice.get_status_display().lower()} as {invoice.number}."
            continue
        if invoice.contract_id in holds:
            item.status = FinalizationItem.Status.FAILED
            approval = holds[invoice.contract_id]
            item.error = f"Contract {invoice.contract.number} awaits approval #{approval}: it stays a draft."
            continue
        if invoice.pk not in stale:  # nothing received since it was rated: the same lines again
            rerated.append(invoice.pk)
            continue
        try:
            with transaction.atomic():
                changes = draft_rerate(invoice=invoice, catalog=catalog)
        except Exception as exc:  # noqa: BLE001 - parked: rolled back to its savepoint, recorded
            _park(item, exc)
            continue
        audits[invoice.pk].append(
            {"actor": actor, "action": AuditAction.INVOICE_REFRESHED, "obj": invoice, "changes": changes}
        )
        rerated.append(invoice.pk)
    if not rerated:
        return []

    # Phase 2: everything computed first (credits, totals, payloads), then the shared locks as late as
    # possible — the counters (numbers for the batch at once), the accounting period (through the
    # postings) and the audit chain's head (the events last) — each a few statements before commit.
    # Should the batch fail (the ledger refused an entry), phase 2 is rolled back and done again
    # one draft at a time, each in its own savepoint, so only the draft at fault is parked.
    try:
        with transaction.atomic():
            done = _issue_together(rerated, by_invoice, actor)
    except Exception:  # noqa: BLE001 - rolled back; each draft issued and announced on its own below
        log.warning("finalization run %s: batch announcement failed; announcing one by one", run.pk)
        for pk in rerated:
            by_invoice[pk].status, by_invoice[pk].error = FinalizationItem.Status.PENDING, ""
        done = _issue(rerated, by_invoice, actor)
    finalized: list[int] = []
    for invoice in done:
        audits[invoice.pk].append(
            {
                "actor": actor,
                "action": AuditAction.INVOICE_FINALIZED,
                "obj": invoice,
                "changes": finalized_changes(invoice),
            }
        )
        finalized.append(invoice.pk)
    order = {pk: i for i, pk in enumerate(inv.pk for inv in drafts)}
    audit_record_many([record for pk in sorted(audits, key=order.__getitem__) for record in audits[pk]])
    invoice_documents_queue(finalized)
    return finalized


def _ready(ids: list[int]) -> tuple[list[Invoice], set]:
    """The drafts ``ids`` with their lines, in numbering order (legal entity, billing date, id), and
    the (customer, currency) pairs that have a prepaid credit grant (the others draw nothing)."""
    lines = InvoiceLine.objects.select_related("product", "price_version", "price_version__plan", "meter")
    ready = list(
        Invoice.objects.filter(pk__in=ids)
        .select_related("customer", "contract", "legal_entity")
        .prefetch_related(Prefetch("lines", queryset=lines.order_by("position", "id")))
    )
    ready.sort(key=lambda inv: (inv.legal_entity_id, inv.billing_date, inv.pk))
    with_grants = set(
        CreditGrant.objects.filter(customer_id__in={inv.customer_id for inv in ready}).values_list(
            "customer_id", "currency"
        )
    )
    return ready, with_grants


def _counters(invoices: list[Invoice]) -> dict:
    """The invoice counter of each legal entity of ``invoices``, locked (in id order) until commit."""
    entities = {inv.legal_entity_id: inv.legal_entity for inv in invoices}
    return {pk: counter_lock(legal_entity=entities[pk], series="invoice") for pk in sorted(entities)}


def _advance(counters: dict, next_seq: dict) -> None:
    for entity, counter in counters.items():
        if next_seq[entity] != counter.next_number:
            counter_advance(counter, next_number=next_seq[entity])


def _issue_together(ids: list[int], by_invoice: dict, actor) -> list[Invoice]:
    """Finalize the drafts ``ids`` as one set. First, without a shared lock, each draft draws its
    credits (in a savepoint only when its customer has a grant) and gets its dates and totals; a draft
    that fails there is parked. Then the counters are locked and the batch numbered in one pass, the
    invoices written with one UPDATE and announced together (the ledger posts them set-based): the
    locks every finalization shares are held for a few statements. Raises if the announcement fails
    (the caller rolls back and goes one by one). Returns the invoices finalized, in numbering order."""
    ready, with_grants = _ready(ids)
    issued = timezone.localdate()
    done: list[Invoice] = []
    for invoice in ready:
        has_grants = (invoice.customer_id, invoice.currency) in with_grants
        try:
            if has_grants:  # draws write rows: a failure rolls back to its savepoint
                with transaction.atomic():
                    due = finalize_draw_credits(invoice, issued=issued)
            else:
                due = finalize_draw_credits(invoice, issued=issued, has_grants=False)
            finalize_issue(
                invoice, sequence=None, number=None, issued=issued, due_before_credits=due, actor=actor
            )
        except Exception as exc:  # noqa: BLE001 - parked before it took a number: no gap
            _park(by_invoice[invoice.pk], exc)
            continue
        done.append(invoice)
    if not done:
        return []
    payloads = invoice_data_many(done)
    counters = _counters(done)
    next_seq = {entity: counter.next_number for entity, counter in counters.items()}
    for invoice, payload in zip(done, payloads, strict=True):
        invoice.sequence = next_seq[invoice.legal_entity_id]
        next_seq[invoice.legal_entity_id] += 1
        invoice.number = number_format(
            legal_entity=invoice.legal_entity, series="invoice", sequence=invoice.sequence
        )
        payload["number"] = invoice.number
        item = by_invoice[invoice.pk]
        item.status, item.error = FinalizationItem.Status.DONE, ""
    invoices_save_finalized(done)
    finalize_announce_many(done, payloads=payloads)
    _advance(counters, next_seq)
    return done


def _issue(ids: list[int], by_invoice: dict, actor) -> list[Invoice]:
    """Number, date, draw credits for and announce the drafts ``ids`` one at a time, each in a
    savepoint (one that fails is parked and its number goes to the next), and advance the counters.
    Returns the invoices finalized, in numbering order."""
    ready, with_grants = _ready(ids)
    counters = _counters(ready)
    next_seq = {entity: counter.next_number for entity, counter in counters.items()}
    issued = timezone.localdate()
    done: list[Invoice] = []
    for invoice in ready:
        item = by_invoice[invoice.pk]
        sequence = next_seq[invoice.legal_entity_id]
        try:
            with transaction.atomic():
                due = finalize_draw_credits(
                    invoice, issued=issued, has_grants=(invoice.customer_id, invoice.currency) in with_grants
                )
                number = number_format(legal_entity=invoice.legal_entity, series="invoice", sequence=sequence)
                finalize_issue(
                    invoice,
                    sequence=sequence,
                    number=number,
                    issued=issued,
                    due_before_credits=due,
                    actor=actor,
                )
                invoice.save()
                finalize_announce(invoice)
        except Exception as exc:  # noqa: BLE001 - parked: its number is handed to the next draft
            _park(item, exc)
            continue
        next_seq[invoice.legal_entity_id] = sequence + 1
        item.status = FinalizationItem.Status.DONE
        item.error = ""
        done.append(invoice)
    _advance(counters, next_seq)
    return done


def _save_items(items: list[FinalizationItem]) -> None:
    """The items' outcome, one UPDATE per distinct (status, error) — a batch's finalized items share
    theirs — instead of a CASE per item and column."""
    now = timezone.now()
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for item in items:
        item.attempts += 1
        item.finished_at = now
        groups[(item.status, item.error)].append(item.pk)
    for (status, error), ids in groups.items():
        FinalizationItem.objects.filter(pk__in=ids).update(
            status=status, error=error, attempts=F("attempts") + 1, finished_at=now
        )


def _work_batch(run: FinalizationRun, size: int, *, catalog: Catalog) -> int:
    """Claim up to ``size`` items and finalize their drafts in ONE transaction with the items' outcome
    and the job's progress. Returns how many items were finished (0: nothing left to claim)."""
    with transaction.atomic():
        items = _claim(run, size)
        if not items:
            return 0
        if connection.vendor == "postgresql":  # plan the batch's foreign-key checks afresh (runs.py)
            with connection.cursor() as cursor:
                cursor.execute("DISCARD PLANS")
        _finalize_batch(run, items, catalog=catalog)
        _save_items(items)
        job_advance(job_id=run.job_id, by=len(items))
        return len(items)


def finalization_work(*, run_id: int, limit: int | None = None) -> int:
    """Claim and finalize batches until no item is pending (or ``limit`` items). Safe on any number of
    workers, twice, or late."""
    run = FinalizationRun.objects.select_related("requested_by").get(pk=run_id)
    size = _batch_size()
    done = 0
    catalog = Catalog()
    while limit is None or done < limit:
        claimed = _work_batch(run, size if limit is None else min(size, limit - done), catalog=catalog)
        if not claimed:
            break
        done += claimed
        if done % (size * 10) == 0:
            catalog = Catalog()  # a version published during a long run is picked up
    finalization_finish(run_id=run_id)
    return done


# --- finish, read, resume -------------------------------------------------------------------------------


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
