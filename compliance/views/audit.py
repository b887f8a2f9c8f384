"""The audit trail: search with filters kept across pages, and the chain's verification (HTMX)."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from compliance.views.display import change_items, object_link
from revops.core.audit.selectors import audit_event_list
from revops.core.audit.verify import audit_verify_chain
from revops.core.listing import Column, Sorting, csv_response, list_page, sorted_queryset, wants_csv
from revops.core.ui import require_area

AUDIT_SORTING = Sorting(
    {
        "seq": ("seq",),
        "actor": ("actor_label",),
        "action": ("action",),
        "object": ("object_type", "object_id"),
    },
    default="-seq",
    tiebreak="seq",
)
AUDIT_COLUMNS = [
    Column("seq", "seq"),
    Column("occurred_at", "occurred_at"),
    Column("actor", "actor_label"),
    Column("action", "action"),
    Column("object_type", "object_type"),
    Column("object_id", "object_id"),
    Column("changes", lambda e: json.dumps(e.changes, sort_keys=True, ensure_ascii=False)),
    Column("hash", "hash"),
]


@login_required
@require_area("audit")
def audit_trail(request):
    filters = {
        k: (request.GET.get(k) or "").strip() or None for k in ("object_type", "object_id", "action", "actor")
    }
    if wants_csv(request):
        rows, _ = sorted_queryset(audit_event_list(**filters), AUDIT_SORTING, request.GET.get("sort"))
        return csv_response(rows, AUDIT_COLUMNS, filename="audit-trail")
    listing = list_page(request, audit_event_list(**filters), AUDIT_SORTING)
    page = listing.page
    for event in page:
        event.link = object_link(event.object_type, event.object_id, lookup=False)
        event.items = change_items(event.changes)
    context = {"page": page, "filters": filters, "listing": listing, "query": listing.query}
    if request.htmx and request.htmx.target == "audit-results":
        return render(request, "compliance/audit_trail.html#results", context)
    return render(request, "compliance/audit_trail.html", context)


@login_required
@require_area("audit")
def audit_verify(request):
    return render(request, "compliance/audit_trail.html#verification", {"verification": audit_verify_chain()})
