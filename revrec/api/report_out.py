"""The reports' JSON bodies (api.md: Revenue recognition, Reports) as serializers over the report
dicts of ``revrec.reports`` (Decimals at their stored or rounded scale): every amount a MoneyField at
the report currency's minor unit (the serializer context's ``currency``), every field in the schema.
The CSV and XLSX forms come from ``revrec.exports`` over the same dicts."""

from __future__ import annotations

from rest_framework import serializers

from revops.core.api.fields import MoneyField, PeriodField


class ReportOut(serializers.Serializer):
    """A report body: renders with its own currency in the context."""

    currency = serializers.CharField()

    @classmethod
    def render(cls, report: dict) -> dict:
        return cls(report, context={"currency": report["currency"]}).data


class BasisMixin(serializers.Serializer):
    basis = serializers.CharField(help_text="How the report is computed")


class WaterfallCellOut(serializers.Serializer):
    period = PeriodField()
    amount = MoneyField()


class ReportBandOut(serializers.Serializer):
    label = serializers.CharField()
    amount = MoneyField()


class WaterfallTotalsOut(serializers.Serializer):
    recognized_before = MoneyField()
    cells = WaterfallCellOut(many=True)
    deferred = MoneyField()
    total = MoneyField()


class WaterfallRowOut(WaterfallTotalsOut):
    billed_period = serializers.CharField(help_text='"YYYY-MM", "before" (billed before start) or "unbilled"')
    label = serializers.CharField()


class WaterfallOut(BasisMixin, ReportOut):
    start = PeriodField()
    end = PeriodField(help_text="exclusive")
    months = serializers.ListField(child=PeriodField())
    rows = WaterfallRowOut(many=True)
    totals = WaterfallTotalsOut()
    billed_in_range = MoneyField()
    recognized_in_range = MoneyField()


class TieOutOut(serializers.Serializer):
    computed_closing = MoneyField()
    ledger_closing = MoneyField()
    difference = MoneyField()
    ties = serializers.BooleanField()


class LedgerAccountsOut(serializers.Serializer):
    deferred = MoneyField()
    unbilled = MoneyField()


class ContractRollforwardOut(serializers.Serializer):
    contract = serializers.IntegerField(allow_null=True)
    number = serializers.CharField()
    customer = serializers.CharField(allow_blank=True)
    position = serializers.ChoiceField(choices=["liability", "asset", "none"])
    ties = serializers.BooleanField()
    opening = MoneyField()
    billed = MoneyField()
    recognized = MoneyField()
    closing = MoneyField()
    contract_liability = MoneyField()
    contract_asset = MoneyField()
    ledger_closing = MoneyField()


class DeferredRevenueRollforwardOut(BasisMixin, ReportOut):
    period = PeriodField()
    opening = MoneyField()
    billed = MoneyField()
    recognized = MoneyField()
    closing = MoneyField()
    contract_assets = MoneyField()
    contract_liabilities = MoneyField()
    tie_out = TieOutOut()
    ledger_accounts = LedgerAccountsOut()
    by_contract = ContractRollforwardOut(many=True)


class UnbilledRowOut(serializers.Serializer):
    contract = serializers.IntegerField(allow_null=True)
    number = serializers.CharField()
    customer = serializers.CharField(allow_blank=True)
    performance_obligation = serializers.CharField(source="po_key")
    product = serializers.CharField(allow_blank=True, allow_null=True)
    recognized = MoneyField()
    billed = MoneyField()
    amount = MoneyField()
    oldest_period = PeriodField()
    age_days = serializers.IntegerField()
    buckets = ReportBandOut(many=True)


class UnbilledOut(BasisMixin, ReportOut):
    period = PeriodField()
    as_of = serializers.DateField()
    total = MoneyField()
    billed_ahead = MoneyField()
    net = MoneyField()
    ledger_balance = MoneyField()
    ledger_deferred = MoneyField()
    ledger_net = MoneyField()
    ties = serializers.BooleanField()
    matches_unbilled_account = serializers.BooleanField()
    buckets = ReportBandOut(many=True)
    results = UnbilledRowOut(source="rows", many=True)


class RPOContractOut(serializers.Serializer):
    contract = serializers.IntegerField()
    number = serializers.CharField()
    customer = serializers.CharField(allow_blank=True)
    total = MoneyField()
    bands = ReportBandOut(many=True)


class RPOExcludedOut(serializers.Serializer):
    usage_obligations = serializers.IntegerField()
    awaiting_approval_obligations = serializers.IntegerField()
    awaiting_approval_amount = MoneyField()


class RPOOut(BasisMixin, ReportOut):
    as_of = serializers.DateField()
    total = MoneyField()
    bands = ReportBandOut(many=True)
    excluded = RPOExcludedOut()
    by_contract = RPOContractOut(many=True)


