"""Variable-consideration estimates and input-method costs (api.md: Variable consideration and
progress; accounting.md §10a)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from revops.contracts.models import Contract
from revops.core.api.fields import BoundedDateField, DecimalStringField, money_str
from revops.core.api.serializers import InputSerializer
from revops.core.api.views import ApiView
from revrec.models import ObligationCost, PerformanceObligation, VariableEstimate
from revrec.services.estimates import estimate_request
from revrec.services.progress import obligation_cost_request, percent, progress_of


def approval_ref(approval) -> dict:
    """The approval request a re-estimate waits for (``GET /approvals`` has the rest)."""
    return {
        "id": approval.pk,
        "kind": approval.kind,
        "status": approval.status,
        "summary": approval.summary,
        "payload": approval.payload,
    }


def estimate_payload(e: VariableEstimate) -> dict:
    c = e.currency
    return {
        "id": e.pk,
        "contract": e.contract_id,
        "line": e.line_key,
        "sequence": e.sequence,
        "method": e.method,
        "estimate": money_str(e.estimate, c),
        "constrained": money_str(e.constrained, c),
        "previous_constrained": money_str(e.previous_constrained, c),
        "change": money_str(e.change, c),
        "currency": c,
        "as_of": e.as_of,
        "period": e.period,
        "reason": e.reason,
        "allocation": e.allocation,
        "recorded_by": e.recorded_by.username if e.recorded_by_id else None,
        "created_at": e.created_at,
    }


class EstimateIn(InputSerializer):
    line = serializers.CharField(max_length=64, help_text="the contract line's key")
    method = serializers.ChoiceField(choices=VariableEstimate.Method.values)
    estimate = DecimalStringField(min_value=0)
    constrained = DecimalStringField(min_value=0, help_text="included in the transaction price")
    as_of = BoundedDateField()
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


PendingOut = inline_serializer(
    "EstimatePendingApproval", fields={"approval": serializers.DictField(), "detail": serializers.CharField()}
)


class ContractEstimatesView(ApiView):
    area = "revenue"

    @extend_schema(
        responses=inline_serializer("VariableEstimates", fields={"results": serializers.ListField()})
    )
    def get(self, request, pk):
        contract = get_object_or_404(Contract, pk=pk)
        rows = VariableEstimate.objects.filter(contract=contract).select_related("recorded_by")
        return Response({"results": [estimate_payload(e) for e in rows], "next": None, "previous": None})

    @extend_schema(request=EstimateIn, responses={202: PendingOut})
    def post(self, request, pk):
        """202: the re-estimate waits for an approver other than the requester; nothing changed yet."""
        contract = get_object_or_404(Contract, pk=pk)
        data = EstimateIn(data=request.data)
        data.is_valid(raise_exception=True)
        approval = estimate_request(contract=contract, actor=request.user, **data.validated_data)
        return Response(
            {
                "approval": approval_ref(approval),
                "detail": "Submitted for approval: the re-estimate is recorded and the schedules revised "
                "when someone other than you approves it (POST /approvals/{id}/approve).",
            },
            status=202,
        )


def cost_payload(cost: ObligationCost) -> dict:
    return {
        "id": cost.pk,
        "obligation": cost.obligation_id,
        "kind": cost.kind,
        "period": cost.period,
        "amount": money_str(cost.amount, cost.currency),
        "currency": cost.currency,
        "note": cost.note,
        "recorded_by": cost.recorded_by.username if cost.recorded_by_id else None,
        "created_at": cost.created_at,
    }


def progress_payload(po: PerformanceObligation) -> dict:
    progress = progress_of(po)
    c = po.currency
    return {
        "obligation": po.pk,
        "key": po.key,
        "progress_measure": po.progress_measure,
        "progress_places": po.progress_places,
        "expected_total": money_str(progress.expected_total, c),
        "incurred_to_date": money_str(progress.incurred_to_date, c),
        "progress_percent": percent(progress.measure(po.progress_places)),
        "currency": c,
    }


class CostIn(InputSerializer):
    kind = serializers.ChoiceField(choices=ObligationCost.Kind.values)
    period = serializers.RegexField(r"^[0-9]{4}-(0[1-9]|1[0-2])$", help_text="YYYY-MM")
    amount = DecimalStringField()
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ObligationCostsView(ApiView):
    area = "revenue"

    @extend_schema(
        responses=inline_serializer("ObligationCosts", fields={"results": serializers.ListField()})
    )
    def get(self, request, pk):
        po = get_object_or_404(PerformanceObligation, pk=pk)
        rows = po.costs.select_related("recorded_by")
        return Response({**progress_payload(po), "results": [cost_payload(c) for c in rows]})

    @extend_schema(
        request=CostIn,
        responses={
            201: inline_serializer("ObligationCost", fields={"id": serializers.IntegerField()}),
            202: PendingOut,
        },
    )
    def post(self, request, pk):
        """201 for costs incurred (recorded at once); 202 for total expected costs (an estimate: it waits
        for an approver other than the requester)."""
        po = get_object_or_404(PerformanceObligation, pk=pk)
        data = CostIn(data=request.data)
        data.is_valid(raise_exception=True)
        cost = obligation_cost_request(obligation=po, actor=request.user, **data.validated_data)
        po.refresh_from_db()
        if not isinstance(cost, ObligationCost):
            return Response(
                {
                    **progress_payload(po),
                    "approval": approval_ref(cost),
                    "detail": "Submitted for approval: the total expected costs are recorded and the "
                    "schedule revised when someone other than you approves them.",
                },
                status=202,
            )
        return Response({**cost_payload(cost), "progress": progress_payload(po)}, status=201)
