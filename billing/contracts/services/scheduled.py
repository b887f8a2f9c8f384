"""Cancellation and scheduled changes (issue 17 §4, accounting.md §10b).

- :func:`contract_cancel` ends a contract ``now`` (today's termination: :func:`contract_terminate`,
  fees billed in advance past today credited), or schedules its end at the end of the current billing
  period (``period_end``) or of the term (``term_end``): nothing is billed past that day, so nothing
  needs crediting.
- :func:`scheduled_change_create` schedules an amendment (the ``changes`` of ``POST /contracts/{id}/amend``)
  for a future date, checked now by the amendment's own validation.
- :func:`scheduled_change_withdraw` withdraws either before it applies.
- :func:`scheduled_changes_apply_due` is the due step (``DUE_STEPS``): on its date a change applies
  through the same services as an immediate one — an amendment through :func:`contract_amend` (price
  overrides wait for their approval, revenue recognition proposes the contract modification), a
  cancellation through :func:`contract_terminate` (or, at the end of the term, the contract expires)
  — each in its own transaction, idempotently. One that can no longer apply (the contract was
  terminated, its validation fails now) is marked failed with the reason, audited and announced.

Every write is audited on the contract (``changes.scheduled_change`` names the row) and announced on
the outbox (webhook topics ``contract.cancel_scheduled``, ``contract.canceled``, ... listed in
``billing.webhooks.endpoints.EVENT_TYPES``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from billing.contracts.models import Contract, ScheduledChange
from billing.contracts.selectors import current_lines
from billing.contracts.services.amend import contract_amend
from billing.contracts.services.changes import unused_advance_billed
from billing.contracts.services.lifecycle import contract_terminate, transition
from billing.contracts.terms import line_range, plan_interval
from billing.contracts.validation import clean_amendment, clean_date, raise_if_invalid
from billing.periods import period_containing
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.core.forms import error_text
from revops.core.outbox import outbox_publish
from revops.errors import Conflict, DomainError, FieldError, InvalidTransition, ValidationFailed
from revops.money import round_money

ZERO = Decimal(0)
AT = ("now", "period_end", "term_end")
SYSTEM = "schedule"  # the actor of what applies itself on its date


def today() -> date:
    """The business day a cancellation or a schedule is measured from (tests pin it)."""
    return timezone.localdate()


def _actor_ref(actor):
    return actor if getattr(actor, "pk", None) else None


def _scheduled_change_record(
    *, contract: Contract, actor, action: str, topic: str, audit: dict, payload: dict | None = None, **fields
) -> ScheduledChange:
    """Create the scheduled change (``fields``: its kind, dates and changes), audit it on the contract
    and publish it to the outbox, in the caller's transaction."""
    change = ScheduledChange.objects.create(contract=contract, created_by=_actor_ref(actor), **fields)
    audit_record(actor=actor, action=action, obj=contract, changes={"scheduled_change": change.pk, **audit})
    outbox_publish(topic=topic, obj=contract, payload=_payload(change, contract, actor, **(payload or {})))
    return change


def _payload(change: ScheduledChange, contract: Contract, actor, **extra) -> dict:
    return {
        "contract": contract.pk,
        "number": contract.number,
        "customer": contract.customer.external_id,
        "scheduled_change": change.pk,
        "kind": change.kind,
        **({"at": change.cancel_at} if change.cancel_at else {}),
        "effective_date": change.effective_date,
        "status": change.status,
        "actor_id": getattr(actor, "pk", None),
        **extra,
    }


# --- when a cancellation takes effect ----------------------------------------------------------------


def current_period_end(contract: Contract, *, on: date) -> date:
    """The end (exclusive) of the billing period ``on`` falls in: the latest among the periods of the
    contract's lines in service that day (so no line is cut inside a period it was billed for), never
    after the contract's end. A contract that has not started yet: its first period."""
    day = max(on, contract.start_date)
    ends = []
    for line in current_lines(contract).values():
        start, end = line_range(line, contract)
        if line.billing == line.Billing.ONE_TIME or not start <= day < end:
            continue
        ends.append(
            period_containing(
                day,
                anchor_date=contract.start_date,
                interval=plan_interval(line),
                anchor=contract.billing_anchor,
            ).end
        )
    if not ends:  # no recurring line in service: the contract's monthly grid
        ends.append(
            period_containing(
                day, anchor_date=contract.start_date, interval="month", anchor=contract.billing_anchor
            ).end
        )
    return min(max(ends), contract.end_date)


def cancellation_date(contract: Contract, at: str, *, on: date) -> date:
    """The first day no longer served when CONTRACT is canceled ``at`` on day ``on``."""
    if at == "now":
        return on
    if at == "period_end":
        return current_period_end(contract, on=on)
    return contract.end_date


