"""GET /periods/{YYYY-MM}/month-end (api.md: Month end): the period's stages, what blocks its close,
and for each stage the request that starts it when the caller's role may (null otherwise)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from compliance.api.views_controls import ChecklistItemOut, _period
from compliance.month_end import (
    ACTION_CODES,
    STAGE_CODES,
    STATUSES,
    allowed_action,
    finalize_filter,
    month_end,
)
from revops.core.api.views import ApiView
from revrec.models import AccountingPeriod

# action code -> (method, API path, request body) that starts the stage
REQUESTS = {
    "billing_run": ("POST", "/api/v1/billing-runs", lambda me: {"as_of": me.end.isoformat()}),
    "finalize": ("POST", "/api/v1/invoices/finalize", lambda me: {"filter": finalize_filter(me.key)}),
    "revenue_run": ("POST", "/api/v1/revenue-runs", lambda me: {"period": me.key}),
    "compliance_run": ("POST", "/api/v1/compliance/runs", lambda me: None),
    "close": ("POST", "/api/v1/periods/{key}/close", lambda me: None),
}
RUN_PATHS = {
    "billing_run": "/api/v1/billing-runs/{id}",
    "finalization_run": "/api/v1/invoices/finalize/{id}",
    "revenue_run": "/api/v1/revenue-runs/{id}",
    "check_run": "/api/v1/compliance/runs",
}


class StageProgressOut(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    percent = serializers.IntegerField(min_value=0, max_value=100)


class StageRunOut(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["billing_run", "finalization_run", "revenue_run", "check_run"])
    id = serializers.IntegerField()
    status = serializers.CharField(help_text="the run's own status (queued, running, completed, failed)")
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField(allow_blank=True, help_text="first line of the error of a failed run")
    url = serializers.CharField(help_text="the run in the API")


class FinalizeFilterOut(serializers.Serializer):
    status = serializers.CharField()
    holds_period = serializers.CharField(
        help_text="YYYY-MM: the drafts that block its close (billed before its end, or later with a "
        "line whose service starts before it ends)"
    )


class StageActionBodyOut(serializers.Serializer):
    """The JSON body of the request that starts a stage: one of these fields, by action."""

    as_of = serializers.DateField(required=False, help_text="billing_run")
    filter = FinalizeFilterOut(required=False, help_text="finalize: the invoice list's filter")
    period = serializers.CharField(required=False, help_text="revenue_run")


class StageActionOut(serializers.Serializer):
    code = serializers.ChoiceField(choices=list(ACTION_CODES))
    label = serializers.CharField()
    method = serializers.ChoiceField(choices=["POST"])
    path = serializers.CharField(help_text="the request that starts the stage")
    body = StageActionBodyOut(allow_null=True, help_text="its JSON body, when it takes one")


class StageOut(serializers.Serializer):
    code = serializers.ChoiceField(choices=list(STAGE_CODES))
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=list(STATUSES))
    status_label = serializers.CharField(
        help_text="the status in words (e.g. Awaiting review, Ready to close)"
    )
    summary = serializers.CharField()
    counts = serializers.DictField(
        child=serializers.IntegerField(), help_text="by count name; api.md lists them"
    )
    progress = StageProgressOut(allow_null=True)
    run = StageRunOut(allow_null=True, help_text="the stage's latest run")
    action = StageActionOut(
        allow_null=True, help_text="null when nothing starts it or the caller's role may not"
    )


class MonthEndOut(serializers.Serializer):
    period = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField(help_text="exclusive")
    status = serializers.ChoiceField(
        choices=[*AccountingPeriod.Status.choices, ("before_books", "Before the books begin")],
        help_text="before_books: a period before the books' first one (no stage, no action, no close)",
    )
    note = serializers.CharField(allow_blank=True, help_text="why the period is not one of the books")
    closed_at = serializers.DateTimeField(allow_null=True)
    running = serializers.BooleanField(help_text="a stage's run is under way (poll again)")
    next_stage = serializers.ChoiceField(choices=list(STAGE_CODES), allow_null=True)
    stages = StageOut(many=True)
    blockers = ChecklistItemOut(many=True, help_text="the close checklist's failing items")


def _stage(stage, me, user) -> dict:
    action = allowed_action(stage, user)
    run = stage.run
    request = None
    if action is not None:
        method, path, body = REQUESTS[action.code]
        request = {
            "code": action.code,
            "label": action.label,
            "method": method,
            "path": path.format(key=me.key),
            "body": body(me),
        }
    return {
        "code": stage.code,
        "title": stage.title,
        "status": stage.status,
        "status_label": stage.label,
        "summary": stage.summary,
        "counts": stage.counts,
        "progress": vars(stage.progress) if stage.progress else None,
        "run": {
            "kind": run.kind,
            "id": run.id,
            "status": run.status,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "error": run.error,
            "url": RUN_PATHS[run.kind].format(id=run.id),
        }
        if run
        else None,
        "action": request,
    }


class MonthEndView(ApiView):
    area = "periods"

    @extend_schema(request=None, responses=MonthEndOut)
    def get(self, request, period):
        me = month_end(key=_period(period))
        body = {
            "period": me.key,
            "start": me.start,
            "end": me.end,
            "status": "before_books"
            if me.before_books
            else (AccountingPeriod.Status.CLOSED if me.closed else AccountingPeriod.Status.OPEN),
            "note": me.before_books,
            "closed_at": me.period.closed_at if me.closed else None,
            "running": me.running,
            "next_stage": me.next_stage.code if me.next_stage else None,
            "stages": [_stage(s, me, request.user) for s in me.stages],
            "blockers": [
                {"code": i.code, "label": i.label, "ok": i.ok, "detail": i.detail} for i in me.blockers
            ],
        }
        return Response(MonthEndOut(body).data)
