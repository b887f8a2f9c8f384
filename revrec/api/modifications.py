"""Contract modifications (IFRS 15.18-21, accounting.md §10): a contract's list and the treatment."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from billing.contracts.models import Contract
from revops.core.api.schema import page_of
from revops.core.api.serializers import InputSerializer
from revops.core.api.views import ApiView
from revrec.models import ContractModification
from revrec.services.modifications import modification_choose

TREATMENTS = ["separate_contract", "prospective", "cumulative_catch_up"]


class ModificationOut(serializers.Serializer):
    id = serializers.IntegerField()
    contract = serializers.IntegerField(source="contract_id")
    contract_version = serializers.IntegerField()
    effective_date = serializers.DateField()
    status = serializers.CharField()
    proposed_treatment = serializers.CharField()
    chosen_treatment = serializers.CharField(allow_blank=True)
    reason = serializers.CharField(allow_blank=True)
    analysis = serializers.DictField()
    applied_at = serializers.DateTimeField(allow_null=True)


class ContractModificationListView(ApiView):
    area = "revenue"

    @extend_schema(
        responses=page_of("ContractModificationPage", ModificationOut(many=True)),
        operation_id="contracts_modifications_list",
    )
    def get(self, request, pk):
        contract = get_object_or_404(Contract, pk=pk)
        results = ModificationOut(contract.modifications.all(), many=True).data
        return Response({"results": results, "next": None, "previous": None})


class TreatmentIn(InputSerializer):
    treatment = serializers.ChoiceField(choices=TREATMENTS)


class ModificationTreatmentView(ApiView):
    area = "revenue"

    @extend_schema(request=TreatmentIn, responses=ModificationOut)
    def post(self, request, pk):
        modification = get_object_or_404(ContractModification, pk=pk)  # 404 before a body complaint
        data = TreatmentIn(data=request.data)
        data.is_valid(raise_exception=True)
        mod = modification_choose(
            modification=modification,
            treatment=data.validated_data["treatment"],
            actor=request.user,
        )
        return Response(ModificationOut(mod).data)
