"""The line drill-down of an invoice: how a line was rated (its breakdown) and, for a usage line, the
exact events it covered, re-counted live against the count and hash stored when it was rated."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from billing.invoicing.usage_source import SqlUsage
from billing.models import InvoiceLine
from billing.views.invoices import pricing_version_url, usage_explorer_url
from revops.core.ui import require_area
from revops.formatting import money, quantity, unit_price

EVENTS_SHOWN = 50


@dataclass
class UsageCheck:
    stored_count: int | None
    stored_hash: str
    live_count: int
    live_hash: str

    @property
    def matches(self) -> bool:
        return self.stored_count == self.live_count and self.stored_hash == self.live_hash


def line_usage(line: InvoiceLine) -> tuple[SqlUsage, dict]:
    """The exact selection the line covered: its meter, window, receipt watermarks and filter group
    (what ``SqlUsage.queryset`` selected when the line was rated)."""
    source = SqlUsage(
        line.invoice.customer, received_through=line.received_through, received_after=line.received_after
    )
    args = {
        "match": line.event_match or None,
        "exclude": line.event_exclude or [],
        "start": line.usage_start,
        "end": line.usage_end,
    }
    return source, args


def line_drilldown(line: InvoiceLine) -> dict:
    invoice = line.invoice
    c = invoice.currency
    breakdown = []
    for step in line.breakdown or []:
        breakdown.append(
            {
                "description": step.get("description", ""),
                "units": quantity(step["units"]) if step.get("units") not in (None, "") else "",
                "unit_amount": unit_price(step["unit_amount"], c)
                if step.get("unit_amount") not in (None, "")
                else "",
                "flat_amount": unit_price(step["flat_amount"], c)
                if step.get("flat_amount") not in (None, "")
                else "",
                "amount": unit_price(step["amount"], c) if step.get("amount") not in (None, "") else "",
            }
        )
    context = {
        "line": line,
        "invoice": invoice,
        "breakdown": breakdown,
        "exact": unit_price(line.exact_amount, c) if line.exact_amount is not None else "",
        "m_amount": money(line.amount, c),
        "version_url": pricing_version_url(line),
        "usage": None,
    }
    if line.meter_id and line.usage_start and line.usage_end:
        source, args = line_usage(line)
        events = list(source.queryset(line.meter, **args).order_by("timestamp", "id")[:EVENTS_SHOWN])
        for event in events:
            event.props = json.dumps(event.properties, sort_keys=True, ensure_ascii=False)
        live_count, live_hash = source.fingerprint(line.meter, **args)
        check = UsageCheck(line.event_count, line.event_hash, live_count, live_hash)
        context["usage"] = {
            "meter": line.meter,
            "check": check,
            "events": events,
            "shown": len(events),
            "match": json.dumps(line.event_match, sort_keys=True) if line.event_match else "",
            "exclude": [json.dumps(x, sort_keys=True) for x in line.event_exclude or []],
            "explorer_url": usage_explorer_url(
                invoice.customer, line.meter.code, line.service_start, line.service_end
            ),
            "live_count": quantity(live_count),
            "stored_count": quantity(line.event_count),
        }
    return context


@login_required
@require_area("billing")
def invoice_line_detail(request: HttpRequest, pk: int, line_id: int) -> HttpResponse:
    line = get_object_or_404(
        InvoiceLine.objects.select_related(
            "invoice",
            "invoice__customer",
            "meter",
            "price_version",
            "price_version__plan",
            "product",
            "contract_line",
            "adjusts",
            "adjusts__invoice",
        ),
        pk=line_id,
        invoice_id=pk,
    )
    context = line_drilldown(line)
    if request.htmx:
        return render(request, "billing/invoices/line.html#drill", context)
    return render(request, "billing/invoices/line.html", context)
