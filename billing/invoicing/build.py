"""Build invoices: one contract, one billing date, one transaction.

The pure pricing code (billing.pricing) computes every amount; this service loads, calls, persists.
Each billed (contract line, period, kind) gets a ``BillingClaim`` row in the same transaction —
the unique constraint on it is what makes a second invoice for the same period impossible.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from django.db import DatabaseError, connection, transaction
from django.db.models import Sum
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from billing.contracts.terms import (
    catalog_memo,
    catalog_read,
    line_terms,
    plan_interval,
    plan_versions_for_line,
)
from billing.invoicing.usage_source import PreparedUsage, RecordingUsage, SqlUsage
from billing.models import (
    BillingClaim,
    Charge,
    CouponRedemption,
    Invoice,
    InvoiceLine,
    PendingCharge,
    PlanVersion,
)
from billing.periods import Period, period_containing
from billing.pricing import (
    ChargeDef,
    InMemoryUsage,
    LineDraft,
    VersionDef,
    local_midnight,
    rate_charge,
    rate_period,
    true_up_line,
)
from billing.rating import apply_discount
from billing.schedule import FEE_ADVANCE, FEE_ARREARS, ONE_TIME, USAGE, DueItem, due_items
from billing.usage.aggregation import usage_watermark
from compliance.audit import audit_record, audit_record_many
from revops.contracts.models import Contract, ContractLine
from revops.contracts.services.customers import default_legal_entity
from revops.errors import Conflict
from revops.money import round_money

ZERO = Decimal(0)
BILLABLE_CONTRACT_STATUSES = (Contract.Status.ACTIVE, Contract.Status.TERMINATED, Contract.Status.EXPIRED)
FINAL_STATUSES = (Invoice.Status.FINALIZED, Invoice.Status.PAID)


def _version_ids(plan_id: int) -> dict[int, int]:
    return catalog_read(
        ("version_ids", plan_id),
        lambda: dict(PlanVersion.objects.filter(plan_id=plan_id).values_list("number", "id")),
    )


def _product(code: str):
    from revops.contracts.models import Product

    return catalog_read(("product", code), lambda: Product.objects.filter(code=code).first())


def _group_exclusions(charge: ChargeDef, dimension: dict) -> tuple[dict, list[dict]]:
    """The (match, exclude) that select a filter group's events: first match wins."""
    earlier = []
    for group in charge.filters:
        if dict(group.match) == dimension:
            return dict(group.match), earlier
        earlier.append(dict(group.match))
    return {}, earlier


def _persist_draft(
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
    received_after: datetime | None = None,
    adjusts: InvoiceLine | None = None,
) -> InvoiceLine:
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
        record.product = _product(product_code)
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


def _rating_inputs(*, contract: Contract, line: ContractLine, item: DueItem):
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
    versions = plan_versions_for_line(line)
    codes = (
        _fee_codes(versions, "in_advance" if item.kind == FEE_ADVANCE else "in_arrears")
        if item.kind in (FEE_ADVANCE, FEE_ARREARS)
        else _metered_codes(versions)
    )
    quantities = {code: line.quantity for code in codes}
    return versions, _version_ids(line.plan_id), codes, quantities, line.plan.version_policy


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


def usage_questions(*, contract: Contract, line: ContractLine, item: DueItem) -> list[tuple]:
    """The usage aggregates pricing ``item`` will ask for, as (customer_id, meter, match, exclude,
    start, end): found by pricing it once against a :class:`RecordingUsage` (pure, no query)."""
    if item.kind != USAGE or line.plan_id is None:
        return []
    versions, _ids, codes, quantities, policy = _rating_inputs(contract=contract, line=line, item=item)
    if not codes:
        return []
    recorder = RecordingUsage()
    _rate_item(
        versions,
        contract=contract,
        item=item,
        usage=recorder,
        codes=codes,
        quantities=quantities,
        policy=policy,
    )
    return [(contract.customer_id, *asked) for asked in recorder.asked]


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
) -> list[InvoiceLine]:
    """The invoice lines of one due item, priced by the pure engine. ``usage``: where a usage item's
    events are read (default: :class:`SqlUsage` queries for the contract's customer)."""
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
    versions, version_ids, codes, quantities, policy = _rating_inputs(contract=contract, line=line, item=item)
    charges = _charges_by_code(versions)
    if item.kind != USAGE:
        usage = None
    elif usage is None:
        usage = SqlUsage(contract.customer, received_through=watermark)
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
            _persist_draft(
                draft,
                invoice=invoice,
                line=line,
                kind=kind,
                version_ids=version_ids,
                charges=charges,
                usage=usage,
                tz=tz,
                position=position + offset,
            )
        )
    return out


