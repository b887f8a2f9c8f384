"""Invoice reads and the one JSON representation used by the API, webhooks and the outbox."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from billing.models import Invoice, InvoiceLine
from revops.core.api.fields import decimal_str, money_str


def invoice_list(
    *, customer=None, status: str | None = None, period_start=None, contract=None
) -> QuerySet[Invoice]:
    qs = Invoice.objects.select_related("customer", "contract", "legal_entity")
    if customer is not None:
        qs = qs.filter(customer=customer)
    if status:
        qs = qs.filter(status=status)
    if period_start:
        qs = qs.filter(period_start=period_start)
    if contract is not None:
        qs = qs.filter(contract=contract)
    return qs


def invoice_with_lines(pk: int) -> Invoice:
    lines = InvoiceLine.objects.select_related(
        "product", "price_version", "price_version__plan", "meter"
    ).order_by("position", "id")
    return (
        Invoice.objects.select_related("customer", "contract", "legal_entity")
        .prefetch_related(Prefetch("lines", queryset=lines))
        .get(pk=pk)
    )


def line_payload(line: InvoiceLine, currency: str) -> dict:
    data = {
        "id": line.pk,
        "kind": line.kind,
        "description": line.description,
        "product": line.product.code if line.product_id else None,
        "charge": line.charge_code or None,
        "quantity": decimal_str(line.quantity),
        "unit_amount": decimal_str(line.unit_amount),
        "amount": money_str(line.amount, currency),
        "service_start": line.service_start,
        "service_end": line.service_end,
        "breakdown": line.breakdown,
        "dimension": line.dimension or {},
        "price_version": (
            {"plan": line.price_version.plan.code, "number": line.price_version.number}
            if line.price_version_id
            else None
        ),
    }
    if line.meter_id:
        data["usage"] = {
            "meter": line.meter.code,
            "events": line.event_count,
            "events_sha256": line.event_hash,
            "window": [line.usage_start, line.usage_end],
            "received_after": line.received_after,
            "received_through": line.received_through,
        }
    return data


def invoice_payload(invoice: Invoice, *, lines: bool = True) -> dict:
    c = invoice.currency
    data = {
        "id": invoice.pk,
        "number": invoice.number,
        "status": invoice.status,
        "customer": invoice.customer.external_id,
        "contract": invoice.contract_id,
        "currency": c,
        "billing_date": invoice.billing_date,
        "period_start": invoice.period_start,
        "period_end": invoice.period_end,
        "issue_date": invoice.issue_date,
        "due_date": invoice.due_date,
        "subtotal": money_str(invoice.subtotal, c),
        "discount": money_str(invoice.discount, c),
        "tax_rate": decimal_str(invoice.tax_rate),
        "tax": money_str(invoice.tax, c),
        "credits_applied": money_str(invoice.credits_applied, c),
        "total": money_str(invoice.total, c),
        "amount_paid": money_str(invoice.amount_paid, c),
        "amount_credited": money_str(invoice.amount_credited, c),
        "balance_due": money_str(invoice.balance_due, c),
        "pdf_sha256": invoice.pdf_sha256 or None,
    }
    if lines:
        data["lines"] = [line_payload(line, c) for line in invoice.lines.all()]
    return data
