"""GET /plans/{code}/versions/{n}/impact — the impact of a (draft) price version on customers."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from billing.catalog.impact import version_impact
from billing.models import PlanVersion
from revops.contracts.services.customers import customer_from_params
from revops.core.api.fields import BoundedDateField, money_str
from revops.core.api.views import ApiView


def impact_payload(result: dict) -> dict:
    customers = []
    for row in result["customers"]:
        c = row["currency"]
        customers.append(
            {
                "customer": row["customer"],
                "name": row["name"],
                "currency": c,
                "old_total": money_str(row["old"], c),
                "new_total": money_str(row["new"], c),
                "difference": money_str(row["delta"], c),
                "difference_pct": str(row["delta_pct"]) if row["delta_pct"] is not None else None,
                "contracts": [
                    {
                        "contract": x["contract"],
                        "line": x["line"],
                        "period_start": x["period"][0],
                        "period_end": x["period"][1],
                        "old": money_str(x["old"], c),
                        "new": money_str(x["new"], c),
                    }
                    for x in row["contracts"]
                ],
            }
        )
    return {
        "plan": result["plan"],
        "version": result["version"],
        "status": result["status"],
        "as_of": result["as_of"],
        "customers": customers,
    }


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
        responses=inline_serializer(
            "VersionImpact",
            fields={
                "plan": serializers.CharField(),
                "version": serializers.IntegerField(),
                "status": serializers.CharField(),
                "as_of": BoundedDateField(),
                "customers": serializers.ListField(child=serializers.DictField()),
            },
        ),
    )
    def get(self, request, code, number):
        version = get_object_or_404(
            PlanVersion.objects.select_related("plan"), plan__code=code, number=number
        )
        params = request.query_params
        as_of = BoundedDateField().run_validation(params["as_of"]) if params.get("as_of") else None
        customer = customer_from_params(params)
        return Response(impact_payload(version_impact(version=version, as_of=as_of, customer=customer)))