def _true_up(versions, usage_drafts, *, line, item, policy, contract) -> LineDraft | None:
    """Minimum commitment: compare everything rated for the line's period (fees already billed on
    their own invoices, plus this usage) with the minimum of the version in force at the period end."""
    from billing.pricing import version_segments

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


# --- late usage ------------------------------------------------------------------------------------


def late_usage_adjustments(
    *, invoice: Invoice, contract: Contract, watermark: datetime, position: int, has_final: bool | None = None
) -> list[InvoiceLine]:
    """Usage received after an invoice was finalized: re-rate the original line's window with every
    event received up to ``watermark`` and bill the difference as an adjustment on this invoice.
    ``has_final``: whether the contract has a finalized (or paid) invoice, when the caller knows."""
    if has_final is None:
        has_final = Invoice.objects.filter(contract=contract, status__in=FINAL_STATUSES).exists()
    if not has_final:
        return []  # nothing finalized yet, so nothing to adjust: skip the wider query below
    originals = (
        InvoiceLine.objects.filter(
            invoice__contract=contract,
            invoice__status__in=FINAL_STATUSES,
            kind=InvoiceLine.Kind.USAGE,
            meter__isnull=False,
        )
        .select_related("contract_line", "contract_line__plan", "price_version", "meter")
        .prefetch_related("adjustments")
    )
    tz = contract.customer.timezone or "UTC"
    out: list[InvoiceLine] = []
    for original in originals:
        adjustments = [a for a in original.adjustments.all() if a.invoice.status != Invoice.Status.VOID]
        covered = max([original.received_through, *[a.received_through for a in adjustments]])
        if covered is None or covered >= watermark:
            continue
        probe = SqlUsage(contract.customer, received_through=watermark, received_after=covered)
        charge_model = Charge.objects.filter(
            version=original.price_version, code=original.charge_code
        ).first()
        if charge_model is None:
            continue
        from billing.catalog.selectors import charge_def

        charge = charge_def(charge_model)
        qs = probe.queryset(
            charge.meter,
            match=original.event_match,
            exclude=original.event_exclude,
            start=original.usage_start,
            end=original.usage_end,
        )
        if not qs.exists():
            continue
        full = SqlUsage(contract.customer, received_through=watermark)
        redone = rate_charge(
            charge,
            currency=contract.currency,
            usage=full,
            start=original.usage_start,
            end=original.usage_end,
            service=(original.service_start, original.service_end),
            version=original.price_version.number,
            quantity=original.contract_line.quantity,
        )
        new = next((d for d in redone if dict(d.dimension) == original.dimension), None)
        if new is None:
            continue
        billed = original.amount + sum((a.amount for a in adjustments), ZERO)
        billed_qty = original.quantity + sum((a.quantity for a in adjustments), ZERO)
        delta = new.amount - billed
        draft = LineDraft(
            kind="usage",
            charge=original.charge_code,
            product=None,
            description=f"Late usage for {original.service_start:%d %b} – {original.service_end:%d %b %Y}: {original.description}",
            dimension=original.dimension,
            quantity=new.quantity - billed_qty,
            amount=delta,
            exact_amount=new.exact_amount - (original.exact_amount or original.amount),
            unit_amount=original.unit_amount,
            breakdown=new.breakdown,
            service_start=original.service_start,
            service_end=original.service_end,
            version=original.price_version.number,
        )
        record = _persist_draft(
            draft,
            invoice=invoice,
            line=original.contract_line,
            kind=InvoiceLine.Kind.USAGE_ADJUSTMENT,
            version_ids={draft.version: original.price_version_id},
            charges={charge.code: charge},
            usage=probe,
            tz=tz,
            position=position + len(out),
            received_after=covered,
            adjusts=original,
        )
        record.product = original.product
        record.breakdown = [
            *draft.breakdown_dicts(),
            {"description": "Less already billed", "amount": str(-billed)},
        ]
        out.append(record)
    return out


# --- coupons, totals -------------------------------------------------------------------------------


