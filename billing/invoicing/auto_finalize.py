"""Auto-finalization after a grace period (issue 15 §1): Lago's invoice grace period, Stripe's
one-hour draft window.

**The grace period.** A draft stays open for review for its customer's grace period
(``Customer.auto_finalize_grace_hours``) or, when the customer has none of its own, the organization's
(``BillingSettings.auto_finalize_grace_hours``, billing.billing_settings). Neither set — the default —
means drafts never finalize themselves; 0 means at the next pass. The grace is counted from the
moment the draft was **created** (``Invoice.created_at``: when the billing run built it), not from its
billing date: a run that builds drafts late (a retried run, a back-dated ``as_of``) still leaves the
whole window for review, and late usage received during the window is billed on the draft.

**A pass** (:func:`auto_finalize_due_drafts`, the beat task ``billing.auto_finalize_drafts``) takes the
drafts whose grace period has ended and hands them to the finalization job through :func:`_finalize`,
the one seam to it (``finalization_start``, trigger ``auto_finalize``). The job finalizes them in
batches exactly as one invoice is finalized: the usage that arrived late is re-rated first, in the
same transaction that numbers the invoice (``invoice.refreshed`` then ``invoice.finalized``, both
naming the actor ``auto_finalize``). A pass is safe to run twice, at once, or while its run is still
going: passes decide one at a time, a pass does nothing while an earlier auto-finalization run is
unfinished, and the job finalizes a draft only once (one no longer a draft is skipped).

**Controls win.** A draft whose contract waits for an approval (a price override of an amendment,
say) is not forced: it stays a draft and is held. So is a draft an auto-finalization run parked
(the finalization refused it) — for ``PARKED_RETRY`` before it is tried again. :func:`drafts_held`
lists both, with the reason (the billing settings page); each pass logs them."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from billing.billing_settings import billing_settings_current
from billing.models import FinalizationItem, FinalizationRun, Invoice
from revops.parties.models import Customer

log = logging.getLogger(__name__)

TRIGGER = "auto_finalize"  # the finalization run's trigger
ACTOR = TRIGGER  # how the audit trail names what finalized the invoice
PARKED_RETRY = timedelta(hours=1)  # a draft an auto-finalization run parked waits this long
MAX_PER_PASS = 100_000  # drafts handed to one run; more wait for the next pass
HELD_REASON_APPROVAL = "Its contract waits for an approval."
PASS_LOCK_KEY = 0x41555446  # "AUTF": pg_try_advisory_xact_lock key, one pass at a time


@dataclass
class AutoFinalizePass:
    """What one pass did: the drafts whose grace had ended, those handed to the finalization run, and
    those held as drafts with the reason."""

    due: int = 0
    submitted: list[int] = field(default_factory=list)
    held: list[dict] = field(default_factory=list)
    run_id: int | None = None
    waiting_for: int | None = None  # an earlier auto-finalization run still unfinished
    busy: bool = False  # another pass was deciding at the same moment: this one did nothing


def _contract_awaits_approval():
    # The finalization job's own rule (it parks such a draft in every run); here it holds them before.
    from billing.invoicing.finalization import contract_awaits_approval

    return contract_awaits_approval()


def _recently_parked(now: datetime):
    return FinalizationItem.objects.filter(
        invoice_id=OuterRef("pk"),
        status=FinalizationItem.Status.FAILED,
        run__trigger=TRIGGER,
        finished_at__gt=now - PARKED_RETRY,
    )


def drafts_past_grace(*, now: datetime | None = None) -> QuerySet[Invoice]:
    """The drafts whose grace period has ended at ``now``: one query, whatever the number of drafts
    (one condition per distinct grace period in use, customers' own and the organization's)."""
    now = now or timezone.now()
    organization = billing_settings_current().auto_finalize_grace_hours
    own = (
        Customer.objects.filter(auto_finalize_grace_hours__isnull=False)
        .order_by()
        .values_list("auto_finalize_grace_hours", flat=True)
        .distinct()
    )
    ended = Q(pk__in=[])
    if organization is not None:
        ended |= Q(
            customer__auto_finalize_grace_hours__isnull=True,
            created_at__lte=now - timedelta(hours=organization),
        )
    for hours in own:
        ended |= Q(customer__auto_finalize_grace_hours=hours, created_at__lte=now - timedelta(hours=hours))
    return Invoice.objects.filter(status=Invoice.Status.DRAFT).filter(ended)


def _with_holds(qs: QuerySet[Invoice], now: datetime) -> QuerySet[Invoice]:
    parked = _recently_parked(now).order_by("-finished_at")
    return qs.annotate(
        awaits_approval=_contract_awaits_approval(),
        parked_error=Subquery(parked.values("error")[:1]),
    )


def drafts_held(*, now: datetime | None = None) -> QuerySet[Invoice]:
    """Drafts past their grace period that a control holds: their contract waits for an approval, or
    an auto-finalization run parked them less than PARKED_RETRY ago (``parked_error`` says why)."""
    now = now or timezone.now()
    return (
        _with_holds(drafts_past_grace(now=now), now)
        .filter(Q(awaits_approval=True) | Q(parked_error__isnull=False))
        .select_related("customer", "contract")
        .order_by("pk")
    )


def held_reason(invoice: Invoice) -> str:
    if invoice.awaits_approval:
        return HELD_REASON_APPROVAL
    return f"Finalization was refused: {invoice.parked_error}"


def _finalize(invoice_ids: list[int]) -> FinalizationRun:
    """The one seam between auto-finalization and finalizing: a finalization run of these drafts,
    started by ``auto_finalize`` (it runs after commit, in batches; see billing.invoicing.finalization)."""
    from billing.invoicing.finalization import finalization_start

    return finalization_start(invoice_ids=invoice_ids, actor=ACTOR, trigger=TRIGGER)


def _another_pass_is_deciding() -> bool:
    """Take the pass lock for this transaction (PostgreSQL); False when another pass holds it. On
    SQLite the pass's write transaction already runs alone."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [PASS_LOCK_KEY])
        return not cursor.fetchone()[0]


