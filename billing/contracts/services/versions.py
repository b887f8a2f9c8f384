"""The contract's version history: one ``ContractVersion`` row per change of its terms, with the
snapshot of the contract after it."""

from __future__ import annotations

from datetime import date

from billing.contracts.models import Contract, ContractVersion
from billing.contracts.selectors import contract_snapshot


def contract_version_record(
    *, contract: Contract, version: int, effective_date: date, kind: str, changes: list, actor=None
) -> ContractVersion:
    """Record version ``version`` of the contract as it is now (the caller writes the audit event)."""
    return ContractVersion.objects.create(
        contract=contract,
        version=version,
        effective_date=effective_date,
        kind=kind,
        changes=changes,
        snapshot=contract_snapshot(contract),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