def coupon_lines(
    *,
    invoice: Invoice,
    contract: Contract,
    lines: Sequence[InvoiceLine],
    position: int,
    redemptions: Sequence[CouponRedemption] | None = None,
) -> list[InvoiceLine]:
    """Discount lines of the contract's coupons. ``redemptions``: the contract's redemptions (with
    their coupon), when the caller loaded them; those applied after the billing date are ignored."""
    base = sum((ln.amount for ln in lines if ln.kind != InvoiceLine.Kind.DISCOUNT), ZERO)
    out = []
    if redemptions is None:
        redemptions = CouponRedemption.objects.filter(
            contract=contract, applied_from__lte=invoice.billing_date
        ).select_related("coupon")
    for redemption in redemptions:
        if redemption.applied_from > invoice.billing_date:
            continue
        coupon = redemption.coupon
        if not coupon.active or base <= 0:
            continue
        if coupon.kind == coupon.Kind.FIXED and coupon.currency != contract.currency:
            continue
        previous = InvoiceLine.objects.filter(
            invoice__contract=contract, kind=InvoiceLine.Kind.DISCOUNT, charge_code=coupon.code
        )
        if invoice.pk is not None:  # a new invoice (not saved yet) has no discount of its own
            previous = previous.exclude(invoice=invoice)
        used = previous.exclude(invoice__status=Invoice.Status.VOID).values("invoice").distinct().count()
        limit = {"once": 1, "repeating": coupon.duration_periods or 0, "forever": None}[coupon.duration]
        if limit is not None and used >= limit:
            continue
        discount = apply_discount(base, kind=coupon.kind, value=coupon.value, currency=contract.currency)
        if discount <= 0:
            continue
        label = (
            f"{coupon.value}% off"
            if coupon.kind == coupon.Kind.PERCENT
            else f"{coupon.value} {coupon.currency} off"
        )
        out.append(
            InvoiceLine(
                invoice=invoice,
                kind=InvoiceLine.Kind.DISCOUNT,
                charge_code=coupon.code,
                description=f"Coupon {coupon.name} ({label})",
                quantity=Decimal(1),
                amount=-discount,
                exact_amount=-discount,
                service_start=invoice.period_start,
                service_end=invoice.period_end,
                position=position + len(out),
                breakdown=[{"description": f"{label} of {base}", "amount": str(-discount)}],
            )
        )
        base -= discount
    return out


def recompute_totals(invoice: Invoice, lines: Sequence[InvoiceLine] | None = None) -> None:
    """Totals from the invoice's lines (``lines``: all of them, when the caller already has them)."""
    _set_totals(invoice, list(invoice.lines.all()) if lines is None else list(lines))
    invoice.save()


def _set_totals(invoice: Invoice, lines: list[InvoiceLine]) -> None:
    """Totals from all of the invoice's lines, set on the instance (not saved)."""
    subtotal = sum((ln.amount for ln in lines), ZERO)
    taxable = sum((ln.amount for ln in lines if ln.taxable), ZERO)
    invoice.discount = -sum((ln.amount for ln in lines if ln.kind == InvoiceLine.Kind.DISCOUNT), ZERO)
    invoice.subtotal = subtotal
    invoice.tax_rate = invoice.customer.tax_rate
    invoice.tax = round_money(taxable * invoice.tax_rate / Decimal(100), invoice.currency)
    invoice.total = invoice.subtotal + invoice.tax - invoice.credits_applied
    if lines:
        invoice.period_start = min(ln.service_start for ln in lines)
        invoice.period_end = max(ln.service_end for ln in lines)


# --- the service -----------------------------------------------------------------------------------


def contract_due_items(
    contract: Contract,
    *,
    as_of: date,
    lines: Sequence[ContractLine] | None = None,
    claimed: set[tuple] | None = None,
    today: date | None = None,
) -> list[DueItem]:
    """Items due by ``as_of`` that no invoice has claimed, and never beyond the current period plus
    one billing interval from ``today`` (default: today). ``lines`` (with plan and product) and
    ``claimed`` ((contract_line_id, period_start, kind) of the contract's claims) may be passed by a
    caller that loaded them already, for many contracts at once."""
    if lines is None:
        lines = list(contract.lines.select_related("plan", "product"))
    terms = [line_terms(line, contract) for line in lines]
    items = due_items(
        terms,
        grid_start=contract.start_date,
        anchor=contract.billing_anchor,
        as_of=as_of,
        today=today or timezone.localdate(),
    )
    # A one-time line replaced by an amendment is billed by its latest revision (the difference), so
    # an earlier revision not yet billed is never billed on its own (accounting.md §10).
    replaced = {line.supersedes_id for line in lines if line.supersedes_id}
    items = [i for i in items if not (i.kind == ONE_TIME and i.line_id in replaced)]
    if claimed is None:
        claimed = set(
            BillingClaim.objects.filter(contract_line__contract=contract).values_list(
                "contract_line_id", "period_start", "kind"
            )
        )
    items = [i for i in items if (i.line_id, i.period.start, i.kind) not in claimed]
    return _redate_replaced_one_time(contract, items, lines=lines, replaced=replaced, as_of=as_of)