class RevenueGroupOut(serializers.Serializer):
    key = serializers.CharField(source="code", allow_null=True)
    name = serializers.CharField()
    recognized = MoneyField()
    contra = MoneyField()
    net = MoneyField()
    share = serializers.DecimalField(
        max_digits=None, decimal_places=1, allow_null=True, help_text="Percent of net revenue"
    )

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["key"] = data["key"] or None
        return data


class RevenueByGroupOut(BasisMixin, ReportOut):
    start = PeriodField()
    end = PeriodField(help_text="exclusive")
    group_by = serializers.ChoiceField(choices=["product", "customer"])
    recognized = MoneyField()
    contra = MoneyField()
    net = MoneyField()
    results = RevenueGroupOut(source="groups", many=True)


class TrialBalanceAmountsOut(serializers.Serializer):
    opening = MoneyField()
    debits = MoneyField()
    credits = MoneyField()
    closing = MoneyField()


class TrialBalanceAccountOut(TrialBalanceAmountsOut):
    account = serializers.CharField(source="code")
    name = serializers.CharField()
    role = serializers.CharField()


class TrialBalanceOut(ReportOut):
    start = PeriodField()
    end = PeriodField(help_text="exclusive")
    balanced = serializers.BooleanField()
    totals = TrialBalanceAmountsOut()
    accounts = TrialBalanceAccountOut(many=True)


PERCENT = {"max_digits": None, "decimal_places": 2, "allow_null": True}


class SubscriptionMonthOut(serializers.Serializer):
    period = PeriodField()
    opening_mrr = MoneyField(help_text="MRR at the end of the previous month")
    new = MoneyField()
    expansion = MoneyField()
    contraction = MoneyField(help_text="Negative")
    churn = MoneyField(help_text="Negative")
    reactivation = MoneyField()
    renewal = MoneyField(help_text="Renewal uplift: the change of contracts at their renewal (signed)")
    net_new_mrr = MoneyField(help_text="The sum of the movements")
    closing_mrr = MoneyField(help_text="MRR at the end of the month = opening + movements")
    closing_arr = MoneyField(help_text="closing_mrr × 12")
    ties = serializers.BooleanField(help_text="opening + movements = closing")
    customers = serializers.IntegerField(help_text="Customers with MRR at the end of the month")
    arpa = MoneyField(help_text="Average MRR per paying customer")
    nrr = serializers.DecimalField(**PERCENT, help_text="Net revenue retention of the month, percent")
    grr = serializers.DecimalField(**PERCENT, help_text="Gross revenue retention of the month, percent")
    bookings = MoneyField()
    billings = MoneyField()
    revenue = MoneyField()


class SubscriptionTotalsOut(serializers.Serializer):
    new = MoneyField()
    expansion = MoneyField()
    contraction = MoneyField()
    churn = MoneyField()
    reactivation = MoneyField()
    renewal = MoneyField()
    net_new_mrr = MoneyField()
    bookings = MoneyField()
    billings = MoneyField()
    revenue = MoneyField()


class SubscriptionRetentionOut(serializers.Serializer):
    customers = serializers.IntegerField(help_text="Customers with MRR at the opening month end (the cohort)")
    opening_mrr = MoneyField()
    closing_mrr = MoneyField(help_text="The cohort's MRR at the end of the range")
    retained_mrr = MoneyField(help_text="Each cohort customer's closing MRR capped at its opening MRR")
    nrr = serializers.DecimalField(**PERCENT, help_text="closing_mrr ÷ opening_mrr, percent")
    grr = serializers.DecimalField(**PERCENT, help_text="retained_mrr ÷ opening_mrr, percent")


class SubscriptionCustomerOut(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    name = serializers.CharField()
    opening_mrr = MoneyField()
    new = MoneyField()
    expansion = MoneyField()
    contraction = MoneyField()
    churn = MoneyField()
    reactivation = MoneyField()
    renewal = MoneyField()
    closing_mrr = MoneyField()


class SubscriptionMetricsOut(BasisMixin, ReportOut):
    start = PeriodField()
    end = PeriodField(help_text="exclusive")
    usage_note = serializers.CharField(help_text="How usage-priced lines count in MRR")
    opening_mrr = MoneyField(help_text="MRR at the end of the month before start")
    closing_mrr = MoneyField(help_text="MRR at the end of the last month of the range")
    closing_arr = MoneyField()
    customers = serializers.IntegerField(help_text="Customers with MRR at the end of the range")
    ties = serializers.BooleanField(help_text="Every month: opening + movements = closing")
    months = SubscriptionMonthOut(source="rows", many=True)
    totals = SubscriptionTotalsOut()
    retention = SubscriptionRetentionOut()
    by_customer = SubscriptionCustomerOut(many=True)
