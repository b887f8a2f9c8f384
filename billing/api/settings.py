"""The organization's billing settings (docs/api.md: Invoice auto-finalization): read the version in
force, change it (finance and admin). Each change appends a version and is audited
(billing.billing_settings)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from billing.billing_settings import billing_settings_current, billing_settings_update
from revops.core.api.serializers import InputSerializer
from revops.core.api.views import ApiView
from revops.parties.models.customers import MAX_GRACE_HOURS


class BillingSettingsOut(serializers.Serializer):
    version = serializers.IntegerField(help_text="0: the defaults, never changed")
    auto_finalize_grace_hours = serializers.IntegerField(
        allow_null=True,
        help_text="Hours a draft stays open after it was created before it finalizes itself; null: "
        "drafts never finalize themselves (unless their customer has its own grace period)",
    )
    reason = serializers.CharField()
    changed_by = serializers.CharField(source="created_by_label")
    changed_at = serializers.DateTimeField(source="created_at", allow_null=True)


class BillingSettingsIn(InputSerializer):
    auto_finalize_grace_hours = serializers.IntegerField(
        allow_null=True, min_value=0, max_value=MAX_GRACE_HOURS, help_text="null turns auto-finalization off"
    )
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    expected_version = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=0,
        help_text="The version you read: a change based on an older one is 409",
    )


class BillingSettingsView(ApiView):
    area = "billing"

    @extend_schema(responses=BillingSettingsOut)
    def get(self, request):
        return Response(BillingSettingsOut(billing_settings_current()).data)

    @extend_schema(request=BillingSettingsIn, responses=BillingSettingsOut)
    def patch(self, request):
        data = BillingSettingsIn(data=request.data)
        data.is_valid(raise_exception=True)
        version = billing_settings_update(actor=request.user, **data.validated_data)
        return Response(BillingSettingsOut(version).data)
