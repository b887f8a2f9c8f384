"""What revrec adds to a contract's API representation (api.md: Customers, contracts, usage, and the
issue 13 additions): its performance obligations. Registered with billing's contract extension point
(``billing.contracts.extensions.register_contract_field``), so billing never imports revrec and the
OpenAPI schema still types every field of ``ContractOut.performance_obligations``."""

from __future__ import annotations

from rest_framework import serializers

from billing.contracts.models import ContractLine
from revops.core.api.fields import MoneyField
from revops.parties.models import RecognitionMethod
from revrec.selectors import obligations_of


class ContractObligationList(serializers.ListSerializer):
    """Reads the contract itself (``source="*"``): its active obligations, oldest first."""

    def to_representation(self, data):
        return super().to_representation(list(obligations_of(data)))


class ContractObligationOut(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    line_keys = serializers.SerializerMethodField()
    product = serializers.CharField(source="product.code")
    ssp = MoneyField()
    allocated_amount = MoneyField()
    recognition = serializers.ChoiceField(choices=RecognitionMethod.values)
    start = serializers.DateField()
    end = serializers.DateField(help_text="exclusive")
    variable = serializers.BooleanField()
    series = serializers.BooleanField()
    variable_consideration = MoneyField()
    progress_measure = serializers.ChoiceField(choices=ContractLine.ProgressMeasure.values)

    class Meta:
        list_serializer_class = ContractObligationList

    def get_line_keys(self, po) -> list[str]:
        return sorted({ln.key for ln in po.lines.all()})


def performance_obligations_field() -> serializers.Field:
    return ContractObligationOut(many=True, source="*", read_only=True)
