"""Coupon lines: the discount lines of a contract's coupons on an invoice (applied in redemption
order, each on what the earlier ones left, within the coupon's duration)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from billing.contracts.models import Contract
from billing.models import CouponRedemption, Invoice, InvoiceLine
from billing.rating import apply_discount

ZERO = Decimal(0)


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
