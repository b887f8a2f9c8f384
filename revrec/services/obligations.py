"""Performance obligations from contract lines, SSP from the book, allocation (ASC 606 step 4)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction

from billing.contracts.services import line_fixed_value
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
    """One PO per distinct line key (all its revisions together: an amended line is the same promise
    at a new price), and a usage PO for plan lines with metered charges, which carries the variable
    consideration (ASC 606-10-32-40)."""
    by_key: dict[str, list[ContractLine]] = {}
    for line in contract.lines.select_related("product", "plan").order_by("key", "revision"):
        by_key.setdefault(line.key, []).append(line)
    specs = []
    for key, revisions in by_key.items():
        ranges = [r for r in (line_range(ln, contract) for ln in revisions) if r[1] > r[0]]
        if not ranges:
            continue
        start, end = min(a for a, _ in ranges), max(b for _, b in ranges)
        latest = revisions[-1]
        fixed = sum((line_fixed_value(ln, contract) for ln in revisions), ZERO)
        method = latest.recognition or latest.product.recognition
        kinds = set().union(*(line_kinds(ln) for ln in revisions))
        if latest.billing != ContractLine.Billing.USAGE and (
            fixed or latest.billing == ContractLine.Billing.ONE_TIME
        ):
            specs.append(
                {
                    "key": key,
                    "lines": revisions,
                    "product": latest.product,
                    "fixed": fixed,
                    "recognition": method
                    if method != RecognitionMethod.USAGE
                    else RecognitionMethod.RATABLE_DAILY,
                    "start": start,
                    "end": end,
                    "variable": False,
                    "ssp_override": latest.ssp,
                    "ssp_reason": latest.ssp_reason,
                }
            )
        if USAGE in kinds:
            specs.append(
                {
                    "key": f"{key}-usage" if latest.billing != ContractLine.Billing.USAGE else key,
                    "lines": revisions,
                    "product": _usage_product(latest),
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


def _ssp_line(spec: dict, contract: Contract) -> tuple[AllocationLine, tuple[str, SSPEntry | None]]:
    key = spec["key"]
    if spec["ssp_override"] is not None:
        return AllocationLine(key=key, ssp=spec["ssp_override"]), (
            f"override: {spec['ssp_reason'] or 'contract line'}",
            None,
        )
    entry = ssp_in_force(spec["product"], contract.currency, contract.start_date)
    if entry is None:
        return AllocationLine(key=key, ssp=spec["fixed"]), ("contract price (no SSP in the book)", None)
    if entry.method == SSPEntry.Method.RESIDUAL:
        line = AllocationLine(key=key, residual=True, ssp_low=entry.ssp_low, ssp_high=entry.ssp_high)
        return line, (f"SSP book v{entry.version} (residual)", entry)
    if entry.ssp is not None:
        return AllocationLine(key=key, ssp=entry.ssp), (
            f"SSP book v{entry.version} ({entry.get_method_display()})",
            entry,
        )
    line = AllocationLine(key=key, ssp_low=entry.ssp_low, ssp_high=entry.ssp_high)
    return line, (f"SSP book v{entry.version} range midpoint", entry)


def allocate_specs(contract: Contract, specs: list[dict]) -> tuple[dict, dict]:
    """Relative-SSP allocation of the fixed consideration over the fixed POs → ({key: Allocation}, sources).
    Raises AllocationError (422, nothing saved) when no valid allocation exists."""
    fixed_specs = [s for s in specs if not s["variable"]]
    pairs = [_ssp_line(spec, contract) for spec in fixed_specs]
    sources = {line.key: source for line, source in pairs}
    if not pairs:
        return {}, sources
    price = sum((s["fixed"] for s in fixed_specs), ZERO)
    try:
        result = allocate(
            currency=contract.currency, transaction_price=price, lines=[line for line, _ in pairs]
        )
    except AllocationError as exc:
        raise AllocationError(
            f"Contract {contract.number}: {exc.detail}", field=exc.errors[0].field if exc.errors else None
        ) from None
    return {a.key: a for a in result}, sources


@transaction.atomic
def obligations_create(*, contract: Contract, actor=None) -> list[PerformanceObligation]:
    """At activation: create the POs and allocate the transaction price (idempotent per version)."""
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    specs = obligation_specs(contract)
    allocations, sources = allocate_specs(contract, specs)
    created = []
    for spec in specs:
        existing = PerformanceObligation.objects.filter(
            contract=contract, key=spec["key"], status=PerformanceObligation.Status.ACTIVE
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
            "transaction_price": sum((s["fixed"] for s in specs), ZERO),
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
