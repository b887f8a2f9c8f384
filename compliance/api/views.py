from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from compliance.api.serializers import AuditEventSerializer, ChainVerificationSerializer
from compliance.audit import audit_verify_chain
from compliance.selectors import audit_event_list
from revops.core.api.views import ApiGenericView, ApiView


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
