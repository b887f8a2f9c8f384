"""Variable consideration re-estimated (accounting.md §10a, IFRS 15.50–59, 87–90).

A re-estimate is an append-only VariableEstimate. The change in the constrained amount (the part of the
estimate included in the transaction price) is allocated on the same basis as at contract inception
(15.88): to the line's own obligation when it meets 15.85, otherwise by the obligations' inception SSPs
over those identified before any later modification (15.90(a)); a share that falls on an obligation
not yet satisfied when a modification was accounted for prospectively moves on to the remaining
obligations of that modification at their SSPs (15.90(b), IE Example 6). Each obligation's schedule is
revised so that what relates to satisfied performance is recognized at once (cumulative catch-up,
through the revenue run and the ledger like any schedule line)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction

from billing.contracts.models import Contract, ContractLine
from billing.contracts.variable import variable_terms
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.errors import Conflict, InvalidTransition, ValidationFailed
from revops.formatting import money as money_text
from revops.money import MoneyError, parse_decimal, round_money
from revops.parties.models import RecognitionMethod
from revrec import recognition
from revrec.allocation import AllocationError, split_change
from revrec.models import ContractModification, PerformanceObligation, RevenueSchedule, VariableEstimate
from revrec.services.judgements import judgement_request, register_judgement
from revrec.services.progress import catch_up, cut_off, existing_lines, revised_lines

ZERO = Decimal(0)


def _amount(value, field: str) -> Decimal:
    try:
        result = parse_decimal(value, field=field)
    except MoneyError as exc:
        raise ValidationFailed(str(exc).split(": ", 1)[-1], field=field) from None
    if result < 0:
        raise ValidationFailed("Cannot be negative.", field=field)
    return result


def satisfied_by(po: PerformanceObligation, day: date) -> bool:
    """Whether the obligation was fully satisfied before ``day``."""
    if po.recognition == RecognitionMethod.POINT_IN_TIME:
        return po.start < day
    return po.end <= day


def _first_version(po: PerformanceObligation) -> int:
    return min((ln.created_in_version for ln in po.lines.all()), default=1)


def change_allocation(
    *, contract: Contract, terms: ContractLine, change: Decimal, pos: list[PerformanceObligation]
) -> list[dict]:
    """[{po, share, basis}] — the change in the transaction price per obligation (15.87–90)."""
    own = next((po for po in pos if po.key == terms.key), None)
    if own is None:
        raise ValidationFailed(
            f"Line '{terms.key}' has no obligation with fixed consideration.", field="line"
        )
    if terms.variable_allocation == ContractLine.VariableAllocation.SPECIFIC:
        return [{"po": own, "share": change, "basis": "specific (IFRS 15.85)"}]
    promised_in = terms.created_in_version if terms.variable_method else contract.version
    basis = [po for po in pos if _first_version(po) <= promised_in]
    weights = [(str(po.pk), po.inception_ssp if po.inception_ssp is not None else po.ssp) for po in basis]
    try:
        shares = split_change(currency=contract.currency, amount=change, weights=weights)
    except AllocationError as exc:
        raise ValidationFailed(exc.message, field="constrained") from None
    result = {po.pk: {"po": po, "share": shares[str(po.pk)], "basis": "inception SSP"} for po in basis}
    prospective = (
        ContractModification.objects.filter(
            contract=contract,
            status=ContractModification.Status.APPLIED,
            chosen_treatment=RevenueSchedule.Treatment.PROSPECTIVE,
            contract_version__gt=promised_in,
        )
        .order_by("-contract_version")
        .first()
    )
    if prospective is not None:
        day = prospective.effective_date
        moving = [row for row in result.values() if not satisfied_by(row["po"], day) and row["share"]]
        remaining = [po for po in pos if not satisfied_by(po, day)]
        pooled = sum((row["share"] for row in moving), ZERO)
        for row in moving:
            row["share"] = ZERO
        if pooled:
            moved = split_change(
                currency=contract.currency, amount=pooled, weights=[(str(po.pk), po.ssp) for po in remaining]
            )
            for po in remaining:
                row = result.setdefault(po.pk, {"po": po, "share": ZERO, "basis": ""})
                row["share"] += moved[str(po.pk)]
                row["basis"] = f"remaining obligations of the prospective modification of {day} (IFRS 15.90)"
    return [row for row in result.values() if row["share"]]


def estimates_at_inception(*, contract: Contract) -> list[VariableEstimate]:
    """The first record of each line's variable consideration: the estimate on the line at inception
    (at activation; idempotent), so the append-only history starts where the transaction price did."""
    created = []
    by_key: dict[str, list[ContractLine]] = {}
    for ln in contract.lines.order_by("key", "revision"):
        by_key.setdefault(ln.key, []).append(ln)
    for key, revisions in by_key.items():
        terms = variable_terms(revisions)
        if terms is None or VariableEstimate.objects.filter(contract=contract, line_key=key).exists():
            continue
        created.append(
            VariableEstimate.objects.create(
                contract=contract,
                line_key=key,
                sequence=1,
                method=terms.variable_method,
                estimate=terms.variable_estimate or ZERO,
                constrained=terms.variable_constrained or ZERO,
                currency=contract.currency,
                as_of=contract.start_date,
                period=recognition.period_key(contract.start_date),
                reason="Estimate at contract inception (from the contract line)",
                recorded_by=contract.created_by,
            )
        )
    return created


ESTIMATE = "variable_estimate"


def _validated(*, contract: Contract, line: str, method: str, estimate, constrained, as_of):
    """(terms, estimate, constrained): the line's variable terms and the parsed amounts, or a problem."""
    if contract.status != Contract.Status.ACTIVE:
        raise InvalidTransition("Only an active contract's variable consideration is re-estimated.")
    if ContractModification.objects.filter(
        contract=contract, status=ContractModification.Status.PENDING_APPROVAL
    ).exists():
        raise Conflict("A contract modification is waiting for approval; decide it before re-estimating.")
    if method not in VariableEstimate.Method.values:
        raise ValidationFailed("Must be 'expected_value' or 'most_likely_amount'.", field="method")
    estimate, constrained = _amount(estimate, "estimate"), _amount(constrained, "constrained")
    if constrained > estimate:
        raise ValidationFailed(
            f"The constrained amount {constrained} cannot exceed the estimate {estimate} (IFRS 15.56).",
            field="constrained",
        )
    if round_money(constrained, contract.currency) != constrained:
        raise ValidationFailed(f"More decimals than {contract.currency} allows.", field="constrained")
    if not isinstance(as_of, date):
        raise ValidationFailed("A date YYYY-MM-DD is required.", field="as_of")
    if not contract.start_date <= as_of:
        raise ValidationFailed(
            "The estimate cannot be as of a date before the contract starts.", field="as_of"
        )
    revisions = list(contract.lines.filter(key=line).order_by("revision"))
    if not revisions:
        raise ValidationFailed(f"No line '{line}' in this contract.", field="line")
    if revisions[-1].billing == ContractLine.Billing.USAGE:
        raise ValidationFailed(
            "A usage line is recognized as invoiced; it carries no estimate.", field="line"
        )
    return variable_terms(revisions) or revisions[-1], estimate, constrained


