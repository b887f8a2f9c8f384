"""GET /plans/{code}/versions/{n}/impact — the impact of a (draft) price version on customers."""

from __future__ import annotations

from datetime import date

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from billing.models import PlanVersion
from billing.pricing_impact import version_impact
from revops.core.api.fields import BoundedDateField, MoneyField
from revops.core.api.views import ApiView
from revops.parties.services.customers import customer_from_params


class ImpactLineOut(serializers.Serializer):
    contract = serializers.CharField(help_text="the contract's number")
    line = serializers.CharField()
    period_start = serializers.SerializerMethodField()
    period_end = serializers.SerializerMethodField()
    old = MoneyField()
    new = MoneyField()

    def get_period_start(self, row: dict) -> date:
        return row["period"][0]

    def get_period_end(self, row: dict) -> date:
        """Exclusive."""
        return row["period"][1]


class ImpactCustomerOut(serializers.Serializer):
    customer = serializers.CharField()
    name = serializers.CharField()
    currency = serializers.CharField()
    old_total = MoneyField(source="old")
    new_total = MoneyField(source="new")
    difference = MoneyField(source="delta")
    difference_pct = serializers.SerializerMethodField()
    contracts = serializers.SerializerMethodField()

    def get_difference_pct(self, row: dict) -> str | None:
        """A percent with one decimal ("-12.5"), null when the old total was zero."""
        return str(row["delta_pct"]) if row["delta_pct"] is not None else None

    @extend_schema_field(ImpactLineOut(many=True))
    def get_contracts(self, row: dict) -> list:
        return ImpactLineOut(row["contracts"], many=True, context={"currency": row["currency"]}).data


class VersionImpactOut(serializers.Serializer):
    plan = serializers.CharField()
    version = serializers.IntegerField()
    status = serializers.CharField()
    as_of = serializers.DateField()
    customers = ImpactCustomerOut(many=True)


class VersionImpactView(ApiView):
    area = "pricing"

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "as_of", OpenApiTypes.DATE, description="Compare the last complete period before this date"
            ),
            OpenApiParameter(
                "customer",
                str,
                description="The customer's external_id (default: every customer on the plan)",
            ),
            OpenApiParameter("customer_id", int, description="The customer's id (instead of customer)"),
        ],
        responses=VersionImpactOut,
    )
    def get(self, request, code, number):
        version = get_object_or_404(
            PlanVersion.objects.select_related("plan"), plan__code=code, number=number
        )
        params = request.query_params
        as_of = BoundedDateField().run_validation(params["as_of"]) if params.get("as_of") else None
        customer = customer_from_params(params)
        return Response(
            VersionImpactOut(version_impact(version=version, as_of=as_of, customer=customer)).data
        )
