"""Trials after a contract is created (issue 17, accounting.md §12): the notice that a trial is ending,
its conversion to paid (both due steps of :mod:`billing.contracts.services.due`) and a cancellation
during the trial.

Billing and revenue need nothing from the conversion — the paid lines start on the conversion date
(:mod:`billing.contracts.trials`) — so converting records the fact (audited, ``contract.trial_converted``)
and a cancellation is what changes money: the contract is terminated on the conversion date, so the paid
period is never billed (its obligations are removed by the modification it proposes, with nothing
satisfied) and the trial price, if any, stands."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from billing.contracts.models import Contract, ContractTrial
from billing.contracts.selectors import current_lines
from billing.contracts.services.lifecycle import contract_terminate
from billing.contracts.terms import line_range
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.core.outbox import outbox_publish
from revops.errors import Conflict, InvalidTransition

ENDING_NOTICE_DAYS = 3  # contract.trial_ending this many days before conversion (Stripe: trial_will_end)
SERVING = (Contract.Status.ACTIVE, Contract.Status.TERMINATED, Contract.Status.EXPIRED)


def _due(as_of: date, customers: list[str] | None):
    """Trials in progress whose contract is in force and not ended by their conversion date."""
    rows = ContractTrial.objects.filter(
        status=ContractTrial.Status.TRIALING, contract__status__in=SERVING
    ).filter(Q(contract__terminated_on__isnull=True) | Q(contract__terminated_on__gt=F("converts_on")))
    if customers:
        rows = rows.filter(contract__customer__external_id__in=customers)
    return rows


def _payload(trial: ContractTrial) -> dict:
    return {
        "contract": trial.contract_id,
        "number": trial.contract.number,
        "line": trial.line_key or None,
        "trial_days": trial.days,
        "trial_price": str(trial.price) if trial.price is not None else None,
        "currency": trial.contract.currency,
        "converts_on": trial.converts_on.isoformat(),
    }


def contracts_notify_trials_ending(*, as_of: date, customers: list[str] | None = None) -> int:
    """Due step: publish ``contract.trial_ending`` once for each trial converting within
    ``ENDING_NOTICE_DAYS`` days after ``as_of`` (none for a trial already due to convert)."""
    ids = list(
        _due(as_of, customers)
        .filter(
            ending_notified_on__isnull=True,
            converts_on__gt=as_of,
            converts_on__lte=as_of + timedelta(days=ENDING_NOTICE_DAYS),
            contract__status=Contract.Status.ACTIVE,
        )
        .values_list("pk", flat=True)
    )
    return sum(_notify_one(pk, as_of) for pk in ids)


@transaction.atomic
def _notify_one(pk: int, as_of: date) -> int:
    trial = ContractTrial.objects.select_for_update().select_related("contract").get(pk=pk)
    if trial.status != ContractTrial.Status.TRIALING or trial.ending_notified_on is not None:
        return 0  # another worker got here first
    trial.ending_notified_on = as_of
    trial.save(update_fields=["ending_notified_on"])
    days_left = (trial.converts_on - as_of).days
    audit_record(
        actor="lifecycle",
        action=AuditAction.CONTRACT_TRIAL_ENDING,
        obj=trial.contract,
        changes={"line": trial.line_key or None, "converts_on": trial.converts_on, "days_left": days_left},
    )
    outbox_publish(
        topic="contract.trial_ending", obj=trial.contract, payload={**_payload(trial), "days_left": days_left}
    )
    return 1


def contracts_convert_trials(*, as_of: date, customers: list[str] | None = None) -> int:
    """Due step: every trial whose conversion date is on or before ``as_of`` converts to paid, each in
    its own transaction with its audit event and ``contract.trial_converted``; a second call converts
    nothing (the row is locked and its status read again)."""
    ids = list(
        _due(as_of, customers).filter(converts_on__lte=as_of).values_list("pk", flat=True).order_by("pk")
    )
    return sum(_convert_one(pk) for pk in ids)


@transaction.atomic
def _convert_one(pk: int) -> int:
    trial = ContractTrial.objects.select_for_update().select_related("contract").get(pk=pk)
    if trial.status != ContractTrial.Status.TRIALING:
        return 0
    trial.status = ContractTrial.Status.CONVERTED
    trial.decided_on = trial.converts_on
    trial.save(update_fields=["status", "decided_on"])
    audit_record(
        actor="lifecycle",
        action=AuditAction.CONTRACT_TRIAL_CONVERTED,
        obj=trial.contract,
        changes={
            "line": trial.line_key or None,
            "status": {"from": ContractTrial.Status.TRIALING, "to": trial.status},
            "converts_on": trial.converts_on,
        },
    )
    outbox_publish(topic="contract.trial_converted", obj=trial.contract, payload=_payload(trial))
    return 1


def trial_cancel_date(contract: Contract, *, today: date) -> date:
    """The date a cancellation during the trial ends CONTRACT: its earliest conversion date. Raises
    (409) unless the contract is active and wholly in trial on ``today`` — every paid line starts on or
    after that date; a contract already paying for a line is ended by a termination instead."""
    if contract.status != Contract.Status.ACTIVE:
        raise InvalidTransition(
            f"A {contract.get_status_display().lower()} contract cannot be canceled during a trial."
        )
    trials = list(contract.trials.filter(status=ContractTrial.Status.TRIALING))
    if not trials:
        raise InvalidTransition(f"{contract.number} is not in a trial.")
    cut = min(t.converts_on for t in trials)
    if cut <= today:
        raise InvalidTransition(
            f"{contract.number}'s trial converted to paid on {cut.isoformat()}: end it with a termination."
        )
    trial_lines = {t.trial_line_key for t in contract.trials.all() if t.trial_line_key}
    for key, line in current_lines(contract).items():
        lo, hi = line_range(line, contract)
        if key not in trial_lines and lo < cut and hi > lo:
            raise Conflict(
                f"Line '{key}' of {contract.number} is paid from {lo.isoformat()}, before its trial ends on "
                f"{cut.isoformat()}: end the contract with a termination."
            )
    return cut


@transaction.atomic
def contract_trial_cancel(*, contract: Contract, actor=None, today: date | None = None) -> Contract:
    """Cancel CONTRACT during its trial: it ends on the conversion date (a termination, audited and
    announced as any, whose modification removes the paid obligations with nothing satisfied), its
    trials are marked canceled, and ``contract.trial_canceled`` is published. The paid period is never
    billed; a trial price billed stands (the trial is delivered to its end)."""
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    today = today or timezone.localdate()
    cut = trial_cancel_date(contract, today=today)
    contract = contract_terminate(contract=contract, effective_date=cut, actor=actor)
    trials = list(contract.trials.select_for_update().filter(status=ContractTrial.Status.TRIALING))
    for trial in trials:
        trial.status = ContractTrial.Status.CANCELED
        trial.decided_on = today
        trial.save(update_fields=["status", "decided_on"])
    audit_record(
        actor=actor,
        action=AuditAction.CONTRACT_TRIAL_CANCELED,
        obj=contract,
        changes={
            "ends_on": cut,
            "trials": [t.line_key or None for t in trials],
            "status": {"from": ContractTrial.Status.TRIALING, "to": ContractTrial.Status.CANCELED},
        },
    )
    outbox_publish(
        topic="contract.trial_canceled",
        obj=contract,
        payload={
            "contract": contract.pk,
            "number": contract.number,
            "ends_on": cut.isoformat(),
            "actor_id": getattr(actor, "pk", None),
        },
    )
    return contract