def cancellation_credit(contract: Contract, effective: date) -> tuple[Decimal, list[dict]]:
    """What ending the contract on EFFECTIVE would credit now (fees billed in advance past it, each
    period's unused part rounded as the credit line will be), without changing anything."""
    credits = []
    for line in current_lines(contract).values():
        if line_range(line, contract)[1] <= effective:
            continue
        for start, end, exact in unused_advance_billed(line, cut=effective):
            amount = round_money(-exact, contract.currency)
            if amount:
                credits.append({"line": line.key, "start": start, "end": end, "amount": amount})
    return sum((c["amount"] for c in credits), ZERO), credits


def cancellation_preview(*, contract: Contract, at: str, on: date | None = None) -> dict:
    """What ``POST /contracts/{id}/cancel {"at": AT}`` would do today: its date and its credit."""
    _check_at(at)
    on = on or today()
    effective = cancellation_date(contract, at, on=on)
    total, credits = cancellation_credit(contract, effective) if at == "now" else (ZERO, [])
    return {"at": at, "effective_date": effective, "credit": total, "credits": credits}


def _check_at(at) -> None:
    if at not in AT:
        raise ValidationFailed("Must be one of: now, period_end, term_end.", field="at")


# --- cancel ---------------------------------------------------------------------------------------------


@transaction.atomic
def contract_cancel(*, contract: Contract, at: str, actor=None, on: date | None = None) -> Contract:
    """Cancel CONTRACT ``at`` ``now`` | ``period_end`` | ``term_end`` (see the module docstring).
    Returns the contract; a scheduled cancellation is ``contract.scheduled_cancellation``."""
    _check_at(at)
    on = on or today()
    # Lock order as the due step's: the scheduled change first, then the contract.
    pending = (
        ScheduledChange.objects.select_for_update()
        .filter(
            contract_id=contract.pk,
            kind=ScheduledChange.Kind.CANCELLATION,
            status=ScheduledChange.Status.SCHEDULED,
        )
        .first()
    )
    contract = Contract.objects.select_for_update(of=("self",)).select_related("customer").get(pk=contract.pk)
    if contract.status != Contract.Status.ACTIVE:
        raise InvalidTransition(f"A {contract.get_status_display().lower()} contract cannot be canceled.")
    effective = cancellation_date(contract, at, on=on)
    if at == "now":
        credit, _credits = cancellation_credit(contract, effective)
        contract = contract_terminate(contract=contract, effective_date=effective, actor=actor)
        if pending is not None:  # the immediate cancellation replaces the scheduled one, visibly
            _close(pending, ScheduledChange.Status.WITHDRAWN, actor=actor, reason="Canceled now instead.")
            _audit_and_announce(pending, contract, actor, "contract.cancel_withdrawn")
        audit_record(
            actor=actor,
            action=AuditAction.CONTRACT_CANCELED,
            obj=contract,
            changes={"at": "now", "effective_date": effective, "credit": credit, "version": contract.version},
        )
        outbox_publish(
            topic="contract.canceled",
            obj=contract,
            payload={
                "contract": contract.pk,
                "number": contract.number,
                "customer": contract.customer.external_id,
                "at": "now",
                "effective_date": effective,
                "credit": str(credit),
                "currency": contract.currency,
                "actor_id": getattr(actor, "pk", None),
            },
        )
        contract.scheduled_cancellation = None
        return contract
    if pending is not None:
        raise Conflict(
            f"{contract.number} is already scheduled to cancel on {pending.effective_date:%Y-%m-%d} "
            f"(scheduled change {pending.pk}); withdraw it first."
        )
    if effective <= on:
        raise Conflict(f"{contract.number}'s term already ended on {contract.end_date:%Y-%m-%d}.")
    change = _scheduled_change_record(
        contract=contract,
        actor=actor,
        action=AuditAction.CONTRACT_CANCEL_SCHEDULED,
        topic="contract.cancel_scheduled",
        audit={"at": at, "effective_date": effective},
        kind=ScheduledChange.Kind.CANCELLATION,
        cancel_at=at,
        effective_date=effective,
    )
    contract.scheduled_cancellation = change
    return contract


# --- schedule an amendment ---------------------------------------------------------------------------------


