"""Amending an active contract: ``contract_amend`` applies effective-dated changes (or holds them for a
price-override approval), ``proration_preview`` shows what they would bill without keeping anything."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from billing.contracts.extensions import check_contract_change
from billing.contracts.models import Contract
from billing.contracts.overrides import contract_overrides, signature
from billing.contracts.services.changes import amendment_apply
from billing.contracts.services.override_requests import amendment_override_request, override_rebind
from billing.contracts.terms import line_range, plan_interval
from billing.contracts.value import first_period_amount
from billing.models import PendingCharge
from billing.schedule import line_periods
from revops.errors import Conflict

ZERO = Decimal(0)


@transaction.atomic
def contract_amend(
    *, contract: Contract, effective_date, changes: list, end_date=None, actor=None, approval=None
) -> Contract:
    """Apply an amendment (see :func:`amendment_apply`) — unless it prices a line beyond the override threshold
    below its list price: then nothing changes, a ``price_override`` request holding exactly the
    amendment is opened (returned as ``contract.override_approval``), and the amendment applies when
    an approver other than the requester approves it (``approval``: the approval being applied)."""
    check_contract_change(contract)  # e.g. a contract modification still waiting (accounting.md §10)
    savepoint = transaction.savepoint()
    amended = amendment_apply(
        contract=contract,
        effective_date=effective_date,
        changes=changes,
        end_date=end_date,
        actor=actor,
        approval=approval,
    )
    overrides = contract_overrides(amended, version=amended.version)
    if approval is not None:
        if signature(overrides) != signature(approval.payload.get("overrides", [])):
            raise Conflict(
                "The amendment no longer prices the lines the approver saw; request it again.",
            )
    elif overrides:
        transaction.savepoint_rollback(savepoint)
        return amendment_override_request(
            contract,
            overrides,
            effective_date=effective_date,
            changes=changes,
            end_date=end_date,
            actor=actor,
        )
    transaction.savepoint_commit(savepoint)
    if approval is None:
        override_rebind(amended, actor=actor)
    amended.override_approval = None
    return amended


def proration_preview(*, contract: Contract, effective_date, changes: list, end_date=None) -> dict:
    """What an amendment would bill, without saving anything: the amendment runs for real inside a
    transaction that is always rolled back (so the preview and the amendment cannot disagree).
    Amounts are Decimals at their stored scale: the API (``AmendmentPreviewOut``) and the page format
    them in the contract's currency."""
    with transaction.atomic():
        try:
            amended = amendment_apply(
                contract=contract,
                effective_date=effective_date,
                changes=changes,
                end_date=end_date,
                actor="preview",
            )
            credits = [
                {"description": p.description, "amount": p.amount}
                for p in PendingCharge.objects.filter(contract=amended, contract_version=amended.version)
            ]
            new_lines = []
            for line in amended.lines.filter(created_in_version=amended.version).select_related(
                "plan", "product"
            ):
                start, end = line_range(line, amended)
                first = line_periods(
                    grid_start=amended.start_date,
                    anchor=amended.billing_anchor,
                    interval=plan_interval(line),
                    start=start,
                    end=end,
                )[:1]
                first_amount = ZERO
                if first:
                    first_amount = first_period_amount(line, amended, *first[0])
                new_lines.append(
                    {
                        "line": line.key,
                        "revision": line.revision,
                        "starts": start,
                        "first_period": [first[0][0].start, first[0][0].end] if first else None,
                        "first_period_days": f"{first[0][0].days}/{first[0][1].days}" if first else None,
                        "first_period_amount": first_amount,
                    }
                )
            net = sum((c["amount"] for c in credits), ZERO) + sum(
                (n["first_period_amount"] for n in new_lines), ZERO
            )
            return {
                "transaction_price": {
                    "from": contract.transaction_price,
                    "to": amended.transaction_price,
                },
                "credits": credits,
                "new_lines": new_lines,
                "net_first_period": net,
            }
        finally:
            transaction.set_rollback(True)
