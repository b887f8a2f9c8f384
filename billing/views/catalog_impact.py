"""The impact view in the UI: old vs new totals per customer for a (draft) price version."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.utils.dateparse import parse_date

from billing.models import PlanVersion
from billing.pricing_impact import version_impact
from billing.views.lists import IMPACT_COLUMNS, impact_rows
from revops.core.listing import csv_response, wants_csv
from revops.core.ui import require_area
from revops.errors import DomainError


@login_required
@require_area("pricing")
def version_impact_view(request, code: str, number: int):
    version = get_object_or_404(PlanVersion.objects.select_related("plan"), plan__code=code, number=number)
    as_of = parse_date(request.GET.get("as_of") or "") or None
    try:
        result, error = version_impact(version=version, as_of=as_of), None
    except DomainError as exc:  # prices that cannot rate a contract (quantity × price overflows)
        result, error = None, exc
    if result is not None and wants_csv(request):
        name = f"impact-{version.plan.code}-v{version.number}-{result['as_of'].isoformat()}"
        return csv_response(impact_rows(result), IMPACT_COLUMNS, filename=name)
    return render(
        request,
        "billing/catalog/version_impact.html",
        {"version": version, "plan": version.plan, "result": result, "error": error},
        status=error.status if error else 200,
    )