@transaction.atomic
def scheduled_change_create(
    *, contract: Contract, effective_date, changes: list, actor=None, on: date | None = None
) -> ScheduledChange:
    """Schedule an amendment of CONTRACT for a future ``effective_date``, checked now with the
    amendment's own validation (against the contract's lines as they are today)."""
    on = on or today()
    contract = Contract.objects.select_for_update(of=("self",)).select_related("customer").get(pk=contract.pk)
    if contract.status != Contract.Status.ACTIVE:
        raise InvalidTransition("Only an active contract can have changes scheduled.")
    errors: list[FieldError] = []
    eff = clean_date(effective_date, "effective_date", errors)
    if eff and eff <= on:
        errors.append(
            FieldError(
                "effective_date",
                f"Must be after today ({on:%Y-%m-%d}); amend the contract for earlier dates.",
            )
        )
    raise_if_invalid(errors)
    _terms, errors = clean_amendment(
        contract=contract, lines=current_lines(contract), effective_date=eff, changes=changes
    )
    raise_if_invalid(errors)
    cancel = contract.scheduled_changes.filter(
        kind=ScheduledChange.Kind.CANCELLATION,
        status=ScheduledChange.Status.SCHEDULED,
        effective_date__lte=eff,
    ).first()
    if cancel is not None:
        raise ValidationFailed(
            f"The contract is scheduled to cancel on {cancel.effective_date:%Y-%m-%d}; a change on or after "
            "that day would never apply.",
            field="effective_date",
        )
    return _scheduled_change_record(
        contract=contract,
        actor=actor,
        action=AuditAction.CONTRACT_CHANGE_SCHEDULED,
        topic="contract.change_scheduled",
        audit={"effective_date": eff, "changes": changes},
        payload={"changes": changes},
        kind=ScheduledChange.Kind.AMENDMENT,
        effective_date=eff,
        changes=changes,
    )


# --- withdraw -----------------------------------------------------------------------------------------------


@transaction.atomic
def scheduled_change_withdraw(*, change: ScheduledChange, actor=None) -> ScheduledChange:
    change = (
        ScheduledChange.objects.select_for_update(of=("self",))
        .select_related("contract__customer")
        .get(pk=change.pk)
    )
    if change.status != ScheduledChange.Status.SCHEDULED:
        raise InvalidTransition(
            f"Scheduled change {change.pk} is {change.get_status_display().lower()}; only a scheduled one "
            "can be withdrawn."
        )
    _close(change, ScheduledChange.Status.WITHDRAWN, actor=actor)
    topic = (
        "contract.cancel_withdrawn"
        if change.kind == ScheduledChange.Kind.CANCELLATION
        else "contract.scheduled_change_withdrawn"
    )
    _audit_and_announce(change, change.contract, actor, topic)
    return change


def _close(change: ScheduledChange, status: str, *, actor, reason: str = "", version=None, approval=None):
    change.status = status
    change.reason = reason
    change.applied_version = version
    change.approval = approval
    change.decided_by = _actor_ref(actor)
    change.decided_at = timezone.now()
    change.save(update_fields=["status", "reason", "applied_version", "approval", "decided_by", "decided_at"])


_ACTIONS = {
    ScheduledChange.Status.WITHDRAWN: AuditAction.CONTRACT_SCHEDULED_CHANGE_WITHDRAWN,
    ScheduledChange.Status.APPLIED: AuditAction.CONTRACT_SCHEDULED_CHANGE_APPLIED,
    ScheduledChange.Status.AWAITING_APPROVAL: AuditAction.CONTRACT_SCHEDULED_CHANGE_APPLIED,
    ScheduledChange.Status.FAILED: AuditAction.CONTRACT_SCHEDULED_CHANGE_FAILED,
}


def _audit_and_announce(change: ScheduledChange, contract: Contract, actor, topic: str, **extra) -> None:
    audit_record(
        actor=actor,
        action=_ACTIONS[change.status],
        obj=contract,
        changes={
            "scheduled_change": change.pk,
            "kind": change.kind,
            "effective_date": change.effective_date,
            "status": change.status,
            **({"reason": change.reason} if change.reason else {}),
            **({"version": change.applied_version} if change.applied_version else {}),
            **({"approval": change.approval_id} if change.approval_id else {}),
            **extra,
        },
    )
    outbox_publish(
        topic=topic,
        obj=contract,
        payload=_payload(
            change,
            contract,
            actor,
            **({"reason": change.reason} if change.reason else {}),
            **({"version": change.applied_version} if change.applied_version else {}),
            **({"approval": change.approval_id} if change.approval_id else {}),
            **extra,
        ),
    )


# --- the due step ---------------------------------------------------------------------------------------------