def _redate_replaced_one_time(
    contract: Contract, items: list[DueItem], *, lines, replaced: set, as_of: date
) -> list[DueItem]:
    """The difference of an amended one-time line (a revision superseding an earlier one) is billed once
    (accounting.md §10) — on its own date if that invoice is still open, else on the next invoice:
    the contract's next billing date after it with something due, or its own invoice dated ``as_of``
    (like a pending charge whose date is already invoiced). Its claim keeps the revision's start, so
    moving its billing date never bills it twice."""
    superseding = {line.pk for line in lines if line.supersedes_id}
    moved = [i for i in items if i.kind == ONE_TIME and i.line_id in superseding]
    if not moved:
        return items
    final_dates = set(
        Invoice.objects.filter(contract=contract, billing_date__in={i.billing_date for i in moved})
        .exclude(status__in=[Invoice.Status.DRAFT, Invoice.Status.VOID])
        .values_list("billing_date", flat=True)
    )
    result = []
    for item in items:
        if item in moved and item.billing_date in final_dates:
            later = sorted(
                i.billing_date for i in items if i not in moved and i.billing_date > item.billing_date
            )
            if not later and as_of <= item.billing_date:
                continue  # due on the next billing date after its own
            item = replace(item, billing_date=later[0] if later else as_of)
        result.append(item)
    return result


@transaction.atomic
def invoice_build(
    *, contract_id: int, billing_date: date, run=None, now: datetime | None = None, actor=None
) -> Invoice | None:
    """Create the draft invoice of ``contract`` for ``billing_date`` with every item due on that date
    that no invoice has claimed yet, plus pending prorations and late-usage adjustments. Returns
    None when there is nothing to bill. Safe to call twice: the second call finds everything claimed."""
    return invoices_build([(contract_id, billing_date)], run=run, now=now, actor=actor)[
        (contract_id, billing_date)
    ]


Request = tuple[int, date]  # (contract id, billing date)


@dataclass
class BuildContext:
    """What the invoices of a set of contracts need, read with one query per kind of record for all of
    them, AFTER their rows are locked: nothing read here can be billed by anyone else before the
    caller's transaction ends (every invoice build locks its contract first)."""

    watermark: datetime
    contracts: dict[int, Contract]
    lines: dict[int, list[ContractLine]]
    claimed: dict[int, set[tuple]]
    pending: dict[int, list[PendingCharge]]  # unbilled, up to the latest billing date requested
    existing: dict[Request, Invoice]
    finalized: set[int]  # contracts with a finalized or paid invoice (late usage is possible)
    redemptions: dict[int, list[CouponRedemption]]
    usage: PreparedUsage


def lines_and_claims(contract_ids) -> tuple[dict[int, list[ContractLine]], dict[int, set[tuple]]]:
    """Every line (all revisions) and every billing claim ``(line id, period start, kind)`` of the
    given contracts, by contract id: two queries for any number of contracts (planning and building
    find the due items of many contracts at once)."""
    lines: dict[int, list[ContractLine]] = defaultdict(list)
    for line in ContractLine.objects.filter(contract_id__in=contract_ids).select_related("plan", "product"):
        lines[line.contract_id].append(line)
    claimed: dict[int, set[tuple]] = defaultdict(set)
    for contract_id, *claim in BillingClaim.objects.filter(
        contract_line__contract_id__in=contract_ids
    ).values_list("contract_line__contract_id", "contract_line_id", "period_start", "kind"):
        claimed[contract_id].add(tuple(claim))
    return lines, claimed


