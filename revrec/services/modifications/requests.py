"""A modification's request: recorded with its analysis and sent for approval, one at a time per
contract (accounting.md §10); the treatment chosen before an approver decides."""

from __future__ import annotations

from django.db import transaction

from billing.contracts.models import Contract
from revops.core.approvals.models import Approval
from revops.core.approvals.services import approval_rebind, approval_request
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.errors import Conflict, InvalidTransition, ValidationFailed
from revops.jsonsafe import jsonable
from revrec.models import ContractModification, PerformanceObligation
from revrec.services.modifications.analysis import T, modification_analyze

KIND = "contract_modification"


@transaction.atomic
def modification_propose(*, contract: Contract, actor=None) -> ContractModification | None:
    """Record the amendment's analysis and ask for approval (one per contract version)."""
    if not PerformanceObligation.objects.filter(contract=contract).exists():
        return None
    existing = ContractModification.objects.filter(
        contract=contract, contract_version=contract.version
    ).first()
    if existing:
        return existing
    analysis = modification_analyze(contract=contract)
    # Amend and terminate are refused while a modification waits (``modification_pending_guard``); a
    # version made otherwise (a trial amendment, rolled back) supersedes the one waiting.
    for stale in ContractModification.objects.filter(
        contract=contract, status=ContractModification.Status.PENDING_APPROVAL
    ):
        stale.status = ContractModification.Status.REJECTED
        stale.save(update_fields=["status"])
        Approval.objects.filter(
            kind=KIND,
            object_type="revrec.contractmodification",
            object_id=str(stale.pk),
            status=Approval.Status.PENDING,
        ).update(status=Approval.Status.CANCELLED, comment=f"Superseded by version {contract.version}")
        audit_record(
            actor=actor,
            action=AuditAction.MODIFICATION_SUPERSEDED,
            obj=stale,
            changes={"by_version": contract.version},
        )
    mod = ContractModification.objects.create(
        contract=contract,
        contract_version=contract.version,
        effective_date=analysis["effective_date"],
        proposed_treatment=analysis["proposed"],
        chosen_treatment=analysis["proposed"],
        reason=analysis["reason"],
        analysis=jsonable(analysis),
        requested_by=actor if getattr(actor, "pk", None) else None,
    )
    audit_record(
        actor=actor,
        action=AuditAction.MODIFICATION_PROPOSED,
        obj=mod,
        changes={
            "contract": contract.number,
            "version": contract.version,
            "treatment": mod.proposed_treatment,
        },
    )
    approval_request(
        kind=KIND,
        obj=mod,
        requested_by=actor,
        summary=f"{contract.number} v{contract.version}: {mod.get_proposed_treatment_display()} "
        f"from {analysis['effective_date']}",
    )
    return mod


@transaction.atomic
def modification_choose(
    *, modification: ContractModification, treatment: str, actor=None
) -> ContractModification:
    mod = ContractModification.objects.select_for_update().get(pk=modification.pk)
    if mod.status != ContractModification.Status.PENDING_APPROVAL:
        raise InvalidTransition("The modification was already decided.")
    if treatment not in (T.SEPARATE, T.PROSPECTIVE, T.CATCH_UP):
        raise ValidationFailed(
            "Choose separate_contract, prospective or cumulative_catch_up.", field="treatment"
        )
    option = (mod.analysis or {}).get("treatments", {}).get(treatment)
    if option is not None and not option.get("applicable", True):
        raise ValidationFailed(
            f"{treatment} does not apply to this modification: {option.get('note', '')}", field="treatment"
        )
    before = mod.chosen_treatment
    mod.chosen_treatment = treatment
    mod.save(update_fields=["chosen_treatment"])
    audit_record(
        actor=actor,
        action=AuditAction.MODIFICATION_TREATMENT_CHOSEN,
        obj=mod,
        changes={"from": before, "to": treatment},
    )
    # The pending approval was for the old treatment: void it and ask again for what will now apply.
    approval_rebind(
        kind=KIND,
        obj=mod,
        actor=actor,
        reason=f"Treatment changed from {before} to {treatment}.",
        summary=f"{mod.contract.number} v{mod.contract_version}: {mod.get_chosen_treatment_display()} "
        f"from {mod.effective_date}",
    )
    return mod


def modification_pending_guard(contract: Contract) -> None:
    """F5 (accounting.md §10): while a modification waits for approval the contract takes no new version
    (amend, terminate): folding a second amendment into the waiting one would re-date it to the later
    date. 409 naming the pending approval; each modification keeps its own effective date."""
    pending = ContractModification.objects.filter(
        contract_id=contract.pk, status=ContractModification.Status.PENDING_APPROVAL
    ).first()
    if pending is None:
        return
    approval = Approval.objects.filter(
        kind=KIND,
        object_type="revrec.contractmodification",
        object_id=str(pending.pk),
        status=Approval.Status.PENDING,
    ).first()
    raise Conflict(
        f"Contract {contract.number}: the modification of version {pending.contract_version} "
        f"(effective {pending.effective_date}) waits for approval"
        f"{f' #{approval.pk}' if approval else ''}; approve or reject it before changing the "
        "contract again.",
        field="effective_date",
    )