def _fixed_obligations(contract: Contract) -> list[PerformanceObligation]:
    return list(
        PerformanceObligation.objects.filter(
            contract=contract, status=PerformanceObligation.Status.ACTIVE, variable=False
        )
        .prefetch_related("lines")
        .order_by("id")
    )


def estimate_plan(*, contract: Contract, terms: ContractLine, constrained: Decimal, as_of: date) -> dict:
    """What recording ``constrained`` as of ``as_of`` does, computed without writing anything: the
    previous constrained amount, the change, and per obligation the share, allocation before / after,
    the revised schedule lines and the catch-up (recognized at once). The approval preview shows it;
    approving applies exactly it."""
    previous = terms.variable_constrained or ZERO
    change = constrained - previous
    pos = _fixed_obligations(contract)
    rows = change_allocation(contract=contract, terms=terms, change=change, pos=pos) if change else []
    as_of_period = recognition.period_key(as_of)
    out = []
    for row in rows:
        po, share = row["po"], row["share"]
        new_amount = po.allocated_amount + share
        if new_amount < 0:
            raise ValidationFailed(
                f"{po.key} would be allocated {new_amount}: the decrease exceeds its allocation.",
                field="constrained",
            )
        existing, posted = existing_lines(po)
        cut = cut_off(posted, as_of_period)
        lines = revised_lines(po, amount=new_amount, existing=existing, cut=cut)
        out.append(
            {
                **row,
                "before": po.allocated_amount,
                "after": new_amount,
                "lines": lines,
                "at_once": catch_up(existing, lines, cut),
                "catch_up_period": recognition.period_key(recognition.parse_period(cut) + timedelta(days=31))
                if cut
                else None,
            }
        )
    return {"previous": previous, "change": change, "rows": out, "period": as_of_period}


