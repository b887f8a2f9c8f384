"""Performance obligations from contract lines, SSP from the book, allocation (ASC 606 step 4)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal, localcontext
from fractions import Fraction

from django.db import transaction

from billing.contracts.models import Contract, ContractLine, ContractTrial
from billing.contracts.terms import line_kinds, line_range, plan_interval, plan_versions_for_line
from billing.contracts.value import line_fixed_value
from billing.contracts.variable import variable_terms
from billing.schedule import USAGE, line_periods
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.parties.models import Product, RecognitionMethod
from revrec.allocation import AllocationError, AllocationLine, allocate
from revrec.models import PerformanceObligation, SSPEntry

ZERO = Decimal(0)
RATABLE = (RecognitionMethod.RATABLE_DAILY, RecognitionMethod.RATABLE_MONTHLY)


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
        over_time = method in (RecognitionMethod.RATABLE_DAILY, RecognitionMethod.RATABLE_MONTHLY)
        series = (
            latest.series
            if latest.series is not None
            else latest.billing == ContractLine.Billing.RECURRING and over_time
        )
        kinds = set().union(*(line_kinds(ln) for ln in revisions))
        terms = variable_terms(revisions)
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
                    "series": bool(series),
                    "ssp_override": latest.ssp,
                    "ssp_reason": latest.ssp_reason,
                    **_variable_spec(terms, latest),
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
                    "series": False,
                    "ssp_override": None,
                    "ssp_reason": "",
                }
            )
    return specs


def _variable_spec(terms: ContractLine | None, latest: ContractLine) -> dict:
    """The fixed PO's variable consideration (the constrained amount in the transaction price, §10a)
    and its measure of progress."""
    return {
        "variable_amount": (terms.variable_constrained or ZERO) if terms else ZERO,
        "variable_allocation": terms.variable_allocation if terms else "relative",
        "relates_specifically": terms.relates_specifically if terms else False,
        "consistent_with_objective": terms.consistent_with_objective if terms else False,
        "progress_measure": latest.progress_measure,
        "progress_places": latest.progress_places,
    }


def _with_variable(line: AllocationLine, spec: dict) -> AllocationLine:
    return replace(
        line,
        variable_amount=spec.get("variable_amount", ZERO),
        variable_allocation=spec.get("variable_allocation", "relative"),
        relates_specifically=spec.get("relates_specifically", False),
        consistent_with_objective=spec.get("consistent_with_objective", False),
    )


def line_units(line: ContractLine, contract: Contract, lo: date | None = None) -> Fraction:
    """SSP units a recurring line holds from ``lo``: quantity × billing periods, a part-period
    counted by days exactly as billing prorates it (accounting.md §10: an SSP entry is a unit price)."""
    start, end = line_range(line, contract)
    a = max(start, lo or start)
    if end <= a:
        return Fraction(0)
    periods = line_periods(
        grid_start=contract.start_date,
        anchor=contract.billing_anchor,
        interval=plan_interval(line),
        start=a,
        end=end,
    )
    return Fraction(line.quantity) * sum((Fraction(c.days, f.days) for c, f in periods), Fraction(0))


def _one_time(spec: dict) -> bool:
    return spec["lines"][-1].billing == ContractLine.Billing.ONE_TIME


def _share_from(spec: dict, since: date | None) -> Fraction:
    """The part of a one-time obligation still to come from ``since`` (by days when over time)."""
    start, end = spec["start"], spec["end"]
    if since is None or since <= start:
        return Fraction(1)
    if spec["recognition"] not in RATABLE or since >= end:
        return Fraction(0)
    return Fraction((end - since).days, (end - start).days)


def spec_units(spec: dict, contract: Contract, since: date | None = None) -> Fraction:
    """SSP units of an obligation (from ``since``): a one-time obligation holds the quantity of its
    latest revision (an amendment replaces its price), a recurring one its revisions' periods."""
    if _one_time(spec):
        return Fraction(spec["lines"][-1].quantity) * _share_from(spec, since)
    return sum((line_units(ln, contract, lo=since) for ln in spec["lines"]), Fraction(0))


def _dec(value: Fraction) -> Decimal:
    with localcontext(prec=34):
        return Decimal(value.numerator) / Decimal(value.denominator)


def _own_value(spec: dict, contract: Contract, since: date | None) -> Fraction:
    """The contract's own price of the obligation (from ``since``, in proportion to its units)."""
    if _one_time(spec):
        return Fraction(spec["fixed"]) * _share_from(spec, since)
    total = Fraction(0)
    for ln in spec["lines"]:
        value = Fraction(line_fixed_value(ln, contract))
        full = line_units(ln, contract)
        if value and full:
            total += value * line_units(ln, contract, lo=since) / full
    return total