def build_context(requests: Sequence[Request], *, watermark: datetime) -> BuildContext:
    """Lock the requested contracts (one statement, in id order: two batches wait for each other
    instead of deadlocking) and load everything their invoices read."""
    ids = sorted({contract_id for contract_id, _ in requests})
    dates = sorted({billing_date for _, billing_date in requests})
    contracts = {
        c.pk: c
        for c in Contract.objects.select_for_update(of=("self",))
        .select_related("customer", "customer__legal_entity")
        .filter(pk__in=ids)
        .order_by("pk")
    }
    lines, claimed = lines_and_claims(ids)
    pending: dict[int, list[PendingCharge]] = defaultdict(list)
    for charge in (
        PendingCharge.objects.select_for_update(of=("self",))
        .select_related("contract_line", "contract_line__product")
        .filter(contract_id__in=ids, invoice_line__isnull=True, service_start__lte=dates[-1])
    ):
        pending[charge.contract_id].append(charge)
    existing = {
        (invoice.contract_id, invoice.billing_date): invoice
        for invoice in Invoice.objects.select_for_update().filter(contract_id__in=ids, billing_date__in=dates)
    }
    finalized = set(
        Invoice.objects.filter(contract_id__in=ids, status__in=FINAL_STATUSES)
        .values_list("contract_id", flat=True)
        .distinct()
    )
    redemptions: dict[int, list[CouponRedemption]] = defaultdict(list)
    for redemption in CouponRedemption.objects.filter(
        contract_id__in=ids, applied_from__lte=dates[-1]
    ).select_related("coupon"):
        redemptions[redemption.contract_id].append(redemption)
    return BuildContext(
        watermark=watermark,
        contracts=contracts,
        lines=lines,
        claimed=claimed,
        pending=pending,
        existing=existing,
        finalized=finalized,
        redemptions=redemptions,
        usage=PreparedUsage(received_through=watermark),
    )


@dataclass
class _Due:
    """What one (contract, billing date) has to bill, before pricing."""

    contract: Contract
    billing_date: date
    items: list[DueItem]
    pending: list[PendingCharge]
    existing: Invoice | None


@dataclass
class InvoiceDraft:
    """One invoice priced in memory, written by :func:`write_drafts`."""

    invoice: Invoice  # new (not saved) or the existing draft, totals set
    topped_up: bool  # an existing draft gets the new lines
    claims: list[BillingClaim]
    lines: list[InvoiceLine]  # new lines, discounts included, in position order
    consumed: list[tuple[PendingCharge, InvoiceLine]]  # pending charges and their proration lines
    changes: dict  # the audit event's


def _due(ctx: BuildContext, contract_id: int, billing_date: date) -> _Due | None:
    contract = ctx.contracts.get(contract_id)
    if contract is None:
        raise Contract.DoesNotExist(f"Contract {contract_id} does not exist.")
    if contract.status not in BILLABLE_CONTRACT_STATUSES:
        return None
    items = [
        i
        for i in contract_due_items(
            contract, as_of=billing_date, lines=ctx.lines[contract_id], claimed=ctx.claimed[contract_id]
        )
        if i.billing_date == billing_date
    ]
    pending = [c for c in ctx.pending[contract_id] if c.service_start <= billing_date]
    existing = ctx.existing.get((contract_id, billing_date))
    if existing is not None and existing.status != Invoice.Status.DRAFT:
        if items or pending:
            raise Conflict(
                f"Invoice {existing.number} for {billing_date} is already finalized; "
                "new items for that date need a new billing date (run billing again later)."
            )
        return None
    return _Due(contract, billing_date, items, pending, existing)


