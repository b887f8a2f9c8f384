"""A contract's life: create (draft) → submit → activate (or wait for a price-override approval) →
terminate. Every change is audited in its transaction; activation and termination are announced on
the outbox (revenue recognition follows them)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from billing.contracts.extensions import check_contract_change
from billing.contracts.models import Contract, ContractLine, ContractTrial, ContractVersion
from billing.contracts.overrides import KIND as OVERRIDE_KIND
from billing.contracts.overrides import contract_overrides, signature, threshold_pct
from billing.contracts.selectors import contract_snapshot, current_lines, pending_override
from billing.contracts.services.changes import advance_billed_credit
from billing.contracts.services.override_requests import override_rebind, override_summary
from billing.contracts.services.renewals import clean_policy, policy_create, policy_dict
from billing.contracts.services.versions import contract_version_record
from billing.contracts.terms import line_range
from billing.contracts.trials import clean_trial_terms, plan_trials
from billing.contracts.validation import clean_date, clean_lines, raise_if_invalid
from billing.contracts.value import contract_transaction_price
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.core.outbox import outbox_publish
from revops.errors import Conflict, FieldError, InvalidTransition
from revops.money import is_currency
from revops.parties.services.customers import customer_by_external_id


def _next_number() -> str:
    last = Contract.objects.aggregate(n=Max("id"))["n"] or 0
    return f"C-{last + 1:05d}"


@transaction.atomic
def contract_create(
    *,
    customer: str,
    currency: str,
    start_date,
    end_date,
    lines: list,
    billing_anchor: str = "calendar",
    notes: str = "",
    renewal: dict | None = None,
    trial_days=None,
    trial_price=None,
    actor=None,
) -> Contract:
    """A draft contract. ``trial_days`` / ``trial_price`` (or the same on a line) start it with a trial
    (:mod:`billing.contracts.trials`): the paid lines start on the conversion date."""
    errors: list[FieldError] = []
    try:
        cust = customer_by_external_id(customer)  # api.md: "customer": external_id
    except Exception:
        cust = None
        errors.append(FieldError("customer", f"Unknown customer '{customer}'."))
    currency = (currency or "").upper()
    if not is_currency(currency):
        errors.append(FieldError("currency", f"Unknown currency '{currency}'."))
    elif cust is not None and cust.currency != currency:
        errors.append(FieldError("currency", f"The customer is billed in {cust.currency}."))
    start = clean_date(start_date, "start_date", errors)
    end = clean_date(end_date, "end_date", errors)
    if start and end and end <= start:
        errors.append(
            FieldError("end_date", "The contract must end after it starts (end_date is exclusive).")
        )
    if billing_anchor not in Contract.BillingAnchor.values:
        errors.append(FieldError("billing_anchor", "Must be 'calendar' or 'anniversary'."))
    cleaned, line_errors = clean_lines(lines, currency=currency, start=start, end=end, trials=True)
    errors.extend(line_errors)
    if not cleaned and not line_errors:
        errors.append(FieldError("lines", "A contract needs at least one line."))
    renewal_policy = clean_policy(renewal, errors)  # issue 17 §1: absent = does not renew
    contract_trial = clean_trial_terms(
        trial_days, trial_price, path="", currency=currency if is_currency(currency) else "", errors=errors
    )
    trials = []
    if start and end and end > start and not line_errors:
        cleaned, trials = plan_trials(
            cleaned, contract_trial=contract_trial, start=start, end=end, currency=currency, errors=errors
        )
    raise_if_invalid(errors)
    contract = Contract.objects.create(
        number=_next_number(),
        customer=cust,
        currency=currency,
        start_date=start,
        end_date=end,
        billing_anchor=billing_anchor,
        notes=notes,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    for position, line in enumerate(cleaned):
        ContractLine.objects.create(contract=contract, position=position, **line)
    for trial in trials:
        ContractTrial.objects.create(
            contract=contract,
            line_key=trial.line_key,
            trial_line_key=trial.trial_line_key,
            days=trial.days,
            price=trial.price,
            starts_on=trial.starts_on,
            converts_on=trial.converts_on,
        )
    contract.transaction_price = contract_transaction_price(contract)
    contract.save(update_fields=["transaction_price"])
    policy = policy_create(contract=contract, cleaned=renewal_policy)
    ContractVersion.objects.create(
        contract=contract,
        version=1,
        effective_date=start,
        kind="created",
        changes=[],
        snapshot=contract_snapshot(contract),
        created_by=contract.created_by,
    )
    audit_record(
        actor=actor,
        action=AuditAction.CONTRACT_CREATED,
        obj=contract,
        changes={
            "number": contract.number,
            "customer": cust.external_id,
            "transaction_price": contract.transaction_price,
            **({"renewal": policy_dict(policy)} if policy is not None else {}),
            **(
                {
                    "trials": [
                        {
                            "line": t.line_key or None,
                            "days": t.days,
                            "price": t.price,
                            "converts_on": t.converts_on,
                        }
                        for t in trials
                    ]
                }
                if trials
                else {}
            ),
        },
    )
    return contract


TRANSITIONS = {
    "submit": ({Contract.Status.DRAFT}, Contract.Status.PENDING_APPROVAL),
    "activate": ({Contract.Status.DRAFT, Contract.Status.PENDING_APPROVAL}, Contract.Status.ACTIVE),
    "terminate": ({Contract.Status.ACTIVE}, Contract.Status.TERMINATED),
    "expire": ({Contract.Status.ACTIVE}, Contract.Status.EXPIRED),
}


def transition(contract: Contract, action: str) -> str:
    allowed, target = TRANSITIONS[action]
    if contract.status not in allowed:
        raise InvalidTransition(f"A {contract.get_status_display().lower()} contract cannot {action}.")
    before = contract.status
    contract.status = target
    return before


@transaction.atomic
def contract_submit(*, contract: Contract, actor=None) -> Contract:
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    before = transition(contract, "submit")
    contract.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action=AuditAction.CONTRACT_SUBMITTED,
        obj=contract,
        changes={"status": {"from": before, "to": contract.status}},
    )
    return contract


@transaction.atomic
def contract_activate(*, contract: Contract, actor=None, approval=None) -> Contract:
    """Activate the contract — unless a line is priced beyond the override threshold below its list
    price (billing.contracts.overrides): then the contract waits in ``pending_approval`` for a
    ``price_override`` approval (returned as ``contract.override_approval``) and activates when an
    approver other than the requester approves it (``approval``: the approval being applied)."""
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    overrides = contract_overrides(contract)
    if overrides and approval is None:
        return activation_override_request(contract, overrides, actor=actor)
    if approval is not None:
        payload = approval.payload or {}
        if (
            payload.get("action") != "activate"
            or payload.get("version") != contract.version
            or signature(overrides) != signature(payload.get("overrides", []))
        ):
            raise Conflict(
                f"{contract.number}'s prices are no longer the ones the approver saw; request it again."
            )
    before = transition(contract, "activate")
    contract.transaction_price = contract_transaction_price(contract)
    contract.activated_at = timezone.now()
    contract.save(update_fields=["status", "transaction_price", "activated_at"])
    changes = {
        "status": {"from": before, "to": contract.status},
        "transaction_price": contract.transaction_price,
    }
    if approval is not None:
        changes["price_override_approval"] = approval.pk
    audit_record(actor=actor, action=AuditAction.CONTRACT_ACTIVATED, obj=contract, changes=changes)
    outbox_publish(
        topic="contract.activated",
        obj=contract,
        payload={
            "contract": contract.pk,
            "version": contract.version,
            "actor_id": getattr(actor, "pk", None),
        },
    )
    contract.override_approval = None
    return contract


def activation_override_request(contract: Contract, overrides: list[dict], *, actor) -> Contract:
    from revops.core.approvals.services import approval_request

    if contract.status not in TRANSITIONS["activate"][0]:
        raise InvalidTransition(f"A {contract.get_status_display().lower()} contract cannot activate.")
    pending = pending_override(contract)
    if pending is not None:
        if pending.payload.get("action") == "activate" and signature(
            pending.payload.get("overrides", [])
        ) == signature(overrides):
            contract.override_approval = pending  # asked again: the same request keeps waiting
            return contract
        raise Conflict(f"A price override of {contract.number} already waits for approval (#{pending.pk}).")
    before = contract.status
    contract.status = Contract.Status.PENDING_APPROVAL
    contract.save(update_fields=["status"])
    approval = approval_request(
        kind=OVERRIDE_KIND,
        obj=contract,
        summary=override_summary(contract, overrides, "activation"),
        payload={
            "action": "activate",
            "contract": contract.number,
            "customer": contract.customer.external_id,
            "currency": contract.currency,
            "version": contract.version,
            "threshold_pct": str(threshold_pct()),
            "overrides": overrides,
        },
        requested_by=actor,
    )
    audit_record(
        actor=actor,
        action=AuditAction.CONTRACT_PRICE_OVERRIDE_REQUESTED,
        obj=contract,
        changes={
            "status": {"from": before, "to": contract.status},
            "approval": approval.pk,
            "overrides": overrides,
        },
    )
    contract.override_approval = approval
    return contract


# --- amend / terminate ---------------------------------------------------------------------------------


@transaction.atomic
def contract_terminate(*, contract: Contract, effective_date, actor=None) -> Contract:
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    check_contract_change(contract)  # e.g. a contract modification still waiting (accounting.md §10)
    errors: list[FieldError] = []
    eff = clean_date(effective_date, "effective_date", errors)
    if eff and not contract.start_date < eff <= contract.end_date:
        errors.append(
            FieldError(
                "effective_date", "Termination must fall after the start and no later than the end date."
            )
        )
    raise_if_invalid(errors)
    before = transition(contract, "terminate")
    version = contract.version + 1
    for line in current_lines(contract).values():
        if line_range(line, contract)[1] > eff:
            advance_billed_credit(line, contract, cut=eff, version=version, reason="terminated")
    contract.terminated_on = eff
    contract.version = version
    contract.transaction_price = contract_transaction_price(contract)
    contract.save(update_fields=["status", "terminated_on", "version", "transaction_price"])
    contract_version_record(
        contract=contract,
        version=version,
        effective_date=eff,
        kind="termination",
        changes=[{"terminated_on": str(eff)}],
        actor=actor,
    )
    audit_record(
        actor=actor,
        action=AuditAction.CONTRACT_TERMINATED,
        obj=contract,
        changes={"status": {"from": before, "to": contract.status}, "effective_date": eff},
    )
    outbox_publish(
        topic="contract.terminated",
        obj=contract,
        payload={"contract": contract.pk, "effective_date": eff, "actor_id": getattr(actor, "pk", None)},
    )
    override_rebind(contract, actor=actor)
    return contract
