"""Variable-consideration estimates and input-method costs (api.md: Variable consideration and
progress; accounting.md §10a)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from billing.contracts.models import Contract
from revops.core.api.fields import BoundedDateField, DecimalStringField, MoneyField, PeriodField
from revops.core.api.schema import page_of
from revops.core.api.serializers import ApprovalRefOut, InputSerializer
from revops.core.api.views import ApiView
from revrec.models import ObligationCost, PerformanceObligation, VariableEstimate
from revrec.services.estimates import estimate_request
from revrec.services.input_progress import progress_of
from revrec.services.progress import obligation_cost_request, percent


class EstimateAllocationOut(serializers.Serializer):
    """The change allocated to one obligation when the estimate was recorded."""

    po = serializers.IntegerField()
    key = serializers.CharField()
    share = serializers.CharField(help_text="the obligation's share of the change (a decimal string)")
    basis = serializers.CharField()
    allocated_amount = MoneyField()
    catch_up = MoneyField(help_text="recognized at once, by the revenue run of catch_up_period")
    catch_up_period = serializers.CharField(allow_null=True)


class EstimateOut(serializers.Serializer):
    id = serializers.IntegerField()
    contract = serializers.IntegerField(source="contract_id")
    line = serializers.CharField(source="line_key")
    sequence = serializers.IntegerField()
    method = serializers.ChoiceField(choices=VariableEstimate.Method.choices)
    estimate = MoneyField()
    constrained = MoneyField()
    previous_constrained = MoneyField()
    change = MoneyField()
    currency = serializers.CharField()
    as_of = serializers.DateField()
    period = serializers.CharField()
    reason = serializers.CharField(allow_blank=True)
    allocation = serializers.SerializerMethodField()
    recorded_by = serializers.CharField(source="recorded_by.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()

    @extend_schema_field(EstimateAllocationOut(many=True))
    def get_allocation(self, e: VariableEstimate) -> list:
        return EstimateAllocationOut(e.allocation, many=True, context={"currency": e.currency}).data


class EstimatePendingOut(serializers.Serializer):
    approval = ApprovalRefOut()
    detail = serializers.CharField()


class EstimateIn(InputSerializer):
    line = serializers.CharField(max_length=64, help_text="the contract line's key")
    method = serializers.ChoiceField(choices=VariableEstimate.Method.values)
    estimate = DecimalStringField(min_value=0)
    constrained = DecimalStringField(min_value=0, help_text="included in the transaction price")
    as_of = BoundedDateField()
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ContractEstimatesView(ApiView):
    area = "revenue"

    @extend_schema(responses=page_of("VariableEstimates", EstimateOut(many=True)))
    def get(self, request, pk):
        contract = get_object_or_404(Contract, pk=pk)
        rows = VariableEstimate.objects.filter(contract=contract).select_related("recorded_by")
        return Response({"results": EstimateOut(rows, many=True).data, "next": None, "previous": None})

    @extend_schema(request=EstimateIn, responses={202: EstimatePendingOut})
    def post(self, request, pk):
        """202: the re-estimate waits for an approver other than the requester; nothing changed yet."""
        contract = get_object_or_404(Contract, pk=pk)
        data = EstimateIn(data=request.data)
        data.is_valid(raise_exception=True)
        approval = estimate_request(contract=contract, actor=request.user, **data.validated_data)
        detail = (
            "Submitted for approval: the re-estimate is recorded and the schedules revised "
            "when someone other than you approves it (POST /approvals/{id}/approve)."
        )
        return Response(EstimatePendingOut({"approval": approval, "detail": detail}).data, status=202)


class ProgressOut(serializers.Serializer):
    """An input-method obligation's progress (``revrec.services.progress``)."""

    obligation = serializers.IntegerField(source="po.pk")
    key = serializers.CharField(source="po.key")
    progress_measure = serializers.CharField(source="po.progress_measure")
    progress_places = serializers.IntegerField(source="po.progress_places", allow_null=True)
    expected_total = MoneyField(source="progress.expected_total", allow_null=True)
    incurred_to_date = MoneyField(source="progress.incurred_to_date")
    progress_percent = serializers.SerializerMethodField()
    currency = serializers.CharField(source="po.currency")

    def get_progress_percent(self, value) -> str:
        """A decimal string for display (4 decimals at most), "—" before an expected total exists."""
        return percent(value["progress"].measure(value["po"].progress_places))


def progress_out(po: PerformanceObligation) -> dict:
    return {"po": po, "progress": progress_of(po), "currency": po.currency}


class CostOut(serializers.Serializer):
    id = serializers.IntegerField()
    obligation = serializers.IntegerField(source="obligation_id")
    kind = serializers.ChoiceField(choices=ObligationCost.Kind.choices)
    period = serializers.CharField()
    amount = MoneyField()
    currency = serializers.CharField()
    note = serializers.CharField(allow_blank=True)
    recorded_by = serializers.CharField(source="recorded_by.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()


class CostRecordedOut(CostOut):
    progress = ProgressOut()


class CostsOut(ProgressOut):
    results = CostOut(many=True)


class ExpectedCostsPendingOut(ProgressOut):
    approval = ApprovalRefOut()
    detail = serializers.CharField()


class CostIn(InputSerializer):
    kind = serializers.ChoiceField(choices=ObligationCost.Kind.values)
    period = PeriodField(max_length=7, help_text="YYYY-MM")
    amount = DecimalStringField()
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ObligationCostsView(ApiView):
    area = "revenue"

    @extend_schema(responses=CostsOut)
    def get(self, request, pk):
        po = get_object_or_404(PerformanceObligation, pk=pk)
        rows = po.costs.select_related("recorded_by")
        return Response(CostsOut({**progress_out(po), "results": rows}).data)

    @extend_schema(request=CostIn, responses={201: CostRecordedOut, 202: ExpectedCostsPendingOut})
    def post(self, request, pk):
        """201 for costs incurred (recorded at once); 202 for total expected costs (an estimate: it waits
        for an approver other than the requester)."""
        po = get_object_or_404(PerformanceObligation, pk=pk)
        data = CostIn(data=request.data)
        data.is_valid(raise_exception=True)
        cost = obligation_cost_request(obligation=po, actor=request.user, **data.validated_data)
        po.refresh_from_db()
        if not isinstance(cost, ObligationCost):
            detail = (
                "Submitted for approval: the total expected costs are recorded and the "
                "schedule revised when someone other than you approves them."
            )
            pending = {**progress_out(po), "approval": cost, "detail": detail}
            return Response(ExpectedCostsPendingOut(pending).data, status=202)
        cost.progress = progress_out(po)
        return Response(CostRecordedOut(cost).data, status=201)
