"""Performance obligations from contract lines, SSP from the book, allocation (ASC 606 step 4)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction

from billing.contracts.services import current_lines, line_fixed_value
from billing.contracts.terms import line_kinds, line_range, plan_versions_for_line
from billing.schedule import USAGE
from compliance.audit import audit_record
from revops.contracts.models import Contract, ContractLine, Product, RecognitionMethod
from revrec.allocation import AllocationError, AllocationLine, allocate
from revrec.models import PerformanceObligation, SSPEntry

ZERO = Decimal(0)


def ssp_in_force(product: Product, currency: str, on: date) -> SSPEntry | None:
    return (
        SSPEntry.objects.filter(
            product=product, currency=currency, status=SSPEntry.Status.APPROVED, effective_from__lte=on
        )
        .order_by("-effective_from", "-version")
        .first()
    )


def _usage_product(line: ContractLine) -> Product:
    for version in plan_versions_for_line(line):
        for charge in version.charges:
            if charge.meter is not None and charge.product:
                product = Product.objects.filter(code=charge.product).first()
                if product:
                    return product
    return line.product


def obligation_specs(contract: Contract) -> list[dict]:
    """One PO per distinct line in service; a plan line with metered charges also gets a usage PO
    that carries its variable consideration (ASC 606-10-32-40)."""
    specs = []
    for line in current_lines(contract).values():
        start, end = line_range(line, contract)
        if end <= start:
            continue
        kinds = line_kinds(line)
        fixed = line_fixed_value(line, contract)
        method = line.recognition or line.product.recognition
        if line.billing != ContractLine.Billing.USAGE and (
            fixed or line.billing == ContractLine.Billing.ONE_TIME
        ):
            specs.append(
                {
                    "key": line.key,
                    "lines": [line],
                    "product": line.product,
                    "fixed": fixed,
                    "recognition": method
                    if method != RecognitionMethod.USAGE
                    else RecognitionMethod.RATABLE_DAILY,
                    "start": start,
                    "end": end,
                    "variable": False,
                    "ssp_override": line.ssp,
                    "ssp_reason": line.ssp_reason,
                }
            )
        if USAGE in kinds:
            specs.append(
                {
                    "key": f"{line.key}-usage" if line.billing != ContractLine.Billing.USAGE else line.key,
                    "lines": [line],
                    "product": _usage_product(line),
                    "fixed": ZERO,
                    "recognition": RecognitionMethod.USAGE,
                    "start": start,
                    "end": end,
                    "variable": True,
                    "ssp_override": None,
                    "ssp_reason": "",
                }
            )
    return specs


@transaction.atomic
def obligations_create(*, contract: Contract, actor=None) -> list[PerformanceObligation]:
    """Create (or re-create for a new contract version) the POs and allocate the transaction price.
    Refuses with a field error when no valid allocation exists; nothing is saved then."""
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    specs = obligation_specs(contract)
    fixed_specs = [s for s in specs if not s["variable"]]
    alloc_lines, sources = [], {}
    for spec in fixed_specs:
        entry = None
        if spec["ssp_override"] is not None:
            alloc_lines.append(AllocationLine(key=spec["key"], ssp=spec["ssp_override"]))
            sources[spec["key"]] = (f"override: {spec['ssp_reason'] or 'contract line'}", None)
            continue
        entry = ssp_in_force(spec["product"], contract.currency, contract.start_date)
        if entry is None:
            alloc_lines.append(AllocationLine(key=spec["key"], ssp=spec["fixed"]))
            sources[spec["key"]] = ("contract price (no SSP in the book)", None)
        elif entry.method == SSPEntry.Method.RESIDUAL:
            alloc_lines.append(
                AllocationLine(key=spec["key"], residual=True, ssp_low=entry.ssp_low, ssp_high=entry.ssp_high)
            )
            sources[spec["key"]] = (f"SSP book v{entry.version} (residual)", entry)
        elif entry.ssp is not None:
            alloc_lines.append(AllocationLine(key=spec["key"], ssp=entry.ssp))
            sources[spec["key"]] = (f"SSP book v{entry.version} ({entry.get_method_display()})", entry)
        else:
            alloc_lines.append(
                AllocationLine(key=spec["key"], ssp_low=entry.ssp_low, ssp_high=entry.ssp_high)
            )
            sources[spec["key"]] = (f"SSP book v{entry.version} range midpoint", entry)
    price = sum((s["fixed"] for s in fixed_specs), ZERO)
    try:
        allocations = (
            {
                a.key: a
                for a in allocate(currency=contract.currency, transaction_price=price, lines=alloc_lines)
            }
            if alloc_lines
            else {}
        )
    except AllocationError as exc:
        raise AllocationError(
            f"Contract {contract.number}: {exc.detail}", field=exc.errors[0].field if exc.errors else None
        ) from None
    PerformanceObligation.objects.filter(
        contract=contract, status=PerformanceObligation.Status.ACTIVE
    ).exclude(contract_version=contract.version).update(status=PerformanceObligation.Status.SUPERSEDED)
    created = []
    for spec in specs:
        existing = PerformanceObligation.objects.filter(
            contract=contract, contract_version=contract.version, key=spec["key"]
        ).first()
        if existing:
            created.append(existing)
            continue
        allocation = allocations.get(spec["key"])
        source, entry = sources.get(spec["key"], ("variable consideration", None))
        po = PerformanceObligation.objects.create(
            contract=contract,
            contract_version=contract.version,
            key=spec["key"],
            product=spec["product"],
            currency=contract.currency,
            recognition=spec["recognition"],
            start=spec["start"],
            end=spec["end"],
            ssp=allocation.ssp if allocation else ZERO,
            ssp_source=source,
            ssp_entry=entry,
            fixed_price=spec["fixed"],
            allocated_amount=allocation.allocated if allocation else ZERO,
            variable=spec["variable"],
        )
        po.lines.set(spec["lines"])
        created.append(po)
    audit_record(
        actor=actor,
        action="obligations.allocated",
        obj=contract,
        changes={
            "version": contract.version,
            "transaction_price": price,
            "allocations": [
                {"po": po.key, "ssp": po.ssp, "allocated": po.allocated_amount, "source": po.ssp_source}
                for po in created
            ],
        },
    )
    return created


def active_obligations(contract: Contract):
    return PerformanceObligation.objects.filter(contract=contract, status=PerformanceObligation.Status.ACTIVE)


def obligation_for_invoice_line(
    line, obligations: list[PerformanceObligation]
) -> PerformanceObligation | None:
    """Usage-type lines belong to the line's usage PO; fees, one-time items and prorations to its fixed
    PO; a line without a contract line (a coupon) to the contract's largest fixed PO."""
    variable_kinds = {"usage", "true_up", "usage_adjustment"}
    wants_variable = line.kind in variable_kinds
    if line.contract_line_id:
        candidates = [
            po
            for po in obligations
            if any(cl.pk == line.contract_line_id or _same_key(cl, line) for cl in po.lines.all())
        ]
        exact = [po for po in candidates if po.variable == wants_variable]
        if exact:
            return exact[0]
        if candidates:
            return candidates[0]
    fixed = sorted((po for po in obligations if not po.variable), key=lambda po: -po.allocated_amount)
    return fixed[0] if fixed else (obligations[0] if obligations else None)


def _same_key(contract_line, invoice_line) -> bool:
    return invoice_line.contract_line is not None and contract_line.key == invoice_line.contract_line.key
