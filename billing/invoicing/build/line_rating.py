"""Line rating: the invoice lines of one due item (fees, usage, a minimum true-up, one-time amounts),
priced by the pure engine (billing.pricing) and recorded with the usage selection they rated."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from django.db.models import Sum

from billing.catalog.reader import Catalog
from billing.contracts.models import Contract, ContractLine
from billing.contracts.ramp import is_ramp, priced_parts
from billing.contracts.terms import plan_versions_for_line
from billing.invoicing.usage_source import SqlUsage
from billing.models import Invoice, InvoiceLine
from billing.pricing import (
    ChargeDef,
    InMemoryUsage,
    LineDraft,
    VersionDef,
    local_midnight,
    rate_period,
    true_up_line,
    usage_asks,
    version_segments,
)
from billing.schedule import FEE_ADVANCE, FEE_ARREARS, ONE_TIME, USAGE, DueItem
from revops.money import round_money

ZERO = Decimal(0)


def _group_exclusions(charge: ChargeDef, dimension: dict) -> tuple[dict, list[dict]]:
    """The (match, exclude) that select a filter group's events: first match wins."""
    earlier = []
    for group in charge.filters:
        if dict(group.match) == dimension:
            return dict(group.match), earlier
        earlier.append(dict(group.match))
    return {}, earlier


def persist_draft(
    draft: LineDraft,
    *,
    invoice: Invoice,
    line: ContractLine | None,
    kind: str,
    version_ids: dict,
    charges: dict[str, ChargeDef],
    usage: SqlUsage | None,
    tz: str,
    position: int,
    catalog: Catalog,
    received_after: datetime | None = None,
    adjusts: InvoiceLine | None = None,
) -> InvoiceLine:
    """The unsaved invoice line of a priced draft; a metered line records the events it rated (the
    window, the filter group's selection, their count and fingerprint)."""
    product_code = draft.product
    record = InvoiceLine(
        invoice=invoice,
        contract_line=line,
        kind=kind,
        charge_code=draft.charge,
        description=draft.description,
        dimension=dict(draft.dimension),
        quantity=draft.quantity,
        unit_amount=draft.unit_amount,
        amount=draft.amount,
        exact_amount=draft.exact_amount,
        service_start=draft.service_start,
        service_end=draft.service_end,
        breakdown=draft.breakdown_dicts(),
        price_version_id=version_ids.get(draft.version),
        position=position,
        adjusts=adjusts,
    )
    if product_code:
        record.product = catalog.product(product_code)
    if record.product is None and line is not None:
        record.product = line.product
    charge = charges.get(draft.charge)
    if usage is not None and charge is not None and charge.meter is not None:
        match, exclude = _group_exclusions(charge, dict(draft.dimension))
        start, end = local_midnight(draft.service_start, tz), local_midnight(draft.service_end, tz)
        count, digest = usage.fingerprint(charge.meter, match=match, exclude=exclude, start=start, end=end)
        record.meter = usage.meter(charge.meter.code)
        record.usage_start, record.usage_end = start, end
        record.received_after, record.received_through = received_after, usage.received_through
        record.event_match, record.event_exclude = match, exclude
        record.event_count, record.event_hash = count, digest
    return record


def _charges_by_code(versions: Sequence[VersionDef]) -> dict[str, ChargeDef]:
    out: dict[str, ChargeDef] = {}
    for version in versions:
        for charge in version.charges:
            out.setdefault(charge.code, charge)
    return out


def _fee_codes(versions: Sequence[VersionDef], timing: str) -> list[str]:
    return sorted({c.code for v in versions for c in v.charges if c.meter is None and c.timing == timing})


def _metered_codes(versions: Sequence[VersionDef]) -> list[str]:
    return sorted({c.code for v in versions for c in v.charges if c.meter is not None})


