"""The SSP book (api.md: Revenue recognition): standalone selling prices, proposed for approval."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from revops.core.api.fields import BoundedDateField, DecimalStringField, MoneyField
from revops.core.api.serializers import InputSerializer
from revops.core.api.views import ApiGenericView
from revops.core.filters import ApiFilterBackend
from revrec.filters import SSPFilter
from revrec.models import SSPEntry
from revrec.services.ssp import ssp_propose


class SSPIn(InputSerializer):
    product = serializers.CharField(max_length=64)
    currency = serializers.CharField(max_length=3)
    effective_from = BoundedDateField()
    ssp = DecimalStringField(required=False, allow_null=True)
    ssp_low = DecimalStringField(required=False, allow_null=True)
    ssp_high = DecimalStringField(required=False, allow_null=True)
    method = serializers.ChoiceField(choices=["observable", "adjusted_market", "cost_plus", "residual"])
    evidence = serializers.CharField(required=False, allow_blank=True, default="")


class SSPEntryOut(serializers.Serializer):
    id = serializers.IntegerField()
    product = serializers.CharField(source="product.code")
    currency = serializers.CharField()
    version = serializers.IntegerField()
    effective_from = serializers.DateField()
    ssp = MoneyField(allow_null=True)
    ssp_low = MoneyField(allow_null=True)
    ssp_high = MoneyField(allow_null=True)
    method = serializers.ChoiceField(choices=SSPEntry.Method.choices)
    evidence = serializers.CharField()
    status = serializers.ChoiceField(choices=SSPEntry.Status.choices)
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)


class SSPListView(ApiGenericView):
    area = "revenue"
    list_view = True

    filter_backends = [ApiFilterBackend]
    filterset_class = SSPFilter

    def get_queryset(self):
        return SSPEntry.objects.select_related("product", "created_by")

    @extend_schema(responses=SSPEntryOut)
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(SSPEntryOut(page, many=True).data)

    @extend_schema(request=SSPIn, responses={201: SSPEntryOut})
    def post(self, request):
        data = SSPIn(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(SSPEntryOut(ssp_propose(actor=request.user, **data.validated_data)).data, status=201)
