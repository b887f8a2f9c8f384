from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from compliance.audit import audit_verify_chain
from compliance.selectors import audit_event_list
from revops.core.ui import require_area


@login_required
@require_area("audit")
def audit_trail(request):
    filters = {
        k: (request.GET.get(k) or "").strip() or None for k in ("object_type", "object_id", "action", "actor")
    }
    page = Paginator(audit_event_list(**filters), 50).get_page(request.GET.get("page"))
    context = {"page": page, "filters": filters}
    if request.htmx and request.htmx.target == "audit-results":
        return render(request, "compliance/audit_trail.html#results", context)
    return render(request, "compliance/audit_trail.html", context)


@login_required
@require_area("audit")
def audit_verify(request):
    return render(request, "compliance/audit_trail.html#verification", {"verification": audit_verify_chain()})