def scheduled_changes_apply_due(*, as_of: date, customers: list[str] | None = None) -> int:
    """DUE_STEPS: apply every change scheduled on or before ``as_of`` (of those customers), oldest
    date first, each in its own transaction. Idempotent: a change is applied (or failed) once — a second
    call, a duplicate delivery or a worker killed mid-way finds it no longer scheduled, or still
    scheduled with nothing of it kept. Returns how many contracts changed."""
    due = ScheduledChange.objects.filter(status=ScheduledChange.Status.SCHEDULED, effective_date__lte=as_of)
    if customers:
        due = due.filter(contract__customer__external_id__in=customers)
    changed = set()
    for pk, contract_id in due.order_by("effective_date", "id").values_list("pk", "contract_id"):
        if scheduled_change_apply(pk=pk):
            changed.add(contract_id)
    return len(changed)


@transaction.atomic
def scheduled_change_apply(*, pk: int) -> bool:
    """Apply one scheduled change if it is still scheduled (row locked first: a concurrent call waits
    and then finds it done). True when the contract changed; a failure is recorded, not raised."""
    change = ScheduledChange.objects.select_for_update().filter(pk=pk).first()
    if change is None or change.status != ScheduledChange.Status.SCHEDULED:
        return False
    contract = Contract.objects.select_related("customer").get(pk=change.contract_id)
    actor = change.created_by or SYSTEM
    credit = ZERO
    try:
        with transaction.atomic():
            if contract.status != Contract.Status.ACTIVE:
                ended = contract.terminated_on or contract.end_date
                raise InvalidTransition(
                    f"{contract.number} is {contract.get_status_display().lower()} (since {ended:%Y-%m-%d})."
                )
            if change.kind == ScheduledChange.Kind.AMENDMENT:
                contract = contract_amend(
                    contract=contract,
                    effective_date=change.effective_date,
                    changes=change.changes,
                    actor=actor,
                )
            else:
                credit, _credits = cancellation_credit(contract, change.effective_date)
                contract = _cancel_on(contract, change, actor=actor)
    except DomainError as exc:
        _close(change, ScheduledChange.Status.FAILED, actor=SYSTEM, reason=error_text(exc))
        _audit_and_announce(change, contract, SYSTEM, "contract.scheduled_change_failed")
        return False
    approval = getattr(contract, "override_approval", None)
    if approval is not None:  # the amendment waits for an approver, exactly as an immediate one would
        _close(change, ScheduledChange.Status.AWAITING_APPROVAL, actor=SYSTEM, approval=approval)
        _audit_and_announce(change, contract, SYSTEM, "contract.scheduled_change_applied")
        return False
    new_version = contract.version if contract.status != Contract.Status.EXPIRED else None
    _close(change, ScheduledChange.Status.APPLIED, actor=SYSTEM, version=new_version)
    if change.kind == ScheduledChange.Kind.CANCELLATION:
        _audit_and_announce(
            change, contract, SYSTEM, "contract.canceled", at=change.cancel_at, credit=str(credit)
        )
    else:
        _audit_and_announce(change, contract, SYSTEM, "contract.scheduled_change_applied")
    return True


def scheduled_change_decided(*, approval, version: int | None) -> None:
    """A scheduled amendment that waited for its price override (``awaiting_approval``) learns the
    decision, in the decision's transaction: approved, it applied (``version``); rejected, it failed."""
    for change in ScheduledChange.objects.select_for_update().filter(
        approval=approval, status=ScheduledChange.Status.AWAITING_APPROVAL
    ):
        contract = Contract.objects.select_related("customer").get(pk=change.contract_id)
        if version is not None:
            _close(change, ScheduledChange.Status.APPLIED, actor=SYSTEM, version=version, approval=approval)
            _audit_and_announce(change, contract, SYSTEM, "contract.scheduled_change_applied")
        else:
            reason = (
                f"The price override (approval #{approval.pk}) was rejected; the amendment did not apply."
            )
            _close(change, ScheduledChange.Status.FAILED, actor=SYSTEM, reason=reason, approval=approval)
            _audit_and_announce(change, contract, SYSTEM, "contract.scheduled_change_failed")


def _cancel_on(contract: Contract, change: ScheduledChange, *, actor) -> Contract:
    """A scheduled cancellation on its date: the contract is terminated there (anything billed in
    advance past it — a period billed early — is credited), or, on its end date, it expires."""
    if change.effective_date < contract.end_date:
        return contract_terminate(contract=contract, effective_date=change.effective_date, actor=actor)
    contract = Contract.objects.select_for_update(of=("self",)).select_related("customer").get(pk=contract.pk)
    before = transition(contract, "expire")
    contract.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action=AuditAction.CONTRACT_CANCELED,
        obj=contract,
        changes={"status": {"from": before, "to": contract.status}, "effective_date": contract.end_date},
    )
    return contract
