"""Invoice reads (the JSON representation the API, webhooks and the outbox send is
billing.invoicing.representation)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, Min, OuterRef, Prefetch, QuerySet

from billing.models import BillingRun, Invoice, InvoiceLine, UsageEvent
from billing.usage.aggregation import settle


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


def billing_run_invoice_count(*, run: BillingRun) -> int:
    """How many invoices the run made or refreshed."""
    return run.items.exclude(invoice__isnull=True).values("invoice").distinct().count()


def billing_run_failures(*, run: BillingRun, limit: int = 100) -> list:
    """The run's failed items (BillingRunItem), first ``limit``."""
    return list(
        run.items.filter(status="failed").select_related("customer", "contract").order_by("id")[:limit]
    )


@dataclass(frozen=True)
class UsageCutoff:
    """A finished billing run's usage cut-off: usage received up to ``watermark`` (the earliest of
    its invoices' watermarks, ``settle_seconds`` before each was built) is billed; ``held_back``
    events received later fall in periods the run billed and wait for the next run, which bills them
    as a late-usage adjustment."""

    watermark: datetime
    settle_seconds: int
    held_back: int


def billing_run_usage_cutoff(*, run: BillingRun) -> UsageCutoff | None:
    """The run's usage cut-off, or None while it runs or when none of its invoices rated usage."""
    if run.status not in (BillingRun.Status.COMPLETED, BillingRun.Status.FAILED):
        return None
    invoices = Invoice.objects.filter(
        pk__in=run.items.filter(invoice__isnull=False).values("invoice"), usage_watermark__isnull=False
    )
    first = invoices.aggregate(m=Min("usage_watermark"))["m"]
    if first is None:
        return None
    billed_window = InvoiceLine.objects.filter(
        invoice__in=invoices,
        kind=InvoiceLine.Kind.USAGE,
        invoice__customer_id=OuterRef("customer_id"),
        meter_id=OuterRef("meter_id"),
        usage_start__lte=OuterRef("timestamp"),
        usage_end__gt=OuterRef("timestamp"),
        invoice__usage_watermark__lt=OuterRef("received_at"),
    )
    held = UsageEvent.objects.filter(
        customer_id__in=invoices.values("customer_id"), received_at__gt=first
    ).filter(Exists(billed_window))
    return UsageCutoff(watermark=first, settle_seconds=int(settle().total_seconds()), held_back=held.count())


def invoice_with_lines(pk: int) -> Invoice:
    lines = InvoiceLine.objects.select_related(
        "product", "price_version", "price_version__plan", "meter"
    ).order_by("position", "id")
    return (
        Invoice.objects.select_related("customer", "contract", "legal_entity")
        .prefetch_related(Prefetch("lines", queryset=lines))
        .get(pk=pk)
    )