def _draft(ctx: BuildContext, due: _Due, *, run) -> InvoiceDraft | None:
    contract, billing_date, items, pending, existing = (
        due.contract,
        due.billing_date,
        due.items,
        due.pending,
        due.existing,
    )
    watermark = ctx.watermark
    has_final = contract.pk in ctx.finalized
    if not items and not pending and existing is None:
        probe = Invoice(contract=contract, customer=contract.customer, billing_date=billing_date)
        if not late_usage_adjustments(
            invoice=probe, contract=contract, watermark=watermark, position=0, has_final=has_final
        ):
            return None
    customer = contract.customer
    invoice = existing or Invoice(
        customer=customer,
        contract=contract,
        legal_entity=customer.legal_entity or catalog_read(("legal_entity",), default_legal_entity),
        currency=contract.currency,
        billing_date=billing_date,
        period_start=billing_date,
        period_end=billing_date,
        billing_run=run,
        usage_watermark=watermark,
        tax_rate=customer.tax_rate,
    )
    lines_by_id = {line.pk: line for line in ctx.lines[contract.pk]}
    kept = [] if existing is None else list(existing.lines.all())  # before new lines: position below
    position = len(kept)
    claims = [
        BillingClaim(
            contract_line_id=item.line_id,
            period_start=item.period.start,
            period_end=item.period.end,
            kind=item.kind,
            invoice=invoice,
        )
        for item in items
    ]
    usage = ctx.usage.source(customer)
    new_lines: list[InvoiceLine] = []
    for item in items:
        new_lines.extend(
            lines_for_item(
                invoice=invoice,
                contract=contract,
                line=lines_by_id[item.line_id],
                item=item,
                watermark=watermark,
                position=position + len(new_lines),
                usage=usage,
            )
        )
    consumed = []
    for charge in pending:
        record = InvoiceLine(
            invoice=invoice,
            contract_line=charge.contract_line,
            kind=InvoiceLine.Kind.PRORATION,
            product=charge.contract_line.product if charge.contract_line else None,
            charge_code=charge.kind,
            description=charge.description,
            quantity=Decimal(1),
            amount=charge.amount,
            exact_amount=charge.exact_amount,
            service_start=charge.service_start,
            service_end=charge.service_end,
            position=position + len(new_lines),
            breakdown=[
                {"description": charge.description, "amount": str(charge.exact_amount or charge.amount)}
            ],
        )
        new_lines.append(record)
        consumed.append((charge, record))
    new_lines.extend(
        late_usage_adjustments(
            invoice=invoice,
            contract=contract,
            watermark=watermark,
            position=position + len(new_lines),
            has_final=has_final,
        )
    )
    # A top-up replaces the draft's discounts (recomputed on everything below).
    current = [ln for ln in kept if ln.kind != InvoiceLine.Kind.DISCOUNT] + new_lines
    discounts = coupon_lines(
        invoice=invoice,
        contract=contract,
        lines=current,
        position=len(current),
        redemptions=ctx.redemptions[contract.pk],
    )
    invoice.usage_watermark = watermark
    _set_totals(invoice, [*current, *discounts])
    changes = {
        "contract": contract.number,
        "billing_date": billing_date,
        "items": [f"{i.kind}:{i.line_id}:{i.period.start}" for i in items],
        "lines": len(new_lines),
        "subtotal": invoice.subtotal,
        "total": invoice.total,
    }
    return InvoiceDraft(invoice, existing is not None, claims, [*new_lines, *discounts], consumed, changes)


def write_drafts(drafts: Sequence[InvoiceDraft], *, actor=None) -> None:
    """Write priced invoices with one statement per table for all of them (invoices, claims, lines,
    pending charges, audit events). Must run in the transaction that locked their contracts."""
    if not drafts:
        return
    topped_up = [d.invoice for d in drafts if d.topped_up]
    if topped_up:
        InvoiceLine.objects.filter(invoice__in=topped_up, kind=InvoiceLine.Kind.DISCOUNT).delete()
        for invoice in topped_up:
            invoice.save()
    Invoice.objects.bulk_create([d.invoice for d in drafts if not d.topped_up])
    BillingClaim.objects.bulk_create([claim for d in drafts for claim in d.claims])
    InvoiceLine.objects.bulk_create([line for d in drafts for line in d.lines])
    consumed = []
    for d in drafts:
        for charge, record in d.consumed:
            charge.invoice_line = record
            consumed.append(charge)
    if consumed:
        PendingCharge.objects.bulk_update(consumed, ["invoice_line"])
    audit_record_many(
        [
            {
                "actor": actor or "billing",
                "action": "invoice.topped_up" if d.topped_up else "invoice.drafted",
                "obj": d.invoice,
                "changes": d.changes,
            }
            for d in drafts
        ]
    )


