"""Draft refresh: re-rate a draft invoice's usage with everything received so far."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction

from billing.catalog.reader import Catalog
from billing.contracts.models import Contract
from billing.contracts.terms import plan_interval
from billing.invoicing.build.coupon_lines import coupon_lines
from billing.invoicing.build.late_usage import late_usage_adjustments
from billing.invoicing.build.line_rating import lines_for_item
from billing.invoicing.build.totals import set_totals
from billing.models import Invoice, InvoiceLine
from billing.periods import Period, period_containing
from billing.schedule import USAGE, DueItem
from billing.usage.aggregation import usage_watermark
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.errors import Conflict


def recompute_totals(invoice: Invoice, lines: Sequence[InvoiceLine] | None = None) -> None:
    """Totals from the invoice's lines (``lines``: all of them, when the caller already has them)."""
    set_totals(invoice, list(invoice.lines.all()) if lines is None else list(lines))
    invoice.save()


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
    changes = draft_rerate(invoice=invoice, now=now)
    audit_record(actor=actor or "billing", action=AuditAction.INVOICE_REFRESHED, obj=invoice, changes=changes)
    return invoice


def draft_rerate(*, invoice: Invoice, now: datetime | None = None, catalog: Catalog | None = None) -> dict:
    """The re-rating itself, for a draft the caller has locked: its usage, true-up, discount and
    late-usage lines rebuilt from everything received up to the watermark, totals saved. Returns the
    changes its ``invoice.refreshed`` audit event records (the caller writes it in its transaction:
    one at a time, or a batch's together)."""
    contract = Contract.objects.select_related("customer").get(pk=invoice.contract_id)
    watermark = usage_watermark(now)
    catalog = catalog or Catalog()
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
                catalog=catalog,
            )
        )
    rebuilt.extend(
        late_usage_adjustments(
            invoice=invoice,
            contract=contract,
            watermark=watermark,
            position=position + len(rebuilt),
            catalog=catalog,
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
    return {"watermark": watermark, "total": {"from": before, "to": invoice.total}}