@transaction.atomic
def auto_finalize_due_drafts(*, now: datetime | None = None) -> AutoFinalizePass:
    """One pass: the drafts whose grace period has ended go to a finalization run — unless a control
    holds them (see the module's docstring). One pass decides at a time (a lock held until its run is
    recorded), and a pass does nothing while an earlier auto-finalization run is unfinished (the
    stalled-run resumer keeps that one going). The run starts once this transaction commits."""
    now = now or timezone.now()
    result = AutoFinalizePass()
    if _another_pass_is_deciding():
        result.busy = True
        return result
    unfinished = (
        FinalizationRun.objects.filter(
            trigger=TRIGGER, status__in=[FinalizationRun.Status.QUEUED, FinalizationRun.Status.RUNNING]
        )
        .values_list("pk", flat=True)
        .first()
    )
    if unfinished is not None:
        result.waiting_for = unfinished
        return result
    due = _with_holds(drafts_past_grace(now=now), now)
    result.due = due.count()
    if not result.due:
        return result
    held = due.filter(Q(awaits_approval=True) | Q(parked_error__isnull=False)).order_by("pk")
    result.held = [
        {"invoice": invoice.pk, "reason": held_reason(invoice)}
        for invoice in held.only("pk", "contract_id")[:1000]
    ]
    ready = due.filter(awaits_approval=False, parked_error__isnull=True).order_by("pk")
    result.submitted = list(ready.values_list("pk", flat=True)[:MAX_PER_PASS])
    if result.submitted:
        result.run_id = _finalize(result.submitted).pk
    if result.held:
        log.warning("auto-finalization held %d draft(s): %s", len(result.held), result.held[:20])
    return result
