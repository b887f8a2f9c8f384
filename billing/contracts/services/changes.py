"""Applying an amendment: each changed line ends on the effective date and its next revision starts
there, advance-billed fees of the cut period are credited for the unused days, and the contract
records a new version (audited, announced on the outbox). Called by the amend, preview and override
services inside their transactions; the input is checked first by ``billing.contracts.validation``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from billing.contracts.models import Contract, ContractLine
from billing.contracts.selectors import current_lines
from billing.contracts.services.versions import contract_version_record
from billing.contracts.terms import line_range
from billing.contracts.validation import CHANGE_FIELDS, clean_amendment, clean_date, raise_if_invalid
from billing.contracts.value import contract_transaction_price
from billing.models import BillingClaim, InvoiceLine, PendingCharge
from billing.schedule import FEE_ADVANCE
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.core.outbox import outbox_publish
from revops.errors import InvalidTransition
from revops.jsonsafe import jsonable
from revops.money import parse_decimal, round_money

ZERO = Decimal(0)


def unused_advance_billed(line: ContractLine, *, cut: date) -> list[tuple[date, date, Decimal]]:
    """What ending LINE on CUT leaves billed in advance for time after it: ``(start, end, exact)`` per
    billed period the cut falls in or precedes, ``exact`` the unused part of its fees (unrounded)."""
    unused_parts = []
    claims = BillingClaim.objects.filter(contract_line=line, kind=FEE_ADVANCE, period_end__gt=cut)
    for claim in claims.select_related("invoice").order_by("period_start"):
        billed = list(
            InvoiceLine.objects.filter(
                invoice=claim.invoice,
                contract_line=line,
                kind=InvoiceLine.Kind.FEE,
                service_start__lt=claim.period_end,
                service_end__gt=max(cut, claim.period_start),
            )
        )
        exact = ZERO
        for record in billed:
            days = (record.service_end - record.service_start).days
            unused = (record.service_end - max(cut, record.service_start)).days
            amount = record.exact_amount if record.exact_amount is not None else record.amount
            exact += Decimal(amount) * unused / days
        unused_parts.append((max(cut, claim.period_start), claim.period_end, exact))
    return unused_parts


def advance_billed_credit(
    line: ContractLine, contract: Contract, *, cut: date, version: int, reason: str
) -> list[PendingCharge]:
    """When a line ends after its fees were billed in advance for time after the end, credit the
    unused days (accounting.md §3: 'credits the unused part of the old price'): those of the period
    the cut falls in and, for a backdated end, every later period already billed — once each."""
    credits = []
    for start, end, exact in unused_advance_billed(line, cut=cut):
        amount = round_money(-exact, contract.currency)
        if amount == 0:
            continue
        credits.append(
            PendingCharge.objects.create(
                contract=contract,
                contract_line=line,
                contract_version=version,
                kind="proration",
                description=f"Unused time on {line.product.name} ({reason}) from {start:%d %b %Y}",
                amount=amount,
                exact_amount=-exact,
                service_start=start,
                service_end=end,
            )
        )
    return credits


def amendment_apply(
    *, contract: Contract, effective_date, changes: list, end_date=None, actor=None, approval=None
) -> Contract:
    """Apply effective-dated changes: ``{"line": key, "quantity"|"plan"|"unit_price"|"amount"|"end":
    ...}``, ``{"add": Line}``, ``{"remove": key}``; ``end_date`` extends the contract term (lines
    without their own service end follow it; added lines may lie anywhere in the new term). Each
    changed line ends on the effective date and a new revision starts there; advance-billed fees of
    the cut period are credited for the unused days. A one-time line's new revision replaces its price
    (``amount``): billing charges or credits only the difference (accounting.md §10). Runs in the
    caller's transaction; nothing is applied unless every change is valid."""
    contract = Contract.objects.select_for_update(of=("self",)).select_related("customer").get(pk=contract.pk)
    if contract.status != Contract.Status.ACTIVE:
        raise InvalidTransition("Only an active contract can be amended.")
    lines = current_lines(contract)
    terms, errors = clean_amendment(
        contract=contract, lines=lines, effective_date=effective_date, changes=changes, end_date=end_date
    )
    raise_if_invalid(errors)
    eff, new_end, old_end, plans = terms.effective_date, terms.end_date, contract.end_date, terms.plans
    version = contract.version + 1
    recorded = []
    for change in terms.changes:
        if "add" in change:
            continue
        key = change.get("line") or change.get("remove")
        old = lines[key]
        old_start, _old_end = line_range(old, contract)
        original_end = clean_date(change["end"], "end", []) if "end" in change else old.service_end
        cut = max(eff, old_start)
        reason = "removed" if "remove" in change else "amended"
        old.service_end = cut
        old.save(update_fields=["service_end"])
        advance_billed_credit(old, contract, cut=cut, version=version, reason=reason)
        entry = {"line": key, "from_revision": old.revision}
        if "remove" not in change:
            amount = old.amount
            if old.billing == ContractLine.Billing.ONE_TIME and "amount" in change:
                amount = parse_decimal(change["amount"])
            elif old.billing == ContractLine.Billing.ONE_TIME and change.get("unit_price") is not None:
                amount = None  # priced by unit_price × quantity from now on
            new = ContractLine.objects.create(
                contract=contract,
                key=key,
                revision=old.revision + 1,
                supersedes=old,
                created_in_version=version,
                product=old.product,
                plan=plans.get(change["plan"]) if "plan" in change else old.plan,
                billing=old.billing,
                quantity=parse_decimal(change["quantity"]) if "quantity" in change else old.quantity,
                unit_price=parse_decimal(change["unit_price"])
                if change.get("unit_price") is not None
                else old.unit_price,
                amount=amount,
                ssp=old.ssp,
                ssp_reason=old.ssp_reason,
                recognition=old.recognition,
                series=old.series,
                progress_measure=old.progress_measure,  # the measure of progress carries on (§10a)
                progress_places=old.progress_places,
                service_start=cut,
                service_end=original_end,
                position=old.position,
            )
            entry.update({k: str(v) for k, v in change.items() if k in CHANGE_FIELDS})
            entry["to_revision"] = new.revision
        else:
            entry["removed"] = True
        recorded.append(entry)
    if new_end != old_end:
        contract.end_date = new_end
        contract.save(update_fields=["end_date"])
        recorded.append({"end_date": {"from": str(old_end), "to": str(new_end)}})
    for add in terms.additions:
        add = {**add, "service_start": add["service_start"] or eff}
        ContractLine.objects.create(
            contract=contract, position=len(lines) + len(recorded), created_in_version=version, **add
        )
        recorded.append({"added": add["key"], "product": add["product"].code})
    before_price = contract.transaction_price
    contract.version = version
    contract.transaction_price = contract_transaction_price(contract)
    contract.save(update_fields=["version", "transaction_price"])
    contract_version_record(
        contract=contract,
        version=version,
        effective_date=eff,
        kind="amendment",
        changes=jsonable(recorded),
        actor=actor,
    )
    audit_record(
        actor=actor,
        action=AuditAction.CONTRACT_AMENDED,
        obj=contract,
        changes={
            "version": version,
            "effective_date": eff,
            "changes": recorded,
            "transaction_price": {"from": before_price, "to": contract.transaction_price},
            **({"price_override_approval": approval.pk} if approval is not None else {}),
        },
    )
    outbox_publish(
        topic="contract.amended",
        obj=contract,
        payload={
            "contract": contract.pk,
            "version": version,
            "effective_date": eff,
            "actor_id": getattr(actor, "pk", None),
        },
    )
    return contract
