"""Reverting a rejected amendment by appending a version that restores the contract as it was."""

from __future__ import annotations

from datetime import date

from django.db import transaction

from billing.contracts.models import Contract, ContractLine, ContractVersion
from billing.contracts.services.versions import contract_version_record
from billing.contracts.value import contract_transaction_price
from billing.contracts.variable import FIELDS as VARIABLE_FIELDS
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.jsonsafe import jsonable


@transaction.atomic
def contract_amendment_revert(*, contract: Contract, version: int, actor=None, reason: str = "") -> Contract:
    """Undo a rejected amendment by appending a version that restores the contract as it was before it
    (history is never edited: the amendment's revisions stay, each changed or removed line gets a new
    revision with its earlier terms from the same cut date, lines the amendment added end where they
    start, and an extended term goes back). A one-time line restored this way bills or credits only
    the difference to what its revisions have billed (accounting.md §10). Only the latest version can
    be reverted; nothing happens when ``version`` is no longer the contract's latest amendment."""
    contract = Contract.objects.select_for_update(of=("self",)).get(pk=contract.pk)
    amended = ContractVersion.objects.filter(contract=contract, version=version, kind="amendment").first()
    if amended is None or contract.version != version:
        return contract
    before = (
        ContractVersion.objects.filter(contract=contract, version__lt=version).order_by("-version").first()
    )
    ends = {
        (ln["key"], ln["revision"]): ln.get("service_end")
        for ln in ((before.snapshot or {}) if before else {}).get("lines", [])
    }
    new_version = version + 1
    recorded: list[dict] = []
    made = {ln.pk: ln for ln in contract.lines.filter(created_in_version=version)}
    for entry in amended.changes or []:
        if "line" not in entry:
            continue
        old = ContractLine.objects.get(contract=contract, key=entry["line"], revision=entry["from_revision"])
        latest = (
            made.get(getattr(getattr(old, "superseded_by", None), "pk", None))
            if not entry.get("removed")
            else None
        )
        cut = old.service_end
        original = ends.get((old.key, old.revision))
        if original:
            end = date.fromisoformat(original)
        else:  # no snapshot: the amendment kept the line's end unless it changed it
            end = latest.service_end if latest is not None and "end" not in entry else None
        if latest is not None:
            latest.service_end = latest.service_start  # the amended terms never take effect
            latest.save(update_fields=["service_end"])
        restored = ContractLine.objects.create(
            contract=contract,
            key=old.key,
            revision=(latest or old).revision + 1,
            supersedes=latest or old,
            created_in_version=new_version,
            product=old.product,
            plan=old.plan,
            billing=old.billing,
            quantity=old.quantity,
            unit_price=old.unit_price,
            amount=old.amount,
            ssp=old.ssp,
            ssp_reason=old.ssp_reason,
            recognition=old.recognition,
            series=old.series,
            **{
                f: getattr(old, f)
                for f in {*VARIABLE_FIELDS, "progress_measure", "progress_places", "ramp"}
                if hasattr(old, f)
            },
            service_start=cut,
            service_end=end,
            position=old.position,
        )
        recorded.append(
            {"line": old.key, "restored_revision": old.revision, "to_revision": restored.revision}
        )
    for entry in amended.changes or []:
        if "added" in entry:
            line = contract.lines.get(key=entry["added"], created_in_version=version)
            line.service_end = line.service_start
            line.save(update_fields=["service_end"])
            recorded.append({"withdrawn": line.key})
        if "end_date" in entry:
            contract.end_date = date.fromisoformat(entry["end_date"]["from"])
            recorded.append({"end_date": {"from": entry["end_date"]["to"], "to": entry["end_date"]["from"]}})
    before_price = contract.transaction_price
    contract.version = new_version
    contract.transaction_price = contract_transaction_price(contract)
    contract.save(update_fields=["version", "transaction_price", "end_date"])
    contract_version_record(
        contract=contract,
        version=new_version,
        effective_date=amended.effective_date,
        kind="reversion",
        changes=jsonable([{"reverts_version": version, "reason": reason[:500]}, *recorded]),
        actor=actor,
    )
    audit_record(
        actor=actor,
        action=AuditAction.CONTRACT_AMENDMENT_REVERTED,
        obj=contract,
        changes={
            "version": new_version,
            "reverts_version": version,
            "changes": recorded,
            "transaction_price": {"from": before_price, "to": contract.transaction_price},
        },
    )
    return contract
