"""Usage pages: explorer (daily chart, table, group-by), quarantine (replay / discard), ingestion stats.

Function views calling the same selectors and services as the API; HTMX requests get the page's
partial only."""

from __future__ import annotations

import json
import secrets
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from billing.models import Meter, QuarantinedEvent, UsageEvent
from billing.usage.aggregation import local_bounds
from billing.usage.filters import QuarantineFilter
from billing.usage.partitions import add_months
from billing.usage.selectors import (
    ingestion_stats,
    quarantine_list,
    quarantine_open_count,
    quarantine_open_groups,
    usage_report,
)
from billing.usage.services import quarantine_discard, quarantine_replay, quarantine_replay_open
from billing.views.lists import USAGE_COLUMNS
from revops.core.filters import filter_page
from revops.core.listing import csv_response, wants_csv
from revops.core.ui import require_area
from revops.dates import date_in_range
from revops.errors import DomainError
from revops.formatting import quantity
from revops.parties.models import Customer
from revops.roles import can_write

MAX_DAYS = 366
DAY_EVENTS_SHOWN = 200


def date_presets(today: date) -> list[tuple[str, str, date, date]]:
    """The explorer's quick ranges as ``(key, label, start, end)``, end exclusive, in the customer's
    own dates: the last 30 days (today included), this month, last month, this quarter."""
    month = today.replace(day=1)
    quarter = month.replace(month=(month.month - 1) // 3 * 3 + 1)
    return [
        ("last30", "Last 30 days", today - timedelta(days=29), today + timedelta(days=1)),
        ("this_month", "This month", month, add_months(month, 1)),
        ("last_month", "Last month", add_months(month, -1), month),
        ("quarter", "This quarter", quarter, add_months(quarter, 3)),
    ]


def day_events(*, customer, meter, day: date) -> tuple[list, int]:
    """The accepted events of one of the customer's days (its own time zone), first ones first."""
    lo, hi = local_bounds(day, day + timedelta(days=1), customer.timezone or "UTC")
    qs = UsageEvent.objects.filter(customer=customer, meter=meter, timestamp__gte=lo, timestamp__lt=hi)
    events = list(qs.order_by("timestamp", "id")[:DAY_EVENTS_SHOWN])
    zone = ZoneInfo(customer.timezone or "UTC")
    for event in events:
        event.local_time = event.timestamp.astimezone(zone).strftime("%H:%M:%S")
        event.props = json.dumps(event.properties, sort_keys=True, ensure_ascii=False)
        event.shown_value = "1 (counted)" if event.value is None else quantity(event.value)
    return events, qs.count()


def _parse_date(raw: str | None) -> date | None:
    try:
        value = date.fromisoformat(raw) if raw else None
    except ValueError:
        return None
    return value if value is None or date_in_range(value) else None


@login_required
@require_area("usage")
def explorer(request: HttpRequest) -> HttpResponse:
    customers = list(
        Customer.objects.order_by("name", "id").only("id", "external_id", "name", "timezone")[:1000]
    )
    meters = list(Meter.objects.order_by("code"))
    params = request.GET
    customer = next((c for c in customers if c.external_id == params.get("customer")), None)
    if customer is None and params.get("customer"):
        customer = Customer.objects.filter(external_id=params["customer"]).first()
    meter = next((m for m in meters if m.code == params.get("meter")), None)
    if customer is None and not params.get("customer") and customers:
        customer = customers[0]
    if meter is None and not params.get("meter") and meters:
        meter = meters[0]
    zone = ZoneInfo(customer.timezone if customer else "UTC")
    today = timezone.now().astimezone(zone).date()
    start = _parse_date(params.get("start")) or today.replace(day=1)
    end = _parse_date(params.get("end")) or add_months(today.replace(day=1), 1)
    group_by = params.get("group_by") or ""
    error = None
    if end <= start:
        error = "The end date must be after the start date (the end is exclusive)."
    elif (end - start).days > MAX_DAYS:
        error = f"Pick a range of at most {MAX_DAYS} days."
    report = None
    if customer and meter and not error:
        report = usage_report(
            customer=customer, meter=meter, start=start, end=end, group_by=[group_by] if group_by else []
        )
        total = Decimal(report["total"])
        report["total_display"] = quantity(total)
        for day in report["days"]:
            day["display"] = quantity(day["value"])
        report["active_days"] = sum(1 for d in report["days"] if Decimal(d["value"]) != 0)
        for group in report.get("groups", []):
            group["label"] = group["key"].get(group_by)
            group["display"] = quantity(group["total"])
            group["share"] = (
                f"{Decimal(group['total']) / total * 100:.1f}%"
                if total and meter.aggregation in ("count", "sum")
                else "–"
            )
        if wants_csv(request):
            rows = [{"date": d["date"], "value": Decimal(d["value"])} for d in report["days"]]
            name = f"usage-{customer.external_id}-{meter.code}-{start.isoformat()}-{end.isoformat()}"
            return csv_response(rows, USAGE_COLUMNS, filename=name)
    opened = _parse_date(params.get("day"))
    if not (report and opened and start <= opened < end):
        opened = None
    base = {"customer": customer.external_id if customer else "", "meter": meter.code if meter else ""}
    if group_by:
        base["group_by"] = group_by
    range_query = urlencode({**base, "start": start.isoformat(), "end": end.isoformat()})
    presets = [
        {
            "key": key,
            "label": label,
            "current": (p_start, p_end) == (start, end),
            "query": urlencode({**base, "start": p_start.isoformat(), "end": p_end.isoformat()}),
        }
        for key, label, p_start, p_end in date_presets(today)
    ]
    if opened:
        events, event_count = day_events(customer=customer, meter=meter, day=opened)
    else:
        events, event_count = [], 0
    context = {
        "presets": presets,
        "range_query": range_query,
        "opened": opened,
        "opened_iso": opened.isoformat() if opened else "",
        "day_events": events,
        "day_event_count": event_count,
        "day_events_shown": DAY_EVENTS_SHOWN,
        "customers": customers,
        "meters": meters,
        "customer": customer,
        "meter": meter,
        "start": start,
        "end": end,
        "group_by": group_by,
        "group_choices": list(meter.group_by or []) if meter else [],
        "report": report,
        "error": error,
        # unique per response: during an HTMX swap the old chart is still in the page
        "chart_id": (chart_id := secrets.token_hex(4)),
        "chart_data_id": f"usage-chart-data-{chart_id}",
        "chart": {
            "labels": [d["date"] for d in report["days"]] if report else [],
            "values": [d["value"] for d in report["days"]] if report else [],
            "label": meter.name if meter else "",
        },
    }
    if request.htmx:
        return render(request, "billing/usage/explorer.html#explorer", context)
    return render(request, "billing/usage/explorer.html", context)


def _quarantine_filters(source) -> dict:
    return {
        "status": source.get("status") or QuarantinedEvent.Status.OPEN,
        "customer": (source.get("customer") or "").strip(),
        "meter": (source.get("meter") or "").strip(),
    }


@login_required
@require_area("usage")
def quarantine(request: HttpRequest) -> HttpResponse:
    # Open events unless told otherwise ("all": every status); the rest is the API's filter set.
    filters = _quarantine_filters(request.GET)
    data = {k: v for k, v in filters.items() if not (k == "status" and v == "all")}
    listed = filter_page(QuarantineFilter, data, quarantine_list())
    page = Paginator(listed.qs, 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "filters": filters,
        "filter_errors": listed.errors,
        "statuses": QuarantinedEvent.Status.choices,
        "open_count": quarantine_open_count(),
        "groups": quarantine_open_groups(),
        "can_write": can_write(request.user, "usage"),
    }
    if request.htmx and request.htmx.target == "quarantine-results":
        return render(request, "billing/usage/quarantine.html#results", context)
    return render(request, "billing/usage/quarantine.html", context)


def _row(request: HttpRequest, pk: int, notice: str, tone: str) -> HttpResponse:
    item = QuarantinedEvent.objects.select_related("resolved_by").get(pk=pk)
    context = {"item": item, "notice": notice, "tone": tone, "can_write": can_write(request.user, "usage")}
    return render(request, "billing/usage/quarantine.html#row", context)


@login_required
@require_area("usage", write=True)
@require_POST
def quarantine_replay_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        outcome = quarantine_replay(item_ids=[pk], actor=request.user)[0]
    except DomainError as exc:
        notice, tone = exc.detail, "bad"
    else:
        notice, tone = {
            "accepted": ("Replayed: the event is now counted.", "ok"),
            "duplicate": (
                "Replayed: its transaction_id was already counted, so it was not counted again.",
                "ok",
            ),
            "already_replayed": ("Already replayed earlier; nothing changed.", "info"),
            "invalid": ("Still invalid — see the reasons, fix the cause, then replay again.", "bad"),
        }[outcome.result]
    if request.htmx:
        return _row(request, pk, notice, tone)
    (messages.success if tone != "bad" else messages.error)(request, f"Event #{pk}: {notice}")
    return redirect("usage-quarantine")


@login_required
@require_area("usage", write=True)
@require_POST
def quarantine_discard_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        quarantine_discard(item_id=pk, actor=request.user, reason=request.POST.get("reason", ""))
    except DomainError as exc:
        notice, tone = exc.detail, "bad"
    else:
        notice, tone = "Discarded (kept for the record, not counted).", "ok"
    if request.htmx:
        return _row(request, pk, notice, tone)
    (messages.success if tone != "bad" else messages.error)(request, f"Event #{pk}: {notice}")
    return redirect("usage-quarantine")


@login_required
@require_area("usage", write=True)
@require_POST
def quarantine_replay_open_view(request: HttpRequest) -> HttpResponse:
    customer = (request.POST.get("customer") or "").strip() or None
    meter = (request.POST.get("meter") or "").strip() or None
    summary = quarantine_replay_open(actor=request.user, customer_ref=customer, meter_code=meter)
    scope = " / ".join(x for x in (customer, meter) if x) or "all customers and meters"
    messages.success(
        request,
        f"Replayed open events ({scope}): {summary.accepted} counted, {summary.duplicates} already counted, "
        f"{summary.still_invalid} still invalid.",
    )
    query = urlencode({"status": "open", "customer": customer or "", "meter": meter or ""})
    return redirect(f"{reverse('usage-quarantine')}?{query}")


@login_required
@require_area("usage")
def ingestion(request: HttpRequest) -> HttpResponse:
    days = ingestion_stats(days=30)
    totals = {k: sum(d[k] for d in days) for k in ("accepted", "duplicates", "rejected", "batches")}
    for day in days:
        for key in ("accepted", "duplicates", "rejected"):
            day[f"{key}_display"] = f"{day[key]:,}"
    context = {
        "days": list(reversed(days)),
        "totals": {k: f"{v:,}" for k, v in totals.items()},
        "has_data": totals["batches"] > 0,
        "open_count": quarantine_open_count(),
        "chart": {
            "labels": [d["date"].isoformat() for d in days],
            "accepted": [d["accepted"] for d in days],
            "duplicates": [d["duplicates"] for d in days],
            "rejected": [d["rejected"] for d in days],
        },
    }
    return render(request, "billing/usage/ingestion.html", context)
