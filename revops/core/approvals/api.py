"""The approvals API (api.md: Compliance): list requests, approve or reject one. Generic: requests of
every kind, decided through the one engine (revops.core.approvals.services)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import re_path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from revops.core.api.serializers import CommentIn, InputSerializer
from revops.core.api.views import ApiGenericView, ApiView
from revops.core.approvals.models import Approval
from revops.core.approvals.outcomes import approval_withdraw
from revops.core.approvals.registry import approval_kinds
from revops.core.approvals.services import approval_decide
from revops.errors import ValidationFailed


class ApprovalOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    object_type = serializers.CharField()
    object_id = serializers.CharField()
    summary = serializers.CharField()
    status = serializers.ChoiceField(choices=Approval.Status.choices)
    requested_by = serializers.CharField(source="requested_by.username", allow_null=True, default=None)
    requested_at = serializers.DateTimeField()
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)
    decided_at = serializers.DateTimeField(allow_null=True)
    comment = serializers.CharField()
    content = serializers.JSONField(help_text="What approving applies, as bound when requested")
    content_hash = serializers.CharField(help_text="SHA-256 of content")
    supersedes = serializers.IntegerField(source="supersedes_id", allow_null=True)


class ApprovalListView(ApiGenericView):
    area = "approvals"
    list_view = True

    def get_queryset(self):
        qs = Approval.objects.select_related("requested_by", "decided_by")
        params = self.request.query_params
        status, kind = params.get("status"), params.get("kind")
        if status:
            if status not in Approval.Status.values:
                raise ValidationFailed(
                    f"Unknown status '{status[:40]}'; one of: {', '.join(Approval.Status.values)}.",
                    field="status",
                )
            qs = qs.filter(status=status)
        if kind:
            kinds = sorted(approval_kinds())
            if kind not in kinds:  # an unknown kind was an empty 200, indistinguishable from "none pending"
                raise ValidationFailed(
                    f"Unknown kind '{kind[:40]}'; one of: {', '.join(kinds)}.", field="kind"
                )
            qs = qs.filter(kind=kind)
        if params.get("requester"):
            qs = qs.filter(requested_by__username=params["requester"])
        return qs

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=Approval.Status.values),
            OpenApiParameter("kind", str, description="An approval kind, e.g. period_close"),
            OpenApiParameter("requester", str, description="The requester's username"),
        ],
        responses=ApprovalOut,
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ApprovalOut(page, many=True).data)


class ApprovalDecideView(ApiView):
    area = "approvals"
    approve = True

    @extend_schema(request=CommentIn, responses=ApprovalOut)
    def post(self, request, pk):
        data = CommentIn(data=request.data)
        data.is_valid(raise_exception=True)
        approval = approval_decide(
            approval=get_object_or_404(Approval, pk=pk),
            user=request.user,
            approve=self.approve,
            comment=data.validated_data["comment"],
        )
        return Response(ApprovalOut(approval).data)


class ApprovalRejectView(ApprovalDecideView):
    approve = False


class WithdrawIn(InputSerializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ApprovalWithdrawView(ApiView):
    """The requester withdraws their own pending request: 403 for anyone else, 409 once decided."""

    area = "approvals"

    @extend_schema(request=WithdrawIn, responses=ApprovalOut)
    def post(self, request, pk):
        data = WithdrawIn(data=request.data)
        data.is_valid(raise_exception=True)
        approval = approval_withdraw(
            approval=get_object_or_404(Approval, pk=pk),
            user=request.user,
            reason=data.validated_data["reason"],
        )
        return Response(ApprovalOut(approval).data)


ID = r"(?P<pk>[0-9]+)"
# Included in /api/v1/ by revops/api_urls.py (the composition root).
urlpatterns = [
    re_path(r"^approvals/?$", ApprovalListView.as_view(), name="api-approvals"),
    re_path(rf"^approvals/{ID}/approve/?$", ApprovalDecideView.as_view(), name="api-approval-approve"),
    re_path(rf"^approvals/{ID}/reject/?$", ApprovalRejectView.as_view(), name="api-approval-reject"),
    re_path(rf"^approvals/{ID}/withdraw/?$", ApprovalWithdrawView.as_view(), name="api-approval-withdraw"),
]
