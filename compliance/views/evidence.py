"""The evidence pack page: preview a period's manifest, download the zip (audited like the API's
``GET /evidence``)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from compliance.evidence import evidence_pack_manifest
from compliance.evidence.download import evidence_download_response
from compliance.views.display import PERIOD_RE, number, recent_periods
from revops.core.audit.actions import AuditAction
from revops.core.audit.models import AuditEvent
from revops.core.ui import require_area
from revrec.models import AccountingPeriod


def _evidence_page(request, period: str, *, status: int = 200, error: str = ""):
    files = []
    if period and not error:
        if not PERIOD_RE.fullmatch(period):
            error, status = f"'{period}' is not an accounting period (YYYY-MM).", 400
        else:
            manifest = evidence_pack_manifest(period=period)
            files = [
                {
                    "name": name,
                    "rows": meta["rows"],
                    "bytes": meta["bytes"],
                    "sha256": meta["sha256"],
                    "controls": [(k.replace("_", " "), number(v)) for k, v in meta["controls"].items()],
                }
                for name, meta in manifest["files"].items()
            ]
    stored = AccountingPeriod.objects.values_list("period", "status")
    statuses = dict(stored)
    choices = sorted(set(statuses) | set(recent_periods(12)), reverse=True)
    context = {
        "period": period,
        "files": files,
        "error": error,
        "choices": [(k, statuses.get(k, "open")) for k in choices],
        "downloads": AuditEvent.objects.filter(action=AuditAction.EVIDENCE_DOWNLOADED).order_by("-seq")[:10],
    }
    return render(request, "compliance/evidence.html", context, status=status)


@login_required
@require_area("audit")
def evidence_view(request):
    return _evidence_page(request, (request.GET.get("period") or "").strip())


@login_required
@require_area("audit")
def evidence_download(request):
    period = (request.GET.get("period") or "").strip()
    if not PERIOD_RE.fullmatch(period):
        return _evidence_page(
            request, period, status=400, error="Pick an accounting period (YYYY-MM) to download."
        )
    return evidence_download_response(period=period, actor=request.user)
