"""The audit trail API (api.md: Audit): search events, verify the chain."""

from django.urls import re_path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from revops.core.api.views import ApiGenericView, ApiView
from revops.core.audit.selectors import audit_event_list
from revops.core.audit.serializers import AuditEventSerializer, ChainVerificationSerializer
from revops.core.audit.verify import audit_verify_chain


class AuditEventListView(ApiGenericView):
    area = "audit"
    list_view = True
    serializer_class = AuditEventSerializer
    cursor_ordering = "-seq"

    def get_queryset(self):
        params = self.request.query_params
        return audit_event_list(
            object_type=params.get("object_type"),
            object_id=params.get("object_id"),
            action=params.get("action"),
            actor=params.get("actor"),
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("object_type", str, description="e.g. billing.invoice"),
            OpenApiParameter("object_id", str),
            OpenApiParameter("action", str, description="Action prefix, e.g. invoice."),
            OpenApiParameter("actor", str, description="Username"),
        ]
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class AuditVerifyView(ApiView):
    area = "audit"

    @extend_schema(responses=ChainVerificationSerializer)
    def get(self, request):
        return Response(audit_verify_chain().as_dict())


# Included in /api/v1/ by revops/api_urls.py (the composition root).
urlpatterns = [
    re_path(r"^audit-events/?$", AuditEventListView.as_view(), name="api-audit-events"),
    re_path(r"^audit-events/verify/?$", AuditVerifyView.as_view(), name="api-audit-verify"),
]
