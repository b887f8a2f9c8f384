"""Late usage: events received after an invoice was finalized are billed as an adjustment (the
difference between the original line's window re-rated with everything received and what it billed)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from billing.catalog.reader import Catalog
from billing.catalog.selectors import charge_def
from billing.contracts.models import Contract
from billing.invoicing.build.line_rating import persist_draft
from billing.invoicing.usage_source import SqlUsage
from billing.models import Charge, Invoice, InvoiceLine
from billing.pricing import LineDraft, rate_charge

ZERO = Decimal(0)
FINAL_STATUSES = (Invoice.Status.FINALIZED, Invoice.Status.PAID)


def late_usage_adjustments(
    *,
    invoice: Invoice,
    contract: Contract,
    watermark: datetime,
    position: int,
    has_final: bool | None = None,
    catalog: Catalog | None = None,
) -> list[InvoiceLine]:
    """Usage received after an invoice was finalized: re-rate the original line's window with every
    event received up to ``watermark`` and bill the difference as an adjustment on this invoice.
    ``has_final``: whether the contract has a finalized (or paid) invoice, when the caller knows;
    ``catalog``: where meters and products are read (default: a fresh one)."""
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
    catalog = catalog or Catalog()
    tz = contract.customer.timezone or "UTC"
    out: list[InvoiceLine] = []
    for original in originals:
        adjustments = [a for a in original.adjustments.all() if a.invoice.status != Invoice.Status.VOID]
        covered = max([original.received_through, *[a.received_through for a in adjustments]])
        if covered is None or covered >= watermark:
            continue
        probe = SqlUsage(
            contract.customer, received_through=watermark, received_after=covered, catalog=catalog
        )
        charge_model = Charge.objects.filter(
            version=original.price_version, code=original.charge_code
        ).first()
        if charge_model is None:
            continue
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
        full = SqlUsage(contract.customer, received_through=watermark, catalog=catalog)
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
        record = persist_draft(
            draft,
            invoice=invoice,
            line=original.contract_line,
            kind=InvoiceLine.Kind.USAGE_ADJUSTMENT,
            version_ids={draft.version: original.price_version_id},
            charges={charge.code: charge},
            usage=probe,
            tz=tz,
            position=position + len(out),
            catalog=catalog,
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
