"""Revenue schedules (api.md: Revenue recognition): a contract's schedule, the list, and decisions."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from billing.contracts.models import Contract
from revops.core.api.fields import DecimalStringField, MoneyField
from revops.core.api.serializers import CommentIn
from revops.core.api.views import ApiGenericView, ApiView
from revops.core.filters import ApiFilterBackend
from revrec.filters import ScheduleFilter
from revrec.models import RevenueSchedule
from revrec.models.obligations import RecognitionMethod
from revrec.reports.ramp import contract_ramps
from revrec.selectors import contract_revenue
from revrec.services.schedules import schedule_decide


class ScheduleLineOut(serializers.Serializer):
    period = serializers.CharField()
    amount = MoneyField(currency="schedule.currency")
    recognized = serializers.SerializerMethodField()

    def get_recognized(self, line) -> bool:
        return line.posted_entry_id is not None


class ScheduleOut(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    status = serializers.ChoiceField(choices=RevenueSchedule.Status.choices)
    treatment = serializers.ChoiceField(choices=RevenueSchedule.Treatment.choices)
    method = serializers.ChoiceField(choices=RecognitionMethod.choices)
    amount = MoneyField()
    currency = serializers.CharField()
    contract = serializers.IntegerField(source="obligation.contract_id")
    contract_number = serializers.CharField(source="obligation.contract.number")
    performance_obligation = serializers.IntegerField(source="obligation_id")
    po_key = serializers.CharField(source="obligation.key")
    prepared_by = serializers.CharField(source="prepared_by.username", allow_null=True, default=None)
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)
    comment = serializers.CharField(source="decision_comment")
    periods = ScheduleLineOut(source="lines", many=True)


# The contract's schedule comes from revrec.selectors.contract_revenue (amounts as Decimals); these
# serializers state its shape and render each amount at the contract currency's minor unit.
class ContractSchedulePeriodOut(serializers.Serializer):
    period = serializers.CharField()
    amount = MoneyField()
    recognized = serializers.BooleanField()


class ContractScheduleVersionOut(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    status = serializers.ChoiceField(choices=RevenueSchedule.Status.choices)
    treatment = serializers.ChoiceField(choices=RevenueSchedule.Treatment.choices)
    periods = ContractSchedulePeriodOut(many=True)


class ObligationRevenueOut(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    line_keys = serializers.ListField(child=serializers.CharField())
    product = serializers.CharField()
    ssp = MoneyField()
    ssp_source = serializers.CharField()
    allocated_amount = MoneyField()
    variable = serializers.BooleanField()
    recognition = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()
    recognized_to_date = MoneyField()
    deferred = MoneyField()
    unbilled = MoneyField()
    schedule = ContractScheduleVersionOut(allow_null=True)


class RampStepRevenueOut(serializers.Serializer):
    """One ramp step: what the contract bills for it against what the schedule recognizes over the
    same days (accounting.md §5a), and the position at the step's end."""

    # "from" is a Python keyword: the field is named below the class.
    to = serializers.DateField(help_text="exclusive")
    unit_price = DecimalStringField(allow_null=True)
    amount = MoneyField(allow_null=True)
    billing = MoneyField(help_text="the step's invoices as the contract prices them")
    revenue = MoneyField(help_text="the schedule's revenue over the step's days")
    difference = MoneyField(help_text="billing − revenue of the step")
    balance_at_end = MoneyField(help_text="cumulative billing − revenue at the step's end")
    position_at_end = serializers.ChoiceField(
        choices=["contract_asset", "contract_liability", "none"],
        help_text="contract_asset: unbilled receivable (revenue ahead of invoices); contract_liability: deferred revenue",
    )
    billed = MoneyField(help_text="finalized invoices so far for the step's service")
    recognized = MoneyField(help_text="revenue posted so far for the step's days")


RampStepRevenueOut._declared_fields["from"] = serializers.DateField()


class RampRevenueOut(serializers.Serializer):
    line = serializers.CharField()
    obligation = serializers.CharField(allow_null=True)
    recognition = serializers.CharField(allow_null=True)
    allocated_amount = MoneyField(allow_null=True)
    schedule_status = serializers.CharField(allow_null=True)
    billing_total = MoneyField()
    revenue_total = MoneyField()
    steps = RampStepRevenueOut(many=True)


class ContractScheduleOut(serializers.Serializer):
    contract = serializers.IntegerField()
    currency = serializers.CharField()
    performance_obligations = ObligationRevenueOut(many=True)
    ramps = RampRevenueOut(
        many=True, help_text="Ramp lines: invoices vs revenue per step (accounting.md §5a); [] without one"
    )


class ContractScheduleView(ApiView):
    area = "revenue"

    @extend_schema(responses=ContractScheduleOut)
    def get(self, request, pk):
        contract = get_object_or_404(Contract, pk=pk)
        revenue = {**contract_revenue(contract), "ramps": contract_ramps(contract)}
        return Response(ContractScheduleOut(revenue, context={"currency": revenue["currency"]}).data)


class ScheduleListView(ApiGenericView):
    area = "revenue"
    list_view = True

    filter_backends = [ApiFilterBackend]
    filterset_class = ScheduleFilter

    def get_queryset(self):
        return RevenueSchedule.objects.select_related(
            "obligation__contract", "prepared_by", "decided_by"
        ).prefetch_related("lines")

    @extend_schema(responses=ScheduleOut)
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(ScheduleOut(page, many=True).data)


def _schedule(pk) -> RevenueSchedule:
    return get_object_or_404(RevenueSchedule.objects.select_related("obligation__contract"), pk=pk)


class ScheduleApproveView(ApiView):
    area = "revenue"
    write_area = "approvals"
    approve = True

    @extend_schema(request=CommentIn, responses=ScheduleOut)
    def post(self, request, pk):
        data = CommentIn(data=request.data)
        data.is_valid(raise_exception=True)
        sched = schedule_decide(
            schedule=_schedule(pk),
            user=request.user,
            approve=self.approve,
            comment=data.validated_data["comment"],
        )
        return Response(ScheduleOut(sched).data)


class ScheduleRejectView(ScheduleApproveView):
    approve = False
