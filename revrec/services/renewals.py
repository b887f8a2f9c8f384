"""A renewal seen by revenue recognition (issue 17 §1; accounting.md §11): a new contract at its own
prices (ASC 606-10-25-9 / IFRS 15.17 do not combine it with the term it follows; a renewal option
priced at what a new customer pays is no material right, 606-10-55-42). The renewal's lines get their
own performance obligations, the renewal term's fixed consideration is allocated over them alone at
their SSPs as of the renewal date, and their schedules are generated and approved like any contract's.
The obligations of the term that ended are not touched: nothing already allocated moves."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction

from billing.contracts.models import Contract
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revrec.allocation import AllocationError, allocate
from revrec.models import PerformanceObligation
from revrec.services.obligations import obligation_create_from_spec, obligation_specs, spec_ssp_line

ZERO = Decimal(0)


@transaction.atomic
def renewal_obligations_create(
    *, contract: Contract, keys: list[str], term_start: date, actor=None
) -> list[PerformanceObligation]:
    """The renewal's obligations (lines ``keys``), allocated among themselves; idempotent (an
    obligation already made for a key is kept)."""
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    wanted = set(keys)
    specs = [s for s in obligation_specs(contract) if s["lines"][-1].key in wanted]
    existing = {
        po.key: po
        for po in PerformanceObligation.objects.filter(
            contract=contract, key__in=[s["key"] for s in specs], status=PerformanceObligation.Status.ACTIVE
        )
    }
    fixed = [s for s in specs if not s["variable"]]
    pairs = {s["key"]: spec_ssp_line(s, contract, on=term_start) for s in fixed}
    allocations = {}
    if fixed:
        price = sum((s["fixed"] for s in fixed), ZERO)
        try:
            result = allocate(
                currency=contract.currency,
                transaction_price=price,
                lines=[pairs[s["key"]][0] for s in fixed],
            )
        except AllocationError as exc:
            raise AllocationError(f"Contract {contract.number} renewal: {exc.detail}") from None
        allocations = {a.key: a for a in result}
    created = []
    for spec in specs:
        if spec["key"] in existing:
            created.append(existing[spec["key"]])
            continue
        allocation = allocations.get(spec["key"])
        source, entry = pairs[spec["key"]][1] if spec["key"] in pairs else ("variable consideration", None)
        po = obligation_create_from_spec(contract, spec, allocation, source, entry, ssp_as_of=term_start)
        created.append(po)
    audit_record(
        actor=actor,
        action=AuditAction.OBLIGATIONS_ALLOCATED,
        obj=contract,
        changes={
            "version": contract.version,
            "renewal_from": term_start,
            "transaction_price": sum((s["fixed"] for s in fixed), ZERO),
            "allocations": [
                {"po": po.key, "ssp": po.ssp, "allocated": po.allocated_amount, "source": po.ssp_source}
                for po in created
            ],
        },
    )
    return created