def _rating_inputs(*, contract: Contract, line: ContractLine, item: DueItem, catalog: Catalog):
    """(versions, version ids, charge codes, quantities, version policy) of a fee or usage item."""
    if line.plan_id is None:
        charge = ChargeDef(
            code=line.key,
            model="standard",
            name=line.product.name,
            product=line.product.code,
            properties={"unit_amount": str(line.unit_price or ZERO)},
        )
        versions = [
            VersionDef(
                plan="",
                number=0,
                effective_from=contract.start_date,
                currency=contract.currency,
                charges=(charge,),
            )
        ]
        return versions, {}, [line.key], {line.key: line.quantity}, "on_effective_date"
    versions = plan_versions_for_line(line, catalog=catalog)
    codes = (
        _fee_codes(versions, "in_advance" if item.kind == FEE_ADVANCE else "in_arrears")
        if item.kind in (FEE_ADVANCE, FEE_ARREARS)
        else _metered_codes(versions)
    )
    quantities = {code: line.quantity for code in codes}
    return versions, catalog.version_ids(line.plan_id), codes, quantities, line.plan.version_policy


def _rate_item(versions, *, contract: Contract, item: DueItem, usage, codes, quantities, policy):
    return rate_period(
        versions,
        start=item.period.start,
        end=item.period.end,
        tz_name=contract.customer.timezone or "UTC",
        usage=usage,
        policy=policy,
        pinned_on=contract.start_date,
        quantities=quantities,
        charges=codes,
        period=(item.full.start, item.full.end),
        true_up=False,
    )


def usage_questions(
    *, contract: Contract, line: ContractLine, item: DueItem, catalog: Catalog | None = None
) -> list[tuple]:
    """The usage aggregates pricing ``item`` will ask for, as (customer_id, meter, match, exclude,
    start, end): read from the charges' filter groups and version segments (pure, no query, no pricing)."""
    if item.kind != USAGE or line.plan_id is None:
        return []
    versions, _ids, codes, _quantities, policy = _rating_inputs(
        contract=contract, line=line, item=item, catalog=catalog or Catalog()
    )
    if not codes:
        return []
    asked = usage_asks(
        versions,
        start=item.period.start,
        end=item.period.end,
        tz_name=contract.customer.timezone or "UTC",
        policy=policy,
        pinned_on=contract.start_date,
        charges=codes,
    )
    return [(contract.customer_id, *question) for question in asked]


def _one_time_billed_before(line: ContractLine) -> Decimal:
    """What the earlier revisions of an amended one-time line have billed (invoices not void)."""
    earlier = []
    cursor = line.supersedes
    while cursor is not None:
        earlier.append(cursor.pk)
        cursor = cursor.supersedes
    if not earlier:
        return ZERO
    total = (
        InvoiceLine.objects.filter(contract_line_id__in=earlier, kind=InvoiceLine.Kind.ONE_TIME)
        .exclude(invoice__status=Invoice.Status.VOID)
        .aggregate(s=Sum("amount"))["s"]
    )
    return Decimal(total or 0)