def spec_ssp_line(
    spec: dict, contract: Contract, *, on: date, since: date | None = None
) -> tuple[AllocationLine, tuple[str, SSPEntry | None]]:
    """The allocation line of a spec with its SSP as of ``on`` (the contract start at inception, the
    modification date for a modification), for the whole obligation or only its part from ``since``:
    a book entry's unit SSP × the units held (§10); an override on the line is the SSP of the whole
    line (its part in proportion to units); no entry → the contract's own price."""
    key = spec["key"]
    units = spec_units(spec, contract, since)
    if spec["ssp_override"] is not None:
        full = spec_units(spec, contract)
        share = Fraction(1) if since is None or not full else units / full
        return AllocationLine(key=key, ssp=_dec(Fraction(spec["ssp_override"]) * share)), (
            f"override: {spec['ssp_reason'] or 'contract line'}",
            None,
        )
    entry = ssp_in_force(spec["product"], contract.currency, on)
    if entry is None:
        return AllocationLine(key=key, ssp=_dec(_own_value(spec, contract, since))), (
            "contract price (no SSP in the book)",
            None,
        )

    def scaled(value):
        return None if value is None else _dec(Fraction(value) * units)

    per = f" × {_dec(units).normalize():f} units" if units != 1 else ""
    if entry.method == SSPEntry.Method.RESIDUAL:
        line = AllocationLine(
            key=key, residual=True, ssp_low=scaled(entry.ssp_low), ssp_high=scaled(entry.ssp_high)
        )
        return line, (f"SSP book v{entry.version} (residual){per}", entry)
    if entry.ssp is not None:
        return AllocationLine(key=key, ssp=scaled(entry.ssp)), (
            f"SSP book v{entry.version} ({entry.get_method_display()}){per}",
            entry,
        )
    line = AllocationLine(key=key, ssp_low=scaled(entry.ssp_low), ssp_high=scaled(entry.ssp_high))
    return line, (f"SSP book v{entry.version} range midpoint{per}", entry)


def _ssp_line(spec: dict, contract: Contract) -> tuple[AllocationLine, tuple[str, SSPEntry | None]]:
    return spec_ssp_line(spec, contract, on=contract.start_date)


def allocate_specs(contract: Contract, specs: list[dict]) -> tuple[dict, dict]:
    """Relative-SSP allocation of the fixed consideration over the fixed POs, and of each line's
    constrained variable consideration by relative SSP or to its PO alone (IFRS 15.85, §10a)
    → ({key: Allocation}, sources).
    Raises AllocationError (422, nothing saved) when no valid allocation exists."""
    fixed_specs = [s for s in specs if not s["variable"]]
    pairs = [_ssp_line(spec, contract) for spec in fixed_specs]
    pairs = [
        (_with_variable(line, spec), source) for (line, source), spec in zip(pairs, fixed_specs, strict=True)
    ]
    sources = {line.key: source for line, source in pairs}
    if not pairs:
        return {}, sources
    # A priced trial is its own contract (accounting.md §12): allocated apart from the paid lines,
    # which the customer is not bound to until the trial converts (ASC 606-10-25-3).
    trial_keys = set(
        ContractTrial.objects.filter(contract=contract)
        .exclude(trial_line_key="")
        .values_list("trial_line_key", flat=True)
    )
    groups = [
        [
            (pair, spec)
            for pair, spec in zip(pairs, fixed_specs, strict=True)
            if (spec["key"] in trial_keys) == t
        ]
        for t in (False, True)
    ]
    allocations: dict = {}
    for group in (g for g in groups if g):
        price = sum((spec["fixed"] for _, spec in group), ZERO)
        try:
            result = allocate(
                currency=contract.currency, transaction_price=price, lines=[line for (line, _), _ in group]
            )
        except AllocationError as exc:
            raise AllocationError(
                f"Contract {contract.number}: {exc.detail}", field=exc.errors[0].field if exc.errors else None
            ) from None
        allocations.update({a.key: a for a in result})
    return allocations, sources


def obligation_create_from_spec(
    contract: Contract,
    spec: dict,
    allocation,
    source: str,
    entry: SSPEntry | None,
    *,
    ssp_as_of: date,
    variable_consideration: Decimal = ZERO,
) -> PerformanceObligation:
    """One performance obligation from its spec and its allocation (None for variable consideration
    only), linked to its contract lines; the caller writes the audit event."""
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
        variable_consideration=variable_consideration,
        inception_ssp=allocation.ssp if allocation else None,
        progress_measure=spec.get("progress_measure", "output"),
        progress_places=spec.get("progress_places"),
        series=spec["series"],
        ssp_as_of=ssp_as_of,
    )
    po.lines.set(spec["lines"])
    return po


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
        po = obligation_create_from_spec(
            contract,
            spec,
            allocation,
            source,
            entry,
            ssp_as_of=contract.start_date,
            variable_consideration=spec.get("variable_amount", ZERO),
        )
        created.append(po)
    from revrec.services.estimates import estimates_at_inception

    inception = estimates_at_inception(contract=contract)
    audit_record(
        actor=actor,
        action=AuditAction.OBLIGATIONS_ALLOCATED,
        obj=contract,
        changes={
            "version": contract.version,
            "transaction_price": sum((s["fixed"] + s.get("variable_amount", ZERO) for s in specs), ZERO),
            "allocations": [
                {"po": po.key, "ssp": po.ssp, "allocated": po.allocated_amount, "source": po.ssp_source}
                for po in created
            ],
            "variable_estimates": [
                {"line": e.line_key, "method": e.method, "estimate": e.estimate, "constrained": e.constrained}
                for e in inception
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
