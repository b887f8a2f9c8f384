"""Pricing previews (api.md: Catalog and pricing): rate one charge, or a whole price version over a
window of usage, without saving anything."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from billing.catalog import selectors
from billing.catalog.simulator import preview_charge, simulate_version
from billing.models import Plan, PlanVersion
from revops.core.api.fields import (
    BoundedDateTimeField,
    DecimalStringField,
    JSONValueField,
    MoneyField,
    QuantityInput,
)
from revops.core.api.serializers import InputSerializer, OmitNullMixin
from revops.core.api.views import ApiView


class PreviewChargeIn(InputSerializer):
    model = serializers.CharField(max_length=24)  # Charge.model
    properties = JSONValueField(default=dict)
    field = serializers.CharField(max_length=64, required=False, allow_blank=True)  # Meter.field's


class PreviewIn(InputSerializer):
    currency = serializers.CharField(max_length=3)
    charge = PreviewChargeIn()
    quantity = QuantityInput(required=False, min_value=0)
    events = serializers.ListField(child=serializers.DictField(), required=False, max_length=100000)


# The previews answer what billing.catalog.simulator computes; these serializers state its shape.
class PreviewBreakdownOut(OmitNullMixin, serializers.Serializer):
    """One rating step; units, unit_amount and flat_amount only where the model has them."""

    omit_null = ("units", "unit_amount", "flat_amount")

    description = serializers.CharField()
    units = DecimalStringField(required=False)
    unit_amount = DecimalStringField(required=False)
    flat_amount = DecimalStringField(required=False)
    amount = DecimalStringField(help_text="exact, before rounding to the minor unit")


class PreviewOut(serializers.Serializer):
    currency = serializers.CharField()
    amount = MoneyField()
    breakdown = PreviewBreakdownOut(many=True)


class SimulationLineOut(serializers.Serializer):
    kind = serializers.CharField()
    charge = serializers.CharField()
    product = serializers.CharField(allow_null=True)
    description = serializers.CharField()
    dimension = serializers.JSONField(help_text="the group's {prop: value}, else {}")
    quantity = DecimalStringField()
    unit_amount = DecimalStringField(allow_null=True)
    amount = MoneyField()
    service_start = serializers.DateField()
    service_end = serializers.DateField()
    version = serializers.IntegerField()
    breakdown = PreviewBreakdownOut(many=True)


class SimulationOut(serializers.Serializer):
    plan = serializers.CharField()
    version = serializers.IntegerField()
    currency = serializers.CharField()
    lines = SimulationLineOut(many=True)
    subtotal = MoneyField()


class PricingPreviewView(ApiView):
    area = "pricing"

    @extend_schema(request=PreviewIn, responses=PreviewOut)
    def post(self, request):
        data = PreviewIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        return Response(
            PreviewOut(
                preview_charge(
                    currency=v["currency"],
                    model=v["charge"]["model"],
                    properties=request.data["charge"].get("properties", {}),
                    field=v["charge"].get("field") or None,
                    quantity=v.get("quantity"),
                    events=v.get("events"),
                )
            ).data
        )


class SimulateIn(InputSerializer):
    plan = serializers.SlugField(max_length=64)  # Plan.code
    version = serializers.IntegerField(required=False, help_text="Default: the version in force on start")
    start = BoundedDateTimeField()
    end = BoundedDateTimeField()
    quantities = serializers.DictField(child=QuantityInput(min_value=0), required=False, default=dict)
    events = serializers.ListField(
        child=serializers.DictField(), required=False, default=list, max_length=100000
    )


class PricingSimulateView(ApiView):
    """Rate a whole price version over a window of usage, without saving anything."""

    area = "pricing"

    @extend_schema(
        request=SimulateIn,
        responses=SimulationOut,
    )
    def post(self, request):
        data = SimulateIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        plan = get_object_or_404(Plan, code=v["plan"])
        version = (
            get_object_or_404(PlanVersion, plan=plan, number=v["version"])
            if v.get("version")
            else selectors.version_for_date(plan, v["start"].date())
        )
        return Response(
            SimulationOut(
                simulate_version(
                    version=version,
                    start=v["start"],
                    end=v["end"],
                    events=v["events"],
                    quantities=v["quantities"],
                )
            ).data
        )
