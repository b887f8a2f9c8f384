"""Period close: a checklist per period; closing and reopening are each a maker-checker request (the
requester asks, another approver decides); close locks the period; everything is audited."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Sum

from compliance.models import ComplianceException
from revops.core.approvals.models import Approval
from revops.core.approvals.registry import register_approval_kind
from revops.core.approvals.services import approval_request
from revops.errors import Conflict, FieldError, InvalidTransition
from revops.money import stored_sum

REOPEN = "period_reopen"
CLOSE = "period_close"


@dataclass(frozen=True)
class ChecklistItem:
    code: str
    label: str
    ok: bool
    detail: str
    count: int = 0  # what the item counts when it fails, where it counts something (revenue_run: contracts)


# Audit actions that change no record a check reads: access and users, the audit chain itself,
# compliance's own runs and exceptions, evidence downloads, billing settings (what they cause is
# audited on the invoices), and the close or reopen of a period (what is posted after a reopen is
# audited on its own records), and an invoice's PDF stored by the documents worker (it changes no
# amount; the documents control only counts a missing PDF after its delay, so storing one never turns a
# passing run into a failing one, and month end does not wait for the background renders).
NOT_FINANCIAL = (
    "api_token.",
    "audit.",
    "auth.",
    "billing_settings.",
    "compliance.",
    "evidence.",
    "exception.",
    "group.",
    "invoice.document_stored",
    "period.",
    "sod_exception.",
    "user.",
    "webhook_endpoint.",
)


# Customer fields no check and no posting reads: a change of only these moves nothing in the books
# (the grace period decides when drafts finalize themselves; each finalization is audited on its
# invoice). Any other customer field (tax rate, time zone, currency, name, …) stays a financial change.
CUSTOMER_SETTINGS_ONLY = ("auto_finalize_grace_hours",)


def _customer_settings_only():
    """``customer.updated`` events that changed only :data:`CUSTOMER_SETTINGS_ONLY` (the event's
    ``changes`` is keyed by field, and ``customer_update`` edits only ``EDITABLE`` fields)."""
    from django.db.models import Q

    from revops.parties.services.customers import EDITABLE

    others = [name for name in EDITABLE if name not in CUSTOMER_SETTINGS_ONLY]
    return (
        Q(action="customer.updated")
        & Q(changes__has_any_keys=list(CUSTOMER_SETTINGS_ONLY))
        & ~Q(changes__has_any_keys=others)
    )


@dataclass(frozen=True)
class ChecksStatus:
    """The latest completed run of every check and whether it still describes the books."""

    run: object  # CheckRun | None
    changes: int  # audited changes to financial records since the run started
    latest_change: object  # AuditEvent | None: the newest of them
    missing: tuple[str, ...]  # checks the run did not include

    @property
    def current(self) -> bool:
        return self.run is not None and not self.missing and self.changes == 0

    def detail(self) -> str:
        if self.run is None:
            return "No completed check run: run the checks."
        when = f"Run #{self.run.pk} (finished {self.run.finished_at:%Y-%m-%d %H:%M:%S} UTC)"
        if self.missing:
            return f"{when} ran only some checks ({len(self.missing)} missing): run every check."
        if self.run.audit_seq is None:
            return f"{when} predates change tracking: run the checks again."
        if self.changes:
            return (
                f"{when} is stale: {self.changes} change(s) to financial records since it started "
                f"(latest: {change_text(self.latest_change)}). Run the checks again."
            )
        return f"{when}: every check, and no financial record changed since it started."


def change_text(event) -> str:
    """An audited change as a finance user reads it: the record by the name people use for it and what
    happened — 'Credit note CN-000001 — credit note issued, 8 Dec 2026 01:20 UTC' — never an internal
    reference ('billing.creditnote:7')."""
    from revops.core.audit.display import action_label
    from revops.core.search.selectors import reference_labels

    ref = (event.object_type, str(event.object_id))
    what = reference_labels([ref]).get(ref)
    if what is None:
        from django.apps import apps

        try:
            what = apps.get_model(event.object_type)._meta.verbose_name.capitalize()
        except (LookupError, ValueError):
            what = "A record"
    when = event.occurred_at
    return f"{what} — {action_label(event.action).lower()}, {when.day} {when:%b %Y %H:%M} UTC"


def checks_status() -> ChecksStatus:
    """Read, not recomputed: the latest completed check run and the audited changes to financial
    records since it started (a few indexed queries whatever the book's size)."""
    from django.db.models import Q

    from compliance.checks import CHECKS
    from compliance.models import CheckRun
    from revops.core.audit.models import AuditEvent

    run = CheckRun.objects.filter(finished_at__isnull=False).order_by("-id").first()
    if run is None:
        return ChecksStatus(None, 0, None, ())
    missing = tuple(code for code in CHECKS if code not in (run.results or {}))
    if run.audit_seq is None:
        return ChecksStatus(run, 1, None, missing)
    not_financial = Q(object_type__startswith="compliance.")
    for prefix in NOT_FINANCIAL:
        not_financial |= Q(action__startswith=prefix)
    not_financial |= _customer_settings_only()
    since = AuditEvent.objects.filter(seq__gt=run.audit_seq).exclude(not_financial)
    latest = since.order_by("-seq").first()
    return ChecksStatus(run, since.count() if latest else 0, latest, missing)


def close_checklist(key: str) -> list[ChecklistItem]:
    """What must be true before ``key`` closes (close is refused otherwise — there is no override)."""
    from django.db.models import Q

    from billing.models import BillingRun, BillingRunItem, Invoice
    from revrec.models import AccountingPeriod, ContractModification, JournalLine, RevenueRun, RevenueSchedule
    from revrec.services.periods import first_period_key, period_bounds, previous_key

    start, end = period_bounds(key)
    # A full run (every customer: ``customers`` empty), as of the period end or later.
    billing = (
        BillingRun.objects.filter(status="completed", as_of__gte=end, customers=[]).order_by("-id").first()
    )
    parked = BillingRunItem.objects.filter(run=billing, status="failed").count() if billing else 0
    revenue = RevenueRun.objects.filter(status="completed", period=key).order_by("-id").first()
    # A completed run is not enough: anything recognizable through the period's end that is still
    # unposted (usage of drafts finalized after the run, a schedule approved after it) would be posted
    # by a later run as a correction in the next open period — after the close.
    from revrec.selectors import revenue_due_contracts

    due = revenue_due_contracts(key) if revenue is not None else 0
    pending = (
        RevenueSchedule.objects.filter(status="pending_approval", lines__period__lte=key).distinct().count()
    )
    pending_mods = ContractModification.objects.filter(
        status="pending_approval", effective_date__lt=end
    ).count()
    checks = checks_status()
    critical = ComplianceException.objects.filter(status="open", severity="critical").count()
    tb = JournalLine.objects.filter(entry__period=key).aggregate(d=Sum("debit"), c=Sum("credit"))
    debits, credits = stored_sum(tb["d"]), stored_sum(tb["c"])
    balanced = debits == credits
    from revrec.selectors import estimates_not_reassessed

    stale = estimates_not_reassessed(key)
    # Drafts holding fees or usage of the period (or earlier): billed at or before its end, or with a
    # line whose service starts before it ends.
    drafts = (
        Invoice.objects.filter(status="draft")
        .filter(Q(billing_date__lt=end) | Q(lines__service_start__lt=end))
        .distinct()
        .count()
    )
    previous = previous_key(key)
    first = first_period_key()
    previous_closed = (
        first is None
        or key <= first
        or AccountingPeriod.objects.filter(period=previous, status=AccountingPeriod.Status.CLOSED).exists()
    )
    return [
        ChecklistItem(
            "previous_closed",
            "Previous period closed",
            previous_closed,
            f"{previous} is closed."
            if previous_closed
            else f"{previous} is still open: periods close in order.",
        ),
        ChecklistItem(
            "billing_run",
            "Full billing run complete",
            billing is not None and parked == 0,
            f"Run #{billing.pk} (all customers) as of {billing.as_of}"
            + (f", {parked} parked failures" if parked else "")
            if billing
            else f"No completed billing run of all customers as of {end} or later.",
        ),
        ChecklistItem(
            "drafts_finalized",
            "No draft invoice left for the period",
            drafts == 0,
            f"{drafts:,} draft invoice{'s hold' if drafts != 1 else ' holds'} fees or usage of {key} or "
            "earlier; finalize or void them."
            if drafts
            else "Every invoice of the period is finalized.",
        ),
        ChecklistItem(
            "revenue_run",
            "Revenue run complete",
            revenue is not None and due == 0,
            (
                f"Run #{revenue.pk}: {revenue.entries_created:,} entr{'ies' if revenue.entries_created != 1 else 'y'}, but {due:,} "
                f"contract{'s have' if due != 1 else ' has'} revenue through {key} left to recognize "
                "(posted or approved after the run): run it again."
                if due
                else f"Run #{revenue.pk}: {revenue.entries_created:,} entr{'ies' if revenue.entries_created != 1 else 'y'}; "
                "nothing left to recognize."
            )
            if revenue
            else f"No completed revenue run for {key}.",
            count=due,
        ),
        ChecklistItem(
            "schedules_approved",
            "Schedules and modifications approved",
            pending == 0 and pending_mods == 0,
            f"{pending} schedules and {pending_mods} modifications await approval.",
        ),
        ChecklistItem(
            "estimates_reassessed",
            "Variable consideration re-estimated",
            not stale,
            "Every estimate of variable consideration was re-assessed for the period."
            if not stale
            else f"{len(stale)} not re-assessed for {key}: "
            + ", ".join(
                f"{s['contract'].number}/{s['line']} (last {s['last_assessed']})" for s in stale[:10]
            ),
        ),
        ChecklistItem("checks_current", "Checks run on the current books", checks.current, checks.detail()),
        ChecklistItem(
            "no_critical_exceptions",
            "No open critical exception",
            critical == 0,
            f"{critical} open critical exceptions"
            + (f" after check run #{checks.run.pk}." if checks.run is not None else "."),
        ),
        ChecklistItem(
            "trial_balance",
            "Trial balance balanced",
            balanced,
            f"Debits {debits:,.2f} / credits {credits:,.2f}.",
        ),
    ]


def _checklist_locked(key: str) -> None:
    """Refuse (409, one error per failing item) unless every checklist item of ``key`` is done, holding
    the audit chain head's lock: every audited write takes it, so no change to the books can land
    between the check run's freshness being read and what the caller does next (request or close)."""
    from revops.core.audit.models import AuditChainHead

    AuditChainHead.objects.select_for_update().filter(id=1).first()
    failing = [item for item in close_checklist(key) if not item.ok]
    if failing:
        raise Conflict(
            f"{key} cannot close yet: " + "; ".join(f"{i.label}: {i.detail}" for i in failing),
            errors=[FieldError(f"checklist.{i.code}", i.detail) for i in failing],
        )


@transaction.atomic
def period_close_request(*, key: str, actor=None) -> Approval:
    """Ask an approver to close ``key`` (maker-checker, like a reopen): refused with the failing items
    while the checklist is not done; otherwise a ``period_close`` request that another approver — never
    the requester — decides. Approving re-runs the checklist under the same lock and closes the period
    (:func:`period_close_apply`); asking again while one is pending returns the pending request."""
    from revrec.services.periods import check_books_period, ensure_period, is_closed

    check_books_period(key)  # before the books begin (or beyond next month): no checklist to fail
    if is_closed(key):
        raise InvalidTransition(f"{key} is already closed.")
    _checklist_locked(key)
    return approval_request(
        kind=CLOSE,
        obj=ensure_period(key),
        requested_by=actor,
        summary=f"Close {key} (its checklist was green when asked; approving checks it again)",
        payload={"period": key},
    )


@transaction.atomic
def period_close_apply(*, key: str, actor=None):
    """Close ``key`` now (the approved request's effect): the checklist again, then the close and a
    signed checkpoint of the audit chain's head, stored append-only."""
    from revops.core.audit.services import audit_checkpoint_create
    from revrec.services.periods import check_books_period, period_close

    check_books_period(key)
    _checklist_locked(key)
    closed = period_close(key=key, actor=actor)
    audit_checkpoint_create(source=f"period_close:{key}")
    return closed


def close_request_pending(key: str) -> Approval | None:
    """The pending request to close ``key``, if any."""
    from revops.core.audit.services import object_ref
    from revrec.models import AccountingPeriod

    period = AccountingPeriod.objects.filter(period=key).first()
    if period is None:
        return None
    object_type, object_id = object_ref(period)
    return Approval.objects.filter(
        kind=CLOSE, object_type=object_type, object_id=str(object_id), status=Approval.Status.PENDING
    ).first()


@transaction.atomic
def period_reopen_request(*, key: str, reason: str, actor=None) -> Approval:
    from revrec.models import AccountingPeriod
    from revrec.services.periods import reopen_refusal

    refusal = reopen_refusal(key)
    if refusal:
        raise InvalidTransition(refusal)
    period = AccountingPeriod.objects.get(period=key)
    if not reason.strip():
        from revops.errors import ValidationFailed

        raise ValidationFailed("Say why the period must reopen.", field="reason")
    return approval_request(
        kind=REOPEN,
        obj=period,
        requested_by=actor,
        summary=f"Reopen {key}: {reason}",
        payload={"reason": reason},
        replace_pending=True,  # asked again for another reason: the pending request is voided
    )


def _reopen(approval: Approval, user) -> None:
    from revrec.models import AccountingPeriod
    from revrec.services.periods import period_reopen_apply

    period = AccountingPeriod.objects.get(pk=approval.object_id)
    period_reopen_apply(key=period.period, actor=user)


def _reopen_content(approval: Approval) -> dict:
    """Bound into the request's hash (with the payload's reason): which period, in which state."""
    from revrec.models import AccountingPeriod

    period = AccountingPeriod.objects.get(pk=approval.object_id)
    return {"period": period.period, "status": period.status}


def _close(approval: Approval, user) -> None:
    from revrec.models import AccountingPeriod

    period = AccountingPeriod.objects.get(pk=approval.object_id)
    period_close_apply(key=period.period, actor=user)


def register() -> None:
    register_approval_kind(REOPEN, on_approved=_reopen, label="Period reopen", content=_reopen_content)
    register_approval_kind(CLOSE, on_approved=_close, label="Period close", content=_reopen_content)