def invoices_build(
    requests: Sequence[Request],
    *,
    run=None,
    now: datetime | None = None,
    actor=None,
    errors: dict[Request, Exception] | None = None,
) -> dict[Request, Invoice | None]:
    """:func:`invoice_build` for several (contract, billing date) requests, at most one per contract,
    inside the caller's transaction: the contracts are locked and read with one query per kind of
    record, the usage of all of them is aggregated and fingerprinted with one query per meter and
    filter group, every invoice is priced in memory, then all are written with one statement per
    table. Returns each request's invoice (None: nothing to bill).

    With ``errors``, a request whose pricing raises is left out and its exception stored there (the
    others are built); a database error always propagates — the transaction can no longer be used, so
    the caller rolls back (to a savepoint) and builds the requests one at a time."""
    if len({contract_id for contract_id, _ in requests}) != len(requests):
        raise ValueError("invoices_build takes at most one billing date per contract.")
    if not connection.in_atomic_block:
        raise TransactionManagementError("invoices_build must run inside a transaction.")
    results: dict[Request, Invoice | None] = dict.fromkeys(requests)
    if not requests:
        return results

    def guarded(request: Request, compute):
        if errors is None:
            return compute()
        try:
            return compute()
        except DatabaseError:
            raise
        except Exception as exc:  # noqa: BLE001 - the caller parks the request with its message
            errors[request] = exc
            return None

    with catalog_memo():
        ctx = build_context(requests, watermark=usage_watermark(now))
        dues: dict[Request, _Due] = {}
        for request in requests:
            due = guarded(request, lambda r=request: _due(ctx, *r))
            if due is not None:
                dues[request] = due
        questions: list[tuple] = []
        for due in dues.values():
            lines_by_id = {line.pk: line for line in ctx.lines[due.contract.pk]}
            for item in due.items:
                try:
                    questions.extend(
                        usage_questions(contract=due.contract, line=lines_by_id[item.line_id], item=item)
                    )
                except DatabaseError:
                    raise
                except Exception:  # noqa: BLE001, S110 - not prepared: the pricing below reports it
                    pass
        ctx.usage.prefetch(questions)
        drafts = []
        for request, due in dues.items():
            draft = guarded(request, lambda d=due: _draft(ctx, d, run=run))
            if draft is not None:
                drafts.append(draft)
                results[request] = draft.invoice
        write_drafts(drafts, actor=actor)
    return results


@transaction.atomic
def invoice_refresh_draft(*, invoice: Invoice, now: datetime | None = None, actor=None) -> Invoice:
    """Re-rate a draft's usage with everything received so far (late usage before finalization)."""
    invoice = (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("contract", "customer")
        .get(pk=invoice.pk)
    )
    if invoice.status != Invoice.Status.DRAFT:
        raise Conflict("Only a draft invoice can be refreshed; later usage goes on the next invoice.")
    contract = Contract.objects.select_related("customer").get(pk=invoice.contract_id)
    watermark = usage_watermark(now)
    before = invoice.total
    claims = list(
        invoice.claims.filter(kind=USAGE).select_related(
            "contract_line", "contract_line__plan", "contract_line__product"
        )
    )
    invoice.lines.filter(
        kind__in=[
            InvoiceLine.Kind.USAGE,
            InvoiceLine.Kind.TRUE_UP,
            InvoiceLine.Kind.DISCOUNT,
            InvoiceLine.Kind.USAGE_ADJUSTMENT,
        ]
    ).delete()
    rebuilt: list[InvoiceLine] = []
    position = invoice.lines.count()
    for claim in claims:
        line = claim.contract_line
        full = period_containing(
            claim.period_start,
            anchor_date=contract.start_date,
            interval=plan_interval(line),
            anchor=contract.billing_anchor,
        )
        item = DueItem(
            line.pk, USAGE, Period(claim.period_start, claim.period_end), full, invoice.billing_date
        )
        rebuilt.extend(
            lines_for_item(
                invoice=invoice,
                contract=contract,
                line=line,
                item=item,
                watermark=watermark,
                position=position + len(rebuilt),
            )
        )
    rebuilt.extend(
        late_usage_adjustments(
            invoice=invoice, contract=contract, watermark=watermark, position=position + len(rebuilt)
        )
    )
    InvoiceLine.objects.bulk_create(rebuilt)
    InvoiceLine.objects.bulk_create(
        coupon_lines(
            invoice=invoice,
            contract=contract,
            lines=list(invoice.lines.all()),
            position=invoice.lines.count(),
        )
    )
    invoice.usage_watermark = watermark
    recompute_totals(invoice)
    audit_record(
        actor=actor or "billing",
        action="invoice.refreshed",
        obj=invoice,
        changes={"watermark": watermark, "total": {"from": before, "to": invoice.total}},
    )
    return invoice


def now_date() -> date:
    return timezone.localdate()
