"""Allocation and schedule previews (api.md: Revenue recognition): step 4 and step 5 without saving."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from revops.core.api.fields import BoundedDateField, DecimalStringField, MoneyField
from revops.core.api.serializers import InputSerializer
from revops.core.api.views import ApiView
from revops.errors import ValidationFailed
from revops.money import MoneyError, minor_units
from revrec.allocation import AllocationLine, allocate
from revrec.recognition import schedule as compute_schedule


def _currency(code: str) -> str:
    try:
        minor_units(code)
    except MoneyError as exc:
        raise ValidationFailed(str(exc), field="currency")
    return code.upper()


class AllocationLineIn(InputSerializer):
    key = serializers.CharField(max_length=64)
    ssp = DecimalStringField(required=False, allow_null=True)
    ssp_low = DecimalStringField(required=False, allow_null=True)
    ssp_high = DecimalStringField(required=False, allow_null=True)
    residual = serializers.BooleanField(required=False, default=False)
    variable_amount = DecimalStringField(required=False, default=Decimal(0))
    variable_allocation = serializers.ChoiceField(
        choices=["relative", "specific"], required=False, default="relative"
    )
    relates_specifically = serializers.BooleanField(required=False, default=False)
    consistent_with_objective = serializers.BooleanField(required=False, default=False)


class AllocationIn(InputSerializer):
    currency = serializers.CharField(max_length=3)
    transaction_price = DecimalStringField()
    lines = AllocationLineIn(many=True, min_length=1)
    discount_applies_to = serializers.ListField(
        child=serializers.CharField(), required=False, allow_null=True
    )


class AllocatedLineOut(serializers.Serializer):
    key = serializers.CharField()
    ssp = MoneyField()
    allocated = MoneyField()
    fixed = MoneyField()
    variable = MoneyField()


class AllocationOut(serializers.Serializer):
    currency = serializers.CharField()
    lines = AllocatedLineOut(many=True)


class AllocationPreviewView(ApiView):
    area = "revenue"
    write_area = "pricing"  # a preview writes nothing

    @extend_schema(request=AllocationIn, responses=AllocationOut)
    def post(self, request):
        data = AllocationIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        currency = _currency(v["currency"])
        result = allocate(
            currency=currency,
            transaction_price=v["transaction_price"],
            lines=[AllocationLine(**line) for line in v["lines"]],
            discount_applies_to=v.get("discount_applies_to"),
        )
        lines = [
            {
                "key": a.key,
                "ssp": a.ssp,
                "allocated": a.allocated,
                "fixed": a.allocated - a.variable,
                "variable": a.variable,
            }
            for a in result
        ]
        return Response(
            AllocationOut({"currency": currency, "lines": lines}, context={"currency": currency}).data
        )


class SchedulePreviewIn(InputSerializer):
    currency = serializers.CharField(max_length=3)
    amount = DecimalStringField()
    method = serializers.ChoiceField(choices=["ratable_daily", "ratable_monthly", "point_in_time"])
    start = BoundedDateField()
    end = BoundedDateField()


class PeriodAmountOut(serializers.Serializer):
    period = serializers.CharField()
    amount = MoneyField()


class SchedulePreviewOut(serializers.Serializer):
    currency = serializers.CharField()
    periods = PeriodAmountOut(many=True)


class SchedulePreviewView(ApiView):
    area = "revenue"
    write_area = "pricing"

    @extend_schema(request=SchedulePreviewIn, responses=SchedulePreviewOut)
    def post(self, request):
        data = SchedulePreviewIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        currency = _currency(v["currency"])
        lines = compute_schedule(
            currency=currency,
            amount=v["amount"],
            method=v["method"],
            start=v["start"],
            end=v["end"],
            satisfied_on=v["start"] if v["method"] == "point_in_time" else None,
        )
        return Response(
            SchedulePreviewOut({"currency": currency, "periods": lines}, context={"currency": currency}).data
        )
