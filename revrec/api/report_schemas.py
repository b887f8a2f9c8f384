"""The documented shapes of the JSON reports (what ``*_payload`` in revrec/api/reports.py answers):
response schemas a generated client parses, never a bare ``{"currency"}`` stub."""

from __future__ import annotations

from rest_framework import serializers


def _money(help_text: str = "") -> serializers.CharField:
    return serializers.CharField(help_text=help_text or "Decimal string at the currency's minor unit")


class TieOutOut(serializers.Serializer):
    computed_closing = _money()
    ledger_closing = _money()
    difference = _money()
    ties = serializers.BooleanField()


class ContractRollforwardOut(serializers.Serializer):
    contract = serializers.IntegerField(allow_null=True, help_text="null for postings without a contract")
    number = serializers.CharField()
    customer = serializers.CharField()
    position = serializers.ChoiceField(choices=["liability", "asset", "none"])
    ties = serializers.BooleanField()
    opening = _money()
    billed = _money()
    recognized = _money()
    closing = _money()
    contract_liability = _money()
    contract_asset = _money()
    ledger_closing = _money()


class DeferredRevenueRollforwardOut(serializers.Serializer):
    period = serializers.CharField(help_text="YYYY-MM")
    currency = serializers.CharField()
    opening = _money()
    billed = _money()
    recognized = _money()
    closing = _money()
    contract_assets = _money()
    contract_liabilities = _money()
    tie_out = TieOutOut()
    ledger_accounts = serializers.DictField(child=_money(), help_text="Closing balance per account code")
    basis = serializers.CharField()
    by_contract = ContractRollforwardOut(many=True)


class RevenueGroupOut(serializers.Serializer):
    key = serializers.CharField(allow_null=True, help_text="Product code or customer external_id")
    name = serializers.CharField()
    recognized = _money()
    contra = _money()
    net = _money()
    share = serializers.CharField(allow_null=True, help_text="Percent of net revenue (decimal string)")


class RevenueByGroupOut(serializers.Serializer):
    start = serializers.CharField(help_text="YYYY-MM")
    end = serializers.CharField(help_text="YYYY-MM, exclusive")
    group_by = serializers.ChoiceField(choices=["product", "customer"])
    currency = serializers.CharField()
    recognized = _money()
    contra = _money()
    net = _money()
    basis = serializers.CharField()
    results = RevenueGroupOut(many=True)
