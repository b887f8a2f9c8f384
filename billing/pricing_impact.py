"""The impact view: re-rate customers' last complete period under a draft (or any) price version and
compare with what the versions in force charged, before the new prices are published. Nothing saved;
the same pure pricing code and SQL usage as the billing run.

It reads the catalog, the contracts on the plan and their usage, so it sits above all three; the
catalog asks for it (publication, a draft's rate check, the approver's preview) through the hook in
``billing.catalog.impact``, which :func:`register` fills when billing is ready."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from billing.catalog import impact as catalog_impact
from billing.catalog.selectors import version_def
from billing.contracts.models import Contract, ContractLine
from billing.contracts.ramp import is_ramp, priced_as, step_ranges
from billing.contracts.terms import _override, line_range, plan_interval, plan_versions_for_line
from billing.invoicing.usage_source import SqlUsage
from billing.models import PlanVersion
from billing.periods import Period, period_containing
from billing.pricing import VersionDef, rate_period
from billing.rating import RatingError
from revops.errors import FieldError, ValidationFailed
from revops.money import round_money

ZERO = Decimal(0)


def with_line_override(line: ContractLine, version: VersionDef) -> VersionDef:
    """A version definition with the line's price override applied (as billing would charge it)."""
    return VersionDef(
        **{**version.__dict__, "charges": tuple(_override(c, line.unit_price) for c in version.charges)}
    )


def _last_complete_period(contract: Contract, line: ContractLine, as_of: date) -> Period | None:
    current = period_containing(
        as_of, anchor_date=contract.start_date, interval=plan_interval(line), anchor=contract.billing_anchor
    )
    previous = period_containing(
        current.start - timedelta(days=1),
        anchor_date=contract.start_date,
        interval=plan_interval(line),
        anchor=contract.billing_anchor,
    )
    start, end = line_range(line, contract)
    clipped_start, clipped_end = max(previous.start, start), min(previous.end, end)
    return Period(clipped_start, clipped_end) if clipped_end > clipped_start else None


def _rate(
    versions, *, line: ContractLine, contract: Contract, period: Period, full: Period, usage
) -> Decimal:
    codes = sorted({c.code for v in versions for c in v.charges if c.meter is None})
    drafts = rate_period(
        versions,
        start=period.start,
        end=period.end,
        tz_name=contract.customer.timezone or "UTC",
        usage=usage,
        policy=line.plan.version_policy,
        pinned_on=contract.start_date,
        quantities={c: line.quantity for c in codes},
        period=(full.start, full.end),
    )
    return sum((d.amount for d in drafts), ZERO)


def _price_field(charge, index: int) -> str:
    properties = getattr(charge, "properties", None) or {}
    for name in ("unit_amount", "amount", "tiers", "package_amount"):
        if name in properties:
            return f"charges[{index}].properties.{name}"
    return f"charges[{index}].properties"


def _rate_candidate(candidate: VersionDef, *, line: ContractLine, **kw) -> Decimal:
    """What ``candidate`` charges the line; a price it cannot rate (quantity × price beyond what an
    invoice holds: 1e30, 1e400) is a 400 naming each charge at fault, not a 500."""
    try:
        return _rate([with_line_override(line, candidate)], line=line, **kw)
    except RatingError as exc:
        errors = []
        for index, charge in enumerate(candidate.charges):
            alone = VersionDef(**{**candidate.__dict__, "charges": (charge,)})
            try:
                _rate([with_line_override(line, alone)], line=line, **kw)
            except RatingError as one:
                message = "; ".join(e.message for e in one.errors)
                errors.append(
                    FieldError(_price_field(charge, index), f"For contract {line.contract.number}: {message}")
                )
        if not errors:
            errors = [FieldError("charges", "; ".join(e.message for e in exc.errors))]
        raise ValidationFailed(errors[0].message, errors=errors) from None


def _rate_in_force(versions, *, line: ContractLine, **kw) -> Decimal:
    try:
        return _rate(versions, line=line, **kw)
    except RatingError as exc:
        message = "; ".join(e.message for e in exc.errors)
        raise ValidationFailed(
            f"The prices in force for contract {line.contract.number} cannot be rated: {message}",
            field="plan",
        ) from None


def version_impact(*, version: PlanVersion, as_of: date | None = None, customer=None) -> dict:
    """Per customer: what their last complete period cost under the versions in force, and what it would
    cost under ``version`` — totals, difference and percentage, plus the lines compared."""
    as_of = as_of or timezone.localdate()
    candidate = version_def(version)
    lines = ContractLine.objects.filter(
        plan=version.plan, contract__status__in=["active", "terminated"], superseded_by__isnull=True
    ).select_related("contract", "contract__customer", "plan", "product")
    if customer is not None:
        lines = lines.filter(contract__customer=customer)
    rows: dict[int, dict] = {}
    for line in lines:
        contract = line.contract
        period = _last_complete_period(contract, line, as_of)
        if period is None:
            continue
        if is_ramp(line):  # a ramp line pays the step in force (its first in a period across a step)
            steps = step_ranges(line, period.start, period.end)
            line = priced_as(line, steps[0][0]) if steps else line
        full = period_containing(
            period.start,
            anchor_date=contract.start_date,
            interval=plan_interval(line),
            anchor=contract.billing_anchor,
        )
        usage = SqlUsage(contract.customer, received_through=timezone.now())
        old = _rate_in_force(
            plan_versions_for_line(line), line=line, contract=contract, period=period, full=full, usage=usage
        )
        new = _rate_candidate(
            candidate,
            line=line,
            contract=contract,
            period=period,
            full=full,
            usage=usage,
        )
        row = rows.setdefault(
            contract.customer_id,
            {
                "customer": contract.customer.external_id,
                "name": contract.customer.name,
                "currency": contract.currency,
                "old": ZERO,
                "new": ZERO,
                "contracts": [],
            },
        )
        row["old"] += old
        row["new"] += new
        row["contracts"].append(
            {
                "contract": contract.number,
                "line": line.key,
                "period": [period.start, period.end],
                "old": old,
                "new": new,
            }
        )
    out = []
    for row in sorted(rows.values(), key=lambda r: r["name"]):
        delta = row["new"] - row["old"]
        pct = (delta * 100 / row["old"]).quantize(Decimal("0.1")) if row["old"] else None
        out.append(
            {
                **row,
                "delta": delta,
                "delta_pct": pct,
                "old": round_money(row["old"], row["currency"]),
                "new": round_money(row["new"], row["currency"]),
            }
        )
    totals = {"old": sum((r["old"] for r in out), ZERO), "new": sum((r["new"] for r in out), ZERO)}
    totals["delta"] = totals["new"] - totals["old"]
    return {
        "plan": version.plan.code,
        "version": version.number,
        "status": version.status,
        "as_of": as_of,
        "customers": out,
        "totals": totals,
    }


def affected_contracts(version: PlanVersion) -> set[str]:
    """The numbers of the contracts with a current line on the version's plan that runs past its
    effective date: the contracts whose price the version may change."""
    lines = ContractLine.objects.filter(plan=version.plan, superseded_by__isnull=True).select_related(
        "contract"
    )
    return {
        line.contract.number for line in lines if line_range(line, line.contract)[1] > version.effective_from
    }


def register() -> None:
    catalog_impact.register(affected_contracts=affected_contracts, version_impact=version_impact)
