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
drafts whose grace has ended, refreshes each one's usage with what arrived late
(``invoice_refresh_draft``), then finalizes them through :func:`_finalize` — the one seam to the
finalization service — as the actor ``auto_finalize`` (the audit trail's ``invoice.finalized`` and
``invoice.refreshed`` events name it). A pass is safe to run twice, or twice at once: each draft is
locked (``SKIP LOCKED``) and re-read as a draft before anything is done to it, and finalizing an invoice
that is no longer a draft does nothing.

**Controls win.** A draft whose contract waits for an approval (a price override of an amendment, say)
is not forced: it stays a draft and is reported as held, as is a draft the refresh or the finalization
refuses (a domain rule). Each pass that found work is recorded as a Job (kind ``auto_finalize``) whose
result lists what was finalized and what was held and why; :func:`drafts_held` shows the drafts held
by an approval now (the billing settings page)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone

from billing.billing_settings import billing_settings_current
from billing.invoicing.build import invoice_refresh_draft
from billing.models import Invoice
from revops.core.approvals.models import Approval
from revops.core.services.jobs import job_complete, job_create, job_set_progress, job_start
from revops.errors import DomainError, InvalidTransition
from revops.parties.models import Customer

log = logging.getLogger(__name__)

ACTOR = "auto_finalize"  # how the audit trail names what finalized the invoice
JOB_KIND = "auto_finalize"
CHUNK = 200  # drafts refreshed, then finalized, per round of a pass


@dataclass
class AutoFinalizePass:
    """What one pass did: the drafts whose grace had ended, those finalized (or handed to the
    finalization job), and those held as drafts with the reason."""

    due: int = 0
    finalized: list[int] = field(default_factory=list)
    held: list[dict] = field(default_factory=list)
    skipped: int = 0  # finalized by someone else meanwhile, or being worked on by another pass
    job_id: int | None = None
    seen: int = 0

    def as_result(self) -> dict:
        return {
            "due": self.due,
            "finalized": len(self.finalized),
            "finalized_ids": self.finalized[:1000],
            "held": self.held[:1000],
            "skipped": self.skipped,
        }


def _contract_awaits_approval():
    return Exists(
        Approval.objects.filter(
            object_type="contracts.contract",
            object_id=Cast(OuterRef("contract_id"), output_field=CharField()),
            status=Approval.Status.PENDING,
        )
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


def drafts_held(*, now: datetime | None = None) -> QuerySet[Invoice]:
    """Drafts past their grace period that a control holds (their contract waits for an approval)."""
    return (
        drafts_past_grace(now=now)
        .filter(_contract_awaits_approval())
        .select_related("customer", "contract")
        .order_by("pk")
    )


def _held(invoice_id: int, reason: str) -> dict:
    return {"invoice": invoice_id, "reason": reason}


def _refresh(invoice_id: int, *, now: datetime) -> str | None:
    """Bill the usage that arrived late on one draft, in its own transaction. Returns None when it was
    refreshed, ``"skip"`` when it is no longer a draft or another pass holds it, or why it is held."""
    try:
        with transaction.atomic():
            invoice = (
                Invoice.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk=invoice_id, status=Invoice.Status.DRAFT)
                .first()
            )
            if invoice is None:
                return "skip"
            invoice_refresh_draft(invoice=invoice, now=now, actor=ACTOR)
    except DomainError as exc:
        return f"Refreshing its usage was refused: {exc.detail}"
    return None


def _finalize(invoice_ids: list[int]) -> tuple[list[int], list[dict], int]:
    """The one seam between auto-finalization and the finalization service: finalize these drafts as
    ``auto_finalize``. Returns (finalized ids, held drafts with the reason, how many were skipped
    because they were no longer drafts).

    Each invoice is finalized in its own transaction by ``billing.invoicing.lifecycle.invoice_finalize``
    (gapless number, document, audit, outbox), in the order given."""
    from billing.invoicing.lifecycle import invoice_finalize

    done, held, skipped = [], [], 0
    for invoice_id in invoice_ids:
        try:
            invoice = Invoice.objects.get(pk=invoice_id)
            done.append(invoice_finalize(invoice=invoice, actor=ACTOR).pk)
        except InvalidTransition:
            skipped += 1  # finalized meanwhile (by a person or another pass): nothing to do
        except DomainError as exc:
            held.append(_held(invoice_id, f"Finalization was refused: {exc.detail}"))
    return done, held, skipped


def auto_finalize_due_drafts(*, now: datetime | None = None) -> AutoFinalizePass:
    """One pass: every draft whose grace period has ended is refreshed with late usage, then finalized
    — unless a control holds it (see the module's docstring). Records a Job when there was work."""
    now = now or timezone.now()
    result = AutoFinalizePass()
    due = drafts_past_grace(now=now).annotate(held_by_approval=_contract_awaits_approval())
    result.due = due.count()
    if not result.due:
        return result
    job = job_create(kind=JOB_KIND, params={"as_of": now.isoformat()}, total=result.due)
    result.job_id = job.pk
    job_start(job_id=job.pk)
    last = 0
    while True:  # keyset pages: memory bounded by CHUNK, whatever the number of drafts
        chunk = list(due.filter(pk__gt=last).order_by("pk").values_list("pk", "held_by_approval")[:CHUNK])
        if not chunk:
            break
        last = chunk[-1][0]
        _round(chunk, now=now, result=result)
    job_complete(job_id=job.pk, result=result.as_result())
    if result.held:
        log.warning("auto-finalization held %d draft(s): %s", len(result.held), result.held[:20])
    return result


def _round(chunk: list[tuple[int, bool]], *, now: datetime, result: AutoFinalizePass) -> None:
    ready = []
    for invoice_id, held_by_approval in chunk:
        if held_by_approval:
            result.held.append(_held(invoice_id, "Its contract waits for an approval."))
            continue
        outcome = _refresh(invoice_id, now=now)
        if outcome == "skip":
            result.skipped += 1
        elif outcome:
            result.held.append(_held(invoice_id, outcome))
        else:
            ready.append(invoice_id)
    done, held, skipped = _finalize(ready)
    result.finalized += done
    result.held += held
    result.skipped += skipped
    result.seen += len(chunk)
    job_set_progress(job_id=result.job_id, done=min(result.seen, result.due))