def _estimate_payload(*, contract, terms, line, method, estimate, constrained, as_of, reason) -> dict:
    return {
        "contract": contract.number,
        "line": line,
        "method": method,
        "estimate": str(estimate),
        "constrained": str(round_money(constrained, contract.currency)),
        "as_of": as_of.isoformat(),
        "reason": reason or "",
        "previous": {  # what the line says now (for the reviewer; the hash binds it too)
            "method": terms.variable_method or "",
            "estimate": str(round_money(terms.variable_estimate, contract.currency))
            if terms.variable_estimate is not None
            else None,
            "constrained": str(round_money(terms.variable_constrained or ZERO, contract.currency)),
        },
    }


@transaction.atomic
def estimate_request(
    *,
    contract: Contract,
    line: str,
    method: str,
    estimate,
    constrained,
    as_of,
    reason: str = "",
    actor=None,
):
    """Submit a (re-)estimate of a line's variable consideration for approval (maker-checker): nothing
    changes until someone other than the requester, with the approver role, approves it; approving
    records the estimate and accounts for the change exactly as the request's payload says. Asking
    again for the same figures returns the pending request; different figures while one waits → 409."""
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    terms, estimate, constrained = _validated(
        contract=contract, line=line, method=method, estimate=estimate, constrained=constrained, as_of=as_of
    )
    plan = estimate_plan(contract=contract, terms=terms, constrained=constrained, as_of=as_of)
    payload = _estimate_payload(
        contract=contract,
        terms=terms,
        line=line,
        method=method,
        estimate=estimate,
        constrained=constrained,
        as_of=as_of,
        reason=reason,
    )
    return judgement_request(
        kind=ESTIMATE,
        obj=contract,
        summary=f"{contract.number} · re-estimate '{line}' as of {as_of}: constrained "
        f"{money_text(plan['previous'], contract.currency)} → {money_text(constrained, contract.currency)}",
        payload=payload,
        actor=actor,
        what=f"A re-estimate of {contract.number}",
    )


def _estimate_content(approval) -> dict:
    """What the request's figures apply to, bound into its hash: the line's variable terms now, the
    transaction price and every obligation's allocation (a modification or another re-estimate applied
    in between changes them, and the request must then be reviewed again)."""
    contract = Contract.objects.select_for_update().get(pk=int(approval.object_id))
    line = (approval.payload or {}).get("line", "")
    revisions = list(contract.lines.filter(key=line).order_by("revision"))
    terms = (variable_terms(revisions) or revisions[-1]) if revisions else None
    return {
        "contract_version": contract.version,
        "status": contract.status,
        "transaction_price": contract.transaction_price,
        "constrained_now": terms.variable_constrained if terms is not None else None,
        "allocations": {po.key: po.allocated_amount for po in _fixed_obligations(contract)},
    }


def _estimate_approved(approval, user) -> None:
    payload = approval.payload or {}
    contract = Contract.objects.get(pk=int(approval.object_id))
    estimate_record(
        contract=contract,
        line=payload["line"],
        method=payload["method"],
        estimate=payload["estimate"],
        constrained=payload["constrained"],
        as_of=date.fromisoformat(payload["as_of"]),
        reason=payload.get("reason", ""),
        actor=user,
        approval=approval,
    )


def _estimate_rejected_changes(payload: dict) -> dict:
    return {
        "contract": payload.get("contract"),
        "line": payload.get("line"),
        "constrained": {
            "from": (payload.get("previous") or {}).get("constrained"),
            "to": payload.get("constrained"),
        },
    }


def register() -> None:
    register_judgement(
        ESTIMATE,
        label="Variable consideration re-estimate",
        on_approved=_estimate_approved,
        content=_estimate_content,
        rejected_action=AuditAction.VARIABLE_CONSIDERATION_RE_ESTIMATE_REJECTED,
        rejected_changes=_estimate_rejected_changes,
    )


