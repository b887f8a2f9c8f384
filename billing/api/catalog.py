"""Catalog API (api.md: Catalog and pricing): products, meters, plans and price versions; pricing
previews are in billing/api/pricing.py."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from billing.api.catalog_out import (
    PlanOut,
    PlanPendingOut,
    PublishRequestOut,
    VersionOut,
    VersionPendingOut,
    plan_view,
)
from billing.catalog import selectors, services
from billing.models import Charge, Meter, Plan, PlanVersion
from revops.core.api.fields import (
    BoundedDateField,
    DecimalStringField,
    JSONValueField,
)
from revops.core.api.schema import page_of
from revops.core.api.serializers import InputModelSerializer, InputSerializer
from revops.core.api.views import ApiGenericView, ApiView
from revops.jsonsafe import jsonable
from revops.parties.models import Product, RecognitionMethod
from revops.parties.services.products import product_create, product_update_requested

# --- serializers ---------------------------------------------------------------------------------


class ProductSerializer(InputModelSerializer):
    code = serializers.SlugField(max_length=64)
    recognition = serializers.ChoiceField(
        choices=RecognitionMethod.choices, default=RecognitionMethod.RATABLE_DAILY
    )
    revenue_account = serializers.CharField(
        max_length=32,
        required=False,
        default="4000",
        help_text="A revenue-type account (4000, or a new revenue sub-account 4001–4799). Changing it "
        "once the product has postings needs an approver: the response is then 202 with the approval.",
    )

    class Meta:
        model = Product
        fields = ["id", "code", "name", "description", "recognition", "revenue_account", "active"]
        read_only_fields = ["id"]
        extra_kwargs = {"description": {"required": False}, "active": {"required": False}}

    def validate_revenue_account(self, value):
        from revops.books import revenue_account_errors

        errors = revenue_account_errors(value)
        if errors:
            raise serializers.ValidationError(errors[0].message)
        return value.strip()


class MeterSerializer(InputModelSerializer):
    code = serializers.SlugField(max_length=64)
    aggregation = serializers.ChoiceField(choices=Meter.Aggregation.choices)
    field = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    filters = serializers.DictField(
        child=serializers.ListField(child=JSONValueField()), required=False, default=dict
    )
    group_by = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list)

    class Meta:
        model = Meter
        fields = [
            "id",
            "code",
            "name",
            "description",
            "aggregation",
            "field",
            "filters",
            "group_by",
            "allow_negative",
        ]
        read_only_fields = ["id"]
        extra_kwargs = {"description": {"required": False}, "allow_negative": {"required": False}}


class ChargeIn(InputSerializer):
    """Shape only; the catalog service checks the pricing rules (with full field paths)."""

    code = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    product = serializers.CharField(max_length=64, required=False, allow_null=True)
    meter = serializers.CharField(max_length=64, required=False, allow_null=True)
    model = serializers.CharField(max_length=24)  # Charge.model
    properties = JSONValueField(required=False, default=dict)
    timing = serializers.ChoiceField(choices=Charge.Timing.values, required=False, default="in_arrears")
    field = serializers.CharField(max_length=64, required=False, allow_blank=True)
    currency = serializers.CharField(max_length=3, required=False)
    filters = JSONValueField(required=False, default=list)


class PlanIn(InputSerializer):
    code = serializers.SlugField(max_length=64)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    currency = serializers.CharField(max_length=3)
    interval = serializers.ChoiceField(choices=Plan.Interval.choices, default="month")
    version_policy = serializers.ChoiceField(choices=Plan.VersionPolicy.choices, default="on_effective_date")
    minimum_amount = DecimalStringField(required=False, allow_null=True, min_value=0)
    effective_from = BoundedDateField(required=False)
    charges = ChargeIn(many=True)


class VersionIn(InputSerializer):
    effective_from = BoundedDateField()
    charges = ChargeIn(many=True)
    minimum_amount = DecimalStringField(required=False, allow_null=True, min_value=0)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    status = serializers.ChoiceField(
        choices=["draft", "published"],
        default="published",
        help_text="published (default): contracts move on effective_from; draft: simulate first",
    )


def _raw_charges(request_data) -> list:
    """The charges as sent (the serializer only checked their shape), their fractional numbers
    (Decimals, as the API parser reads them) as exact decimal strings."""
    return list(jsonable(request_data.get("charges") or []))


def published_or_pending(body: dict, version: PlanVersion, *, status: int) -> Response:
    """``status`` when the version was published; 202 when publishing waits for an approver."""
    if version.is_published:
        return Response(body, status=status)
    pending = services.publish_request_for(version)
    return Response(
        {
            **body,
            "approval": PublishRequestOut(pending).data,
            "detail": "Publishing this version needs an approver's sign-off: "
            + "; ".join(pending.payload.get("reasons", []))
            + ". It stays a draft until someone other than you approves it.",
        },
        status=202,
    )


# --- products and meters -----------------------------------------------------------------------


class ProductListView(ApiGenericView):
    area = "catalog"
    list_view = True
    serializer_class = ProductSerializer
    queryset = Product.objects.all()

    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=ProductSerializer, responses={201: ProductSerializer})
    def post(self, request):
        data = ProductSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        product = product_create(actor=request.user, **data.validated_data)
        return Response(ProductSerializer(product).data, status=201)


class ProductDetailView(ApiGenericView):
    area = "catalog"
    serializer_class = ProductSerializer

    def get(self, request, code):
        return Response(ProductSerializer(get_object_or_404(Product, code=code)).data)

    @extend_schema(
        request=ProductSerializer,
        responses={
            200: ProductSerializer,
            202: inline_serializer(
                "ProductAccountChangeRequested",
                fields={
                    **{k: serializers.CharField() for k in ("code", "name", "revenue_account", "detail")},
                    "id": serializers.IntegerField(),
                    "approval": inline_serializer(
                        "ProductChangeApproval",
                        fields={
                            "id": serializers.IntegerField(),
                            "kind": serializers.CharField(),
                            "status": serializers.CharField(),
                            "revenue_account": serializers.CharField(required=False),
                            "recognition": serializers.CharField(required=False),
                        },
                    ),
                },
            ),
        },
    )
    def patch(self, request, code):
        product = get_object_or_404(Product, code=code)
        data = ProductSerializer(product, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = {k: v for k, v in data.validated_data.items() if k != "code"}
        result = product_update_requested(product=product, actor=request.user, **changes)
        body = ProductSerializer(result.product).data
        if result.approval is None:
            return Response(body)
        a = result.approval
        return Response(
            {
                **body,
                "approval": {
                    "id": a.pk,
                    "kind": a.kind,
                    "status": a.status,
                    **{k: a.payload[k]["to"] for k in ("revenue_account", "recognition") if k in a.payload},
                },
                "detail": "The product has postings: the "
                + ("revenue account" if "revenue_account" in a.payload else "recognition method")
                + " change waits for an approver.",
            },
            status=202,
        )


class MeterListView(ApiGenericView):
    area = "catalog"
    list_view = True
    serializer_class = MeterSerializer
    queryset = Meter.objects.all()

    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=MeterSerializer, responses={201: MeterSerializer})
    def post(self, request):
        data = MeterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        meter = services.meter_create(actor=request.user, **data.validated_data)
        return Response(MeterSerializer(meter).data, status=201)


class MeterDetailView(ApiGenericView):
    area = "catalog"
    serializer_class = MeterSerializer

    def get(self, request, code):
        return Response(MeterSerializer(get_object_or_404(Meter, code=code)).data)

    def patch(self, request, code):
        meter = get_object_or_404(Meter, code=code)
        data = MeterSerializer(meter, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = {k: v for k, v in data.validated_data.items() if k != "code"}
        return Response(
            MeterSerializer(services.meter_update(meter=meter, actor=request.user, **changes)).data
        )


# --- plans and versions --------------------------------------------------------------------------


class PlanListView(ApiGenericView):
    area = "catalog"
    list_view = True
    queryset = Plan.objects.all()
    cursor_ordering = "code"

    @extend_schema(responses=PlanOut)
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(PlanOut([plan_view(p) for p in page], many=True).data)

    @extend_schema(request=PlanIn, responses={201: PlanOut, 202: PlanPendingOut})
    def post(self, request):
        data = PlanIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = {k: v for k, v in data.validated_data.items() if k != "charges"}
        plan = services.plan_create(actor=request.user, charges=_raw_charges(request.data), **values)
        first = plan.versions.get(number=1)
        return published_or_pending(PlanOut(plan_view(plan)).data, first, status=201)


class PlanDetailView(ApiView):
    area = "catalog"

    @extend_schema(
        responses=PlanOut,
        parameters=[OpenApiParameter("as_of", str, description="YYYY-MM-DD: version in force on that date")],
    )
    def get(self, request, code):
        plan = get_object_or_404(Plan, code=code)
        as_of = (
            BoundedDateField().run_validation(request.query_params["as_of"])
            if "as_of" in request.query_params
            else None
        )
        return Response(PlanOut(plan_view(plan, as_of=as_of)).data)


class PlanVersionListView(ApiView):
    area = "catalog"

    @extend_schema(
        responses=page_of("PlanVersionPage", VersionOut(many=True)), operation_id="plans_versions_list"
    )
    def get(self, request, code):
        plan = get_object_or_404(Plan, code=code)
        return Response(
            {
                "results": VersionOut(selectors.versions_of(plan), many=True).data,
                "next": None,
                "previous": None,
            }
        )

    @extend_schema(request=VersionIn, responses={201: VersionOut, 202: VersionPendingOut})
    def post(self, request, code):
        plan = get_object_or_404(Plan, code=code)
        data = VersionIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        version = services.plan_version_create(
            plan=plan,
            effective_from=v["effective_from"],
            charges=_raw_charges(request.data),
            minimum_amount=v.get("minimum_amount"),
            notes=v["notes"],
            publish=v["status"] == "published",
            actor=request.user,
        )
        if v["status"] != "published":
            return Response(VersionOut(version).data, status=201)
        return published_or_pending(VersionOut(version).data, version, status=201)


class PlanVersionDetailView(ApiView):
    area = "catalog"

    @extend_schema(responses=VersionOut)
    def get(self, request, code, number):
        version = get_object_or_404(PlanVersion, plan__code=code, number=number)
        return Response(VersionOut(version).data)


class PlanVersionPublishView(ApiView):
    area = "catalog"

    @extend_schema(request=None, responses={200: VersionOut, 202: VersionPendingOut})
    def post(self, request, code, number):
        version = get_object_or_404(PlanVersion, plan__code=code, number=number)
        version = services.plan_version_publish(version=version, actor=request.user)
        return published_or_pending(VersionOut(version).data, version, status=200)
