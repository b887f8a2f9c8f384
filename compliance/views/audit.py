"""The audit trail: search with filters kept across pages, and the chain's verification (HTMX)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from compliance.views.display import change_items, object_link
from revops.core.audit.selectors import audit_event_list
from revops.core.audit.verify import audit_verify_chain
from revops.core.ui import require_area


@login_required
@require_area("audit")
def audit_trail(request):
    filters = {
        k: (request.GET.get(k) or "").strip() or None for k in ("object_type", "object_id", "action", "actor")
    }
    page = Paginator(audit_event_list(**filters), 50).get_page(request.GET.get("page"))
    for event in page:
        event.link = object_link(event.object_type, event.object_id, lookup=False)
        event.items = change_items(event.changes)
    context = {"page": page, "filters": filters, "query": urlencode({k: v for k, v in filters.items() if v})}
    if request.htmx and request.htmx.target == "audit-results":
        return render(request, "compliance/audit_trail.html#results", context)
    return render(request, "compliance/audit_trail.html", context)


@login_required
@require_area("audit")
def audit_verify(request):
    return render(request, "compliance/audit_trail.html#verification", {"verification": audit_verify_chain()})