@transaction.atomic
def estimate_record(
    *,
    contract: Contract,
    line: str,
    method: str,
    estimate,
    constrained,
    as_of,
    reason: str = "",
    actor=None,
    approval,
) -> VariableEstimate:
    """Record an approved (re-)estimate of a line's variable consideration and account for the change.
    Only the approval handler calls it (``approval`` is the approved request; ``actor`` its approver):
    submit a re-estimate with :func:`estimate_request`."""
    from revops.core.approvals.models import Approval

    if (
        approval is None
        or approval.kind != ESTIMATE
        or approval.status != Approval.Status.APPROVED
        or approval.object_id != str(contract.pk)
    ):
        raise InvalidTransition("A re-estimate is applied only from an approved request for this contract.")
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    terms, estimate, constrained = _validated(
        contract=contract, line=line, method=method, estimate=estimate, constrained=constrained, as_of=as_of
    )
    plan = estimate_plan(contract=contract, terms=terms, constrained=constrained, as_of=as_of)
    previous, change = plan["previous"], plan["change"]
    history = VariableEstimate.objects.filter(contract=contract, line_key=line)
    sequence = history.count()
    requester = approval.requested_by
    if sequence == 0 and terms.variable_method:  # activated before estimates were recorded
        estimates_at_inception(contract=contract)
        sequence = history.count()
    as_of_period = plan["period"]
    allocation = []
    for row in plan["rows"]:
        po, share, new_amount, lines, at_once = (
            row["po"],
            row["share"],
            row["after"],
            row["lines"],
            row["at_once"],
        )
        before = po.allocated_amount
        po.allocated_amount = new_amount
        fields = ["allocated_amount"]
        if po.key == terms.key:
            po.variable_consideration = po.variable_consideration + change
            fields.append("variable_consideration")
        po.save(update_fields=fields)
        audit_record(
            actor=actor,
            action=AuditAction.OBLIGATION_REALLOCATED,
            obj=po,
            changes={
                "cause": "variable consideration re-estimated",
                "line": line,
                "allocated_amount": {"from": before, "to": new_amount},
                "share": share,
                "basis": row["basis"],
                "approval": approval.pk,
            },
        )
        from revrec.services.schedules import schedule_revise

        schedule_revise(
            po=po,
            lines=lines,
            treatment=RevenueSchedule.Treatment.CATCH_UP,
            note=f"Variable consideration of '{line}' re-estimated as of {as_of}: {previous} → {constrained}; "
            f"share {share} ({row['basis']}); recognized at once {at_once}; approval #{approval.pk}.",
            actor=actor,
        )
        allocation.append(
            {
                "po": po.pk,
                "key": po.key,
                "share": str(round_money(share, contract.currency)),
                "basis": row["basis"],
                "allocated_amount": str(round_money(new_amount, contract.currency)),
                "catch_up": str(round_money(at_once, contract.currency)),
                "catch_up_period": row["catch_up_period"],
            }
        )
    record = VariableEstimate.objects.create(
        contract=contract,
        line_key=line,
        sequence=sequence + 1,
        method=method,
        estimate=estimate,
        constrained=constrained,
        previous_constrained=previous,
        change=change,
        currency=contract.currency,
        as_of=as_of,
        period=as_of_period,
        reason=reason or "",
        allocation=allocation,
        recorded_by=requester,
    )
    line_before = {
        "variable_method": terms.variable_method,
        "variable_estimate": terms.variable_estimate,
        "variable_constrained": terms.variable_constrained,
    }
    terms.variable_method, terms.variable_estimate, terms.variable_constrained = method, estimate, constrained
    terms.save(update_fields=["variable_method", "variable_estimate", "variable_constrained"])
    price_before = contract.transaction_price
    contract.transaction_price = price_before + change
    contract.save(update_fields=["transaction_price"])
    audit_record(
        actor=actor,
        action=AuditAction.VARIABLE_CONSIDERATION_RE_ESTIMATED,
        obj=record,
        changes={
            "contract": contract.number,
            "line": line,
            "sequence": record.sequence,
            "method": method,
            "estimate": estimate,
            "constrained": {"from": previous, "to": constrained},
            "as_of": as_of,
            "reason": reason,
            "line_terms_before": line_before,
            "transaction_price": {"from": price_before, "to": contract.transaction_price},
            "allocation": allocation,
            "approval": approval.pk,
            "requested_by": requester.username if requester is not None else None,
            "approved_by": getattr(actor, "username", None),
        },
    )
    return record
