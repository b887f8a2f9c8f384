"""Accounting periods (api.md: Compliance). The approvals endpoints are the kernel's
(revops.core.approvals.api)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from revops.core.api.views import ApiGenericView
from revrec.models import AccountingPeriod


class AccountingPeriodOut(serializers.Serializer):
    period = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()
    status = serializers.ChoiceField(choices=AccountingPeriod.Status.choices)
    closed_at = serializers.DateTimeField(allow_null=True)


class PeriodListView(ApiGenericView):
    area = "periods"
    list_view = True
    queryset = AccountingPeriod.objects.all()
    cursor_ordering = "-period"

    @extend_schema(responses=AccountingPeriodOut)
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(AccountingPeriodOut(page, many=True).data)
