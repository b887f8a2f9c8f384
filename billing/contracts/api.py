"""Contracts API (api.md: Customers, contracts, usage): create, read, activate, amend (and preview),
terminate. Customers: billing/api/customers.py."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from billing.contracts import services
from billing.contracts.extensions import extend_contract_payload
from billing.contracts.models import Contract
from revops.core.api.fields import (
    BoundedDateField,
    DecimalStringField,
    MoneyField,
    QuantityInput,
    UnitPriceInput,
    decimal_str,
    money_str,
)
from revops.core.api.serializers import InputSerializer
from revops.core.api.views import ApiGenericView, ApiView
from revops.parties.services.customers import customer_from_params


class LineIn(InputSerializer):
    key = serializers.SlugField(max_length=64)
    product = serializers.CharField(max_length=64)
    plan = serializers.CharField(max_length=64, required=False, allow_null=True)
    quantity = QuantityInput(required=False)
    unit_price = UnitPriceInput(required=False, allow_null=True)
    amount = DecimalStringField(required=False, allow_null=True)
    ssp = DecimalStringField(required=False, allow_null=True)
    recognition = serializers.CharField(required=False, allow_blank=True)
    service_start = BoundedDateField(required=False, allow_null=True)
    service_end = BoundedDateField(required=False, allow_null=True)
    billing = serializers.ChoiceField(choices=["recurring", "one_time", "usage"], required=False)
    series = serializers.BooleanField(
        required=False,
        allow_null=True,
        help_text="A series of distinct periods (IFRS 15.22(b)); default: recurring lines recognized over time",
    )
    variable_method = serializers.ChoiceField(
        choices=["expected_value", "most_likely_amount"], required=False, allow_blank=True
    )
    variable_estimate = DecimalStringField(required=False, allow_null=True)
    variable_constrained = DecimalStringField(required=False, allow_null=True)
    variable_allocation = serializers.ChoiceField(choices=["relative", "specific"], required=False)
    relates_specifically = serializers.BooleanField(required=False)
    consistent_with_objective = serializers.BooleanField(required=False)
    progress_measure = serializers.ChoiceField(choices=["output", "input"], required=False)
    progress_places = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=6)


class ContractIn(InputSerializer):
    customer = serializers.CharField(help_text="external_id (or id)")
    currency = serializers.CharField(max_length=3)
    start_date = BoundedDateField()
    end_date = BoundedDateField(help_text="exclusive")
    billing_anchor = serializers.ChoiceField(choices=["calendar", "anniversary"], default="calendar")
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    lines = LineIn(many=True)


class AmendIn(InputSerializer):
    effective_date = BoundedDateField()
    end_date = BoundedDateField(
        required=False, allow_null=True, help_text="Extends the contract term (exclusive end)"
    )
    changes = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        default=list,
        help_text="May be empty when end_date extends the term",
    )


class TerminateIn(InputSerializer):
    effective_date = BoundedDateField()


def contract_payload(contract: Contract) -> dict:
    c = contract.currency
    lines = []
    for line in contract.lines.select_related("product", "plan").order_by("position", "revision"):
        lines.append(
            {
                "id": line.pk,
                "key": line.key,
                "revision": line.revision,
                "product": line.product.code,
                "plan": line.plan.code if line.plan_id else None,
                "billing": line.billing,
                "quantity": decimal_str(line.quantity),
                "unit_price": decimal_str(line.unit_price),
                "amount": money_str(line.amount, c),
                "ssp": money_str(line.ssp, c),
                "recognition": line.recognition or None,
                "series": line.series,
                "service_start": line.service_start,
                "service_end": line.service_end,
                "variable_method": line.variable_method or None,
                "variable_estimate": money_str(line.variable_estimate, c),
                "variable_constrained": money_str(line.variable_constrained, c),
                "variable_allocation": line.variable_allocation,
                "relates_specifically": line.relates_specifically,
                "consistent_with_objective": line.consistent_with_objective,
                "progress_measure": line.progress_measure,
                "progress_places": line.progress_places,
            }
        )
    payload = {
        "id": contract.pk,
        "number": contract.number,
        "status": contract.status,
        "customer": contract.customer.external_id,
        "currency": c,
        "start_date": contract.start_date,
        "end_date": contract.end_date,
        "billing_anchor": contract.billing_anchor,
        "version": contract.version,
        "terminated_on": contract.terminated_on,
        "transaction_price": money_str(contract.transaction_price, c),
        "lines": lines,
        "performance_obligations": [],
    }
    return extend_contract_payload(contract, payload)


ContractOut = inline_serializer(
    "Contract",
    fields={
        "id": serializers.IntegerField(),
        "number": serializers.CharField(),
        "status": serializers.CharField(),
        "customer": serializers.CharField(),
        "currency": serializers.CharField(),
        "start_date": BoundedDateField(),
        "end_date": BoundedDateField(),
        "billing_anchor": serializers.CharField(),
        "version": serializers.IntegerField(),
        "terminated_on": BoundedDateField(allow_null=True),
        "transaction_price": serializers.CharField(),
        "lines": serializers.ListField(child=serializers.DictField()),
        "performance_obligations": serializers.ListField(child=serializers.DictField()),
    },
)


class ContractListView(ApiGenericView):
    area = "contracts"
    list_view = True

    def get_queryset(self):
        qs = Contract.objects.select_related("customer")
        params = self.request.query_params
        customer = customer_from_params(params)
        if customer is not None:
            qs = qs.filter(customer=customer)
        if params.get("status"):
            qs = qs.filter(status=params["status"])
        return qs

    @extend_schema(
        responses=ContractOut,
        parameters=[
            OpenApiParameter("customer", str, description="The customer's external_id"),
            OpenApiParameter("customer_id", int, description="The customer's id (instead of customer)"),
            OpenApiParameter("status", str),
        ],
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([contract_payload(c) for c in page])

    @extend_schema(request=ContractIn, responses={201: ContractOut})
    def post(self, request):
        data = ContractIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        contract = services.contract_create(
            customer=v["customer"],
            currency=v["currency"],
            start_date=v["start_date"],
            end_date=v["end_date"],
            billing_anchor=v["billing_anchor"],
            notes=v["notes"],
            lines=list(request.data.get("lines") or []),
            actor=request.user,
        )
        return Response(contract_payload(contract), status=201)


def _contract(pk) -> Contract:
    return get_object_or_404(Contract.objects.select_related("customer"), pk=pk)


class ContractDetailView(ApiView):
    area = "contracts"

    @extend_schema(responses=ContractOut)
    def get(self, request, pk):
        return Response(contract_payload(_contract(pk)))


def approval_ref(approval) -> dict:
    """The approval request a change waits for (``GET /approvals`` has the rest)."""
    return {
        "id": approval.pk,
        "kind": approval.kind,
        "status": approval.status,
        "summary": approval.summary,
        "payload": approval.payload,
    }


def _maybe_pending(contract: Contract) -> Response:
    """200 with the contract, or 202 with it and ``approval`` when the change waits for an approver."""
    approval = getattr(contract, "override_approval", None)
    if approval is None:
        return Response(contract_payload(contract))
    return Response({**contract_payload(contract), "approval": approval_ref(approval)}, status=202)


class ContractActivateView(ApiView):
    area = "contracts"

    @extend_schema(request=None, responses={200: ContractOut, 202: ContractOut})
    def post(self, request, pk):
        return _maybe_pending(services.contract_activate(contract=_contract(pk), actor=request.user))


class ContractAmendView(ApiView):
    area = "contracts"

    @extend_schema(request=AmendIn, responses={200: ContractOut, 202: ContractOut})
    def post(self, request, pk):
        contract = _contract(pk)  # the record first: 404 before any complaint about the body
        data = AmendIn(data=request.data)
        data.is_valid(raise_exception=True)
        contract = services.contract_amend(contract=contract, actor=request.user, **data.validated_data)
        return _maybe_pending(contract)


class PriceChangeOut(serializers.Serializer):
    # "from" is a Python keyword: the field is named in build_fields below.
    to = MoneyField()


PriceChangeOut._declared_fields["from"] = MoneyField()


class ProrationCreditOut(serializers.Serializer):
    description = serializers.CharField()
    amount = MoneyField()


class ProrationLineOut(serializers.Serializer):
    line = serializers.CharField()
    revision = serializers.IntegerField()
    starts = serializers.DateField()
    first_period = serializers.ListField(child=serializers.DateField(), allow_null=True)
    first_period_days = serializers.CharField(allow_null=True)
    first_period_amount = MoneyField()


class AmendmentPreviewOut(serializers.Serializer):
    """What an amendment would bill; every amount at the contract currency's minor unit."""

    currency = serializers.CharField()
    transaction_price = PriceChangeOut()
    credits = ProrationCreditOut(many=True)
    new_lines = ProrationLineOut(many=True)
    net_first_period = MoneyField()


class ContractAmendPreviewView(ApiView):
    area = "contracts"

    @extend_schema(request=AmendIn, responses=AmendmentPreviewOut)
    def post(self, request, pk):
        contract = _contract(pk)
        data = AmendIn(data=request.data)
        data.is_valid(raise_exception=True)
        preview = services.proration_preview(contract=contract, **data.validated_data)
        return Response(
            AmendmentPreviewOut(
                {**preview, "currency": contract.currency}, context={"currency": contract.currency}
            ).data
        )


class ContractTerminateView(ApiView):
    area = "contracts"

    @extend_schema(request=TerminateIn, responses=ContractOut)
    def post(self, request, pk):
        contract = _contract(pk)
        data = TerminateIn(data=request.data)
        data.is_valid(raise_exception=True)
        contract = services.contract_terminate(contract=contract, actor=request.user, **data.validated_data)
        return Response(contract_payload(contract))
