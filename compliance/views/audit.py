"""The audit trail: search with filters kept across pages, and the chain's verification (HTMX).

The first filter is a document's number as people know it — an invoice or credit-note number, a
draft reference, a contract number, a customer's external id — resolved exactly through the global
search's resolvers (revops.core.search), so "353" is INV-000353's trail and never that of the record
whose internal id is 353. The internal (object type, id) filters stay for links that carry them."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from compliance.views.display import change_rows, object_link
from revops.core.audit.display import action_label
from revops.core.audit.selectors import audit_event_list
from revops.core.audit.verify import audit_verify_chain
from revops.core.listing import Column, Sorting, csv_response, list_page, sorted_queryset, wants_csv
from revops.core.search.selectors import document_trails, reference_labels
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
FILTERS = ("ref", "object_type", "object_id", "action", "actor")


@login_required
@require_area("audit")
def audit_trail(request):
    filters = {k: (request.GET.get(k) or "").strip() or None for k in FILTERS}
    trails = document_trails(user=request.user, text=filters["ref"]) if filters["ref"] else []
    refs = [ref for trail in trails for ref in trail.refs] if filters["ref"] else None
    events = audit_event_list(**{k: v for k, v in filters.items() if k != "ref"}, refs=refs)
    if wants_csv(request):
        rows, _ = sorted_queryset(events, AUDIT_SORTING, request.GET.get("sort"))
        return csv_response(rows, AUDIT_COLUMNS, filename="audit-trail")
    listing = list_page(request, events, AUDIT_SORTING)
    page = listing.page
    names = reference_labels((e.object_type, e.object_id) for e in page)
    for event in page:
        event.link = object_link(event.object_type, event.object_id, lookup=False)
        event.name = names.get((event.object_type, event.object_id))
        event.table = change_rows(event.changes)
        event.action_label = action_label(event.action)
    context = {
        "page": page,
        "filters": filters,
        "trails": trails,
        "technical": bool(filters["object_type"] or filters["object_id"]),
        "listing": listing,
        "query": listing.query,
    }
    if request.htmx and request.htmx.target == "audit-results":
        return render(request, "compliance/audit_trail.html#results", context)
    return render(request, "compliance/audit_trail.html", context)


@login_required
@require_area("audit")
def audit_verify(request):
    return render(request, "compliance/audit_trail.html#verification", {"verification": audit_verify_chain()})
