"""Compliance API: check runs, exceptions, period close/reopen, evidence pack (api.md: Compliance)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from compliance.evidence.download import evidence_download_response
from compliance.filters import ExceptionFilter
from compliance.models import CheckRun, ComplianceException
from compliance.services.close import close_checklist, period_close_request, period_reopen_request
from compliance.services.exceptions import compliance_run, exception_resolve, exception_waive_request
from revops.core.api.fields import PeriodField
from revops.core.api.serializers import InputSerializer
from revops.core.api.views import ApiGenericView, ApiView
from revops.core.approvals.models import Approval
from revops.core.filters import ApiFilterBackend
from revops.errors import ValidationFailed

PERIOD = PeriodField()


def _period(value) -> str:
    """A "YYYY-MM" path or query parameter (1900-01 to 2199-12), or a 400 naming ``period``."""
    try:
        return PERIOD.run_validation(value)
    except serializers.ValidationError as exc:
        detail = exc.detail[0] if isinstance(exc.detail, list) and exc.detail else exc.detail
        raise ValidationFailed(str(detail), field="period") from None


class CheckResultOut(serializers.Serializer):
    """One check's outcome in a run."""

    title = serializers.CharField(required=False, default="")
    findings = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["pass", "fail"])


class CheckRunOut(serializers.Serializer):
    id = serializers.IntegerField()
    trigger = serializers.CharField()
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    results = serializers.DictField(child=CheckResultOut(), help_text="by check code")
    failing = serializers.SerializerMethodField()

    def get_failing(self, run: CheckRun) -> list[str]:
        return sorted(c for c, r in run.results.items() if r.get("status") == "fail")


class ExceptionOut(serializers.Serializer):
    id = serializers.IntegerField()
    check = serializers.CharField(source="check_code")
    severity = serializers.ChoiceField(choices=ComplianceException.Severity.choices)
    object_type = serializers.CharField()
    object_id = serializers.CharField()
    explanation = serializers.CharField()
    details = serializers.JSONField(help_text="the check's own findings for the object")
    status = serializers.ChoiceField(choices=ComplianceException.Status.choices)
    owner = serializers.CharField(source="owner.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    resolution = serializers.CharField(allow_blank=True)


class ComplianceRunView(ApiGenericView):
    area = "compliance"
    list_view = True
    queryset = CheckRun.objects.all()

    @extend_schema(responses=CheckRunOut)
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(CheckRunOut(page, many=True).data)

    @extend_schema(request=None, responses={201: CheckRunOut})
    def post(self, request):
        return Response(CheckRunOut(compliance_run(trigger="manual", actor=request.user)).data, status=201)


class ExceptionListView(ApiGenericView):
    area = "compliance"
    list_view = True

    filter_backends = [ApiFilterBackend]
    filterset_class = ExceptionFilter

    def get_queryset(self):
        return ComplianceException.objects.select_related("owner")

    @extend_schema(
        responses=ExceptionOut,
    )
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(ExceptionOut(page, many=True).data)


class ResolutionIn(InputSerializer):
    comment = serializers.CharField(max_length=2000)


class ExceptionResolveView(ApiView):
    area = "compliance"

    @extend_schema(
        request=ResolutionIn,
        responses=ExceptionOut,
    )
    def post(self, request, pk):
        exception = get_object_or_404(ComplianceException, pk=pk)  # 404 before a body complaint
        data = ResolutionIn(data=request.data)
        data.is_valid(raise_exception=True)
        exc = exception_resolve(
            exception=exception,
            comment=data.validated_data["comment"],
            actor=request.user,
        )
        return Response(ExceptionOut(exc).data)


class ApprovalRequestedOut(serializers.Serializer):
    """202 of a waiver or a reopening: nothing changed yet; the approval request's id and status
    (``GET /approvals`` has the rest) and what to do next."""

    approval = serializers.IntegerField(source="approval.pk")
    status = serializers.ChoiceField(choices=Approval.Status.values, source="approval.status")
    detail = serializers.CharField()


class ExceptionWaiveView(ApiView):
    area = "compliance"

    @extend_schema(
        request=ResolutionIn,
        responses={202: ApprovalRequestedOut},
    )
    def post(self, request, pk):
        exception = get_object_or_404(ComplianceException, pk=pk)  # 404 before a body complaint
        data = ResolutionIn(data=request.data)
        data.is_valid(raise_exception=True)
        approval = exception_waive_request(
            exception=exception,
            comment=data.validated_data["comment"],
            actor=request.user,
        )
        detail = "A waiver needs an approver's sign-off: see /api/v1/approvals."
        return Response(ApprovalRequestedOut({"approval": approval, "detail": detail}).data, status=202)


def _checklist(key: str) -> list[dict]:
    return [{"code": i.code, "label": i.label, "ok": i.ok, "detail": i.detail} for i in close_checklist(key)]


class ChecklistItemOut(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    ok = serializers.BooleanField()
    detail = serializers.CharField(allow_blank=True)


class PeriodCloseView(ApiView):
    area = "periods"

    @extend_schema(
        request=None,
        responses=inline_serializer(
            "PeriodCloseChecklist",
            fields={"period": serializers.CharField(), "checklist": ChecklistItemOut(many=True)},
        ),
    )
    def get(self, request, period):
        _period(period)
        return Response({"period": period, "checklist": _checklist(period)})

    @extend_schema(
        request=None,
        responses={
            202: inline_serializer(
                "PeriodCloseRequested",
                fields={
                    "period": serializers.CharField(),
                    "status": serializers.CharField(help_text="The period's status: open until approved"),
                    "closed_at": serializers.DateTimeField(allow_null=True),
                    "approval": serializers.IntegerField(help_text="The period_close request to decide"),
                    "detail": serializers.CharField(),
                    "checklist": ChecklistItemOut(many=True),
                },
            )
        },
    )
    def post(self, request, period):
        _period(period)
        approval = period_close_request(key=period, actor=request.user)
        return Response(
            {
                "period": period,
                "status": "open",
                "closed_at": None,
                "approval": approval.pk,
                "detail": "Closing needs an approver other than the requester: "
                f"POST /api/v1/approvals/{approval.pk}/approve.",
                "checklist": _checklist(period),
            },
            status=202,
        )


class ReasonIn(InputSerializer):
    reason = serializers.CharField(max_length=2000)


class PeriodReopenView(ApiView):
    area = "periods"

    @extend_schema(
        request=ReasonIn,
        responses={202: ApprovalRequestedOut},
    )
    def post(self, request, period):
        _period(period)
        data = ReasonIn(data=request.data)
        data.is_valid(raise_exception=True)
        approval = period_reopen_request(key=period, reason=data.validated_data["reason"], actor=request.user)
        detail = "Reopening needs an approver's sign-off."
        return Response(ApprovalRequestedOut({"approval": approval, "detail": detail}).data, status=202)


class EvidenceView(ApiView):
    area = "audit"

    @extend_schema(
        parameters=[OpenApiParameter("period", str, required=True)],
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
    )
    def get(self, request):
        period = _period(request.query_params.get("period"))
        return evidence_download_response(period=period, actor=request.user)
