"""Price-override requests of contracts (the rule is ``billing.contracts.overrides``): opening one for
an amendment that prices a line beyond the threshold, and re-binding a waiting request when the
contract moves to a new version. The activation request is opened by ``services.lifecycle``."""

from __future__ import annotations

from django.db import transaction

from billing.contracts.models import Contract
from billing.contracts.overrides import KIND as OVERRIDE_KIND
from billing.contracts.overrides import contract_overrides, override_headline, override_weight, threshold_pct
from billing.contracts.selectors import pending_override
from billing.contracts.services.changes import amendment_apply
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.errors import Conflict, DomainError
from revops.jsonsafe import jsonable


def override_summary(contract: Contract, overrides: list[dict], what: str) -> str:
    worst = max(overrides, key=override_weight)
    return f"{contract.number} {what}: {override_headline(worst, contract.currency)}" + (
        f" and {len(overrides) - 1} more line(s)" if len(overrides) > 1 else ""
    )


def override_rebind(contract: Contract, *, actor=None):
    """Bind a pending price override to the contract as it now is (called by every service that moves
    the contract to a new version, in its transaction). A request asked for an earlier version can no
    longer be applied as shown: it is voided (``superseded``, audited). A pending amendment that still
    applies to the new version and still needs an approver is re-derived against it and opened again
    in its place (the new request names the old one); one that no longer applies, or no longer needs
    approval, is only voided — the requester asks again."""
    from revops.core.approvals.services import approval_request, approval_void

    pending = pending_override(contract)
    if pending is None or (pending.payload or {}).get("version") == contract.version:
        return None
    payload = pending.payload or {}
    moved = f"{contract.number} moved from version {payload.get('version')} to {contract.version}"
    overrides = None
    if payload.get("action") == "amend" and contract.status == Contract.Status.ACTIVE:
        savepoint = transaction.savepoint()
        try:
            trial = amendment_apply(
                contract=contract,
                effective_date=payload["effective_date"],
                changes=payload["changes"],
                end_date=payload.get("end_date") or None,
                actor=actor,
            )
            overrides = contract_overrides(trial, version=trial.version)
        except DomainError:
            overrides = None
        finally:
            transaction.savepoint_rollback(savepoint)
        contract = Contract.objects.select_for_update().select_related("customer").get(pk=contract.pk)
    if not overrides:
        approval_void(
            approval=pending,
            actor=actor,
            reason=f"{moved}; the request no longer applies as shown. Ask again if it is still wanted.",
        )
        audit_record(
            actor=actor,
            action=AuditAction.CONTRACT_PRICE_OVERRIDE_VOIDED,
            obj=contract,
            changes={"approval": pending.pk, "version": contract.version},
        )
        return None
    renewed = approval_request(
        kind=OVERRIDE_KIND,
        obj=contract,
        summary=override_summary(contract, overrides, f"amendment from {payload['effective_date']}"),
        payload={**payload, "version": contract.version, "overrides": overrides},
        requested_by=pending.requested_by,
        replace_pending=True,
    )
    audit_record(
        actor=actor,
        action=AuditAction.CONTRACT_PRICE_OVERRIDE_REQUESTED,
        obj=contract,
        changes={"approval": renewed.pk, "supersedes": pending.pk, "reason": moved, "overrides": overrides},
    )
    return renewed


def amendment_override_request(contract: Contract, overrides, *, effective_date, changes, end_date, actor):
    from revops.core.approvals.services import approval_request

    contract = Contract.objects.select_for_update().select_related("customer").get(pk=contract.pk)
    pending = pending_override(contract)
    if pending is not None:
        raise Conflict(f"A price override of {contract.number} already waits for approval (#{pending.pk}).")
    approval = approval_request(
        kind=OVERRIDE_KIND,
        obj=contract,
        summary=override_summary(contract, overrides, f"amendment from {effective_date}"),
        payload={
            "action": "amend",
            "contract": contract.number,
            "customer": contract.customer.external_id,
            "currency": contract.currency,
            "version": contract.version,
            "effective_date": str(effective_date),
            "changes": jsonable(changes),
            "end_date": str(end_date) if end_date else None,
            "threshold_pct": str(threshold_pct()),
            "overrides": overrides,
        },
        requested_by=actor,
    )
    audit_record(
        actor=actor,
        action=AuditAction.CONTRACT_PRICE_OVERRIDE_REQUESTED,
        obj=contract,
        changes={"approval": approval.pk, "effective_date": effective_date, "overrides": overrides},
    )
    contract.override_approval = approval
    return contract