def lines_for_item(
    *,
    invoice: Invoice,
    contract: Contract,
    line: ContractLine,
    item: DueItem,
    watermark: datetime,
    position: int,
    usage: SqlUsage | None = None,
    catalog: Catalog | None = None,
) -> list[InvoiceLine]:
    """The invoice lines of one due item, priced by the pure engine. ``usage``: where a usage item's
    events are read (default: :class:`SqlUsage` queries for the contract's customer); ``catalog``:
    where plans, products and meters are read (default: a fresh one)."""
    catalog = catalog or Catalog()
    tz = contract.customer.timezone or "UTC"
    if item.kind == ONE_TIME:
        amount = line.amount if line.amount is not None else (line.unit_price or ZERO) * line.quantity
        billed = _one_time_billed_before(line)
        breakdown = [{"description": "One-time amount", "amount": str(amount)}]
        if billed:
            # An amended one-time line replaces its price: bill (or credit) the difference once (§10).
            breakdown.append({"description": "Already billed for this item", "amount": str(-billed)})
            amount = Decimal(amount) - billed
        rounded = round_money(Decimal(amount), contract.currency)
        if billed and not rounded:
            return []
        return [
            InvoiceLine(
                invoice=invoice,
                contract_line=line,
                kind=InvoiceLine.Kind.ONE_TIME,
                product=line.product,
                charge_code=line.key,
                description=line.product.name,
                quantity=line.quantity,
                unit_amount=line.unit_price,
                amount=rounded,
                exact_amount=Decimal(amount),
                service_start=item.period.start,
                service_end=item.period.end,
                position=position,
                breakdown=breakdown,
            )
        ]
    if item.kind in (FEE_ADVANCE, FEE_ARREARS) and is_ramp(line):
        # A ramp line's period is rated part by part, each at the step in force (accounting.md §5a).
        out: list[InvoiceLine] = []
        for priced, part in priced_parts(line, item.period):
            out.extend(
                lines_for_item(
                    invoice=invoice,
                    contract=contract,
                    line=priced,
                    item=replace(item, period=part),
                    watermark=watermark,
                    position=position + len(out),
                    usage=usage,
                    catalog=catalog,
                )
            )
        return out
    versions, version_ids, codes, quantities, policy = _rating_inputs(
        contract=contract, line=line, item=item, catalog=catalog
    )
    charges = _charges_by_code(versions)
    if item.kind != USAGE:
        usage = None
    elif usage is None:
        usage = SqlUsage(contract.customer, received_through=watermark, catalog=catalog)
    drafts = (
        _rate_item(
            versions,
            contract=contract,
            item=item,
            usage=usage or InMemoryUsage([]),
            codes=codes,
            quantities=quantities,
            policy=policy,
        )
        if codes
        else []
    )
    if item.kind == USAGE and line.plan_id:
        shortfall = _true_up(versions, drafts, line=line, item=item, policy=policy, contract=contract)
        if shortfall:
            drafts.append(shortfall)
    kind_of = {
        FEE_ADVANCE: InvoiceLine.Kind.FEE,
        FEE_ARREARS: InvoiceLine.Kind.FEE,
        USAGE: InvoiceLine.Kind.USAGE,
    }
    out = []
    for offset, draft in enumerate(drafts):
        kind = InvoiceLine.Kind.TRUE_UP if draft.kind == "true_up" else kind_of[item.kind]
        out.append(
            persist_draft(
                draft,
                invoice=invoice,
                line=line,
                kind=kind,
                version_ids=version_ids,
                charges=charges,
                usage=usage,
                tz=tz,
                position=position + offset,
                catalog=catalog,
            )
        )
    return out


def _true_up(versions, usage_drafts, *, line, item, policy, contract) -> LineDraft | None:
    """Minimum commitment: compare everything rated for the line's period (fees already billed on
    their own invoices, plus this usage) with the minimum of the version in force at the period end."""
    segments = version_segments(
        versions, start=item.period.start, end=item.period.end, policy=policy, pinned_on=contract.start_date
    )
    if not segments or not segments[-1].version.minimum_amount:
        return None
    fees = (
        (
            InvoiceLine.objects.filter(
                contract_line=line,
                kind=InvoiceLine.Kind.FEE,
                service_start__gte=item.period.start,
                service_end__lte=item.period.end,
            )
            .exclude(invoice__status=Invoice.Status.VOID)
            .aggregate(s=Sum("amount"))["s"]
        )
        or ZERO
    )
    base = list(usage_drafts)
    if fees:
        base.append(
            LineDraft(
                "fee",
                "fees",
                None,
                "fees",
                {},
                Decimal(1),
                fees,
                fees,
                None,
                (),
                item.period.start,
                item.period.end,
                0,
            )
        )
    return true_up_line(segments[-1].version, base, service=(item.period.start, item.period.end))
