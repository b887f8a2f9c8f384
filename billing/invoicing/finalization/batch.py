"""The workers' loop of a finalization run and one batch of it, in ONE transaction.

Per invoice the batch keeps ``lifecycle.invoice_finalize``'s semantics — the same steps, from the
same functions: usage re-rated one last time when late usage arrived (a draft whose customer sent
nothing since it was rated would get the very same lines, so it is not rebuilt and no
``invoice.refreshed`` event is written for it; one query finds which drafts need it), prepaid
credits drawn, the next gapless
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
from django.db.models import Exists, F, OuterRef, Prefetch, Q
from django.utils import timezone

from billing.catalog.reader import Catalog
from billing.documents.services import invoice_documents_queue
from billing.invoicing.build import draft_rerate
from billing.invoicing.finalization.planning import approval_holds, finalization_finish
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
from revops.books import lock_for_posting
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record_many
from revops.core.services.jobs import job_advance
from revops.errors import DomainError

log = logging.getLogger(__name__)
# Drafts a worker claims and finalizes per transaction (settings.FINALIZATION_BATCH_SIZE overrides).
BATCH_SIZE = 100


def _batch_size() -> int:
    return max(1, int(getattr(settings, "FINALIZATION_BATCH_SIZE", BATCH_SIZE)))


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
        Invoice.objects.select_for_update(of=("self",)).filter(pk__in=list(by_invoice)).order_by("pk")
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

    # Phase 2: the shared locks in the documented order (docs/architecture.md, "Lock order") — the
    # counters (numbers for the batch at once; the issue date read once they are held), the accounting
    # period, then the audit chain's head (the events last) — each a few statements before commit.
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
    # The catalog records the lines name are few: read once each and shared, not one per line.
    lines = InvoiceLine.objects.prefetch_related("product", "price_version__plan", "meter")
    ready = list(
        Invoice.objects.filter(pk__in=ids)
        .select_related("customer")
        .prefetch_related("legal_entity", Prefetch("lines", queryset=lines.order_by("position", "id")))
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
    """Finalize the drafts ``ids`` as one set. First the counters are locked and the issue date read
    (so a later number never carries an earlier date), then each draft draws its
    credits (in a savepoint only when its customer has a grant) and gets its dates and totals; a draft
    that fails there is parked. Then the counters are locked and the batch numbered in one pass, the
    invoices written with one UPDATE and announced together (the ledger posts them set-based): the
    locks every finalization shares are held for a few statements. Raises if the announcement fails
    (the caller rolls back and goes one by one). Returns the invoices finalized, in numbering order."""
    ready, with_grants = _ready(ids)
    counters = _counters(ready)
    issued = timezone.localdate()  # read with the counters held: numbers and issue dates rise together
    lock_for_posting()
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
    issued = timezone.localdate()  # read with the counters held
    lock_for_posting()
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
