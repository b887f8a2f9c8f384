"""Contracts API (api.md: Customers, contracts, usage): create, read, activate, amend (and preview),
terminate. Customers: billing/api/customers.py."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from billing.contracts import services
from billing.contracts.filters import ContractFilter
from billing.contracts.models import Contract, ScheduledChange
from billing.contracts.representation import ContractOut, ContractPendingOut, ScheduledChangeOut
from billing.contracts.services import scheduled
from revops.core.api.fields import (
    BoundedDateField,
    DecimalStringField,
    MoneyField,
    QuantityInput,
    UnitPriceInput,
)
from revops.core.api.serializers import InputSerializer
from revops.core.api.views import ApiGenericView, ApiView
from revops.core.filters import ApiFilterBackend
from revops.parties.models import RecognitionMethod


class RampStepIn(InputSerializer):
    """A ramp step (accounting.md §5a): the line's price from ``from`` on — ``unit_price`` (per unit
    per billing period) or ``amount`` (the line's fee per billing period), one of the two."""

    # "from" is a Python keyword: the field is named below the class.
    unit_price = UnitPriceInput(required=False, allow_null=True)
    amount = DecimalStringField(required=False, allow_null=True)


RampStepIn._declared_fields["from"] = BoundedDateField()


class LineIn(InputSerializer):
    key = serializers.SlugField(max_length=64)
    product = serializers.CharField(max_length=64)
    plan = serializers.CharField(max_length=64, required=False, allow_null=True)
    quantity = QuantityInput(required=False)
    unit_price = UnitPriceInput(required=False, allow_null=True)
    amount = DecimalStringField(required=False, allow_null=True)
    ssp = DecimalStringField(required=False, allow_null=True)
    recognition = serializers.ChoiceField(choices=RecognitionMethod.choices, required=False, allow_blank=True)
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
    ramp = RampStepIn(
        many=True,
        required=False,
        help_text="A recurring line's price steps, ascending, the first on the line's start (ramp deal)",
    )
    trial_days = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=366, help_text="This line starts with a trial"
    )
    trial_price = DecimalStringField(
        required=False, allow_null=True, help_text="The trial's price (omitted or 0: a free trial)"
    )


class RenewalIn(InputSerializer):
    """A contract's renewal policy (issue 17 §1; accounting.md §11)."""

    policy = serializers.ChoiceField(choices=["none", "termed", "evergreen"])
    term_months = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=120, help_text="termed only"
    )
    notice_days = serializers.IntegerField(required=False, default=0, min_value=0, max_value=730)
    uplift_percent = DecimalStringField(
        required=False, min_value=Decimal(0), max_value=Decimal(100), max_digits=6, decimal_places=2
    )
    uplift_to_list = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Renew plan lines at the list price of the plan version in force on the renewal date",
    )


def _renewal_args(validated: dict | None) -> dict | None:
    if validated is None:
        return None
    out = {k: v for k, v in validated.items() if v is not None or k == "term_months"}
    if "uplift_percent" in out:
        out["uplift_percent"] = str(out["uplift_percent"])
    if out.get("term_months") is None:
        out.pop("term_months", None)
    return out


class ContractIn(InputSerializer):
    customer = serializers.CharField(max_length=128, help_text="external_id (or id)")  # Customer.external_id
    currency = serializers.CharField(max_length=3)
    start_date = BoundedDateField()
    end_date = BoundedDateField(help_text="exclusive")
    billing_anchor = serializers.ChoiceField(choices=["calendar", "anniversary"], default="calendar")
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    renewal = RenewalIn(required=False, help_text="Absent: the contract does not renew")
    lines = LineIn(many=True)
    trial_days = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=366,
        help_text="Every line starts with a trial",
    )
    trial_price = DecimalStringField(
        required=False, allow_null=True, help_text="The trial's price (omitted or 0: a free trial)"
    )


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


class CancelIn(InputSerializer):
    at = serializers.ChoiceField(
        choices=list(scheduled.AT),
        help_text="now: terminated today, fees billed in advance past today credited; period_end / term_end: "
        "scheduled for the end of the current billing period / of the term (withdrawable until then)",
    )


class ScheduledChangeIn(InputSerializer):
    effective_date = BoundedDateField(help_text="A day after today")
    changes = serializers.ListField(
        child=serializers.DictField(), help_text="The changes of POST /contracts/{id}/amend"
    )


class ContractListView(ApiGenericView):
    area = "contracts"
    list_view = True

    filter_backends = [ApiFilterBackend]
    filterset_class = ContractFilter

    def get_queryset(self):
        return Contract.objects.select_related("customer").prefetch_related(
            Prefetch("scheduled_changes", queryset=ScheduledChange.objects.select_related("approval")),
            "trials",
        )

    @extend_schema(responses=ContractOut)
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(ContractOut(page, many=True).data)

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
            renewal=_renewal_args(v.get("renewal")),
            trial_days=v.get("trial_days"),
            trial_price=request.data.get("trial_price"),
            lines=list(request.data.get("lines") or []),
            actor=request.user,
        )
        return Response(ContractOut(contract).data, status=201)


def _contract(pk) -> Contract:
    return get_object_or_404(Contract.objects.select_related("customer"), pk=pk)


class ContractDetailView(ApiView):
    area = "contracts"

    @extend_schema(responses=ContractOut)
    def get(self, request, pk):
        return Response(ContractOut(_contract(pk)).data)


def _maybe_pending(contract: Contract) -> Response:
    """200 with the contract, or 202 with it and ``approval`` when the change waits for an approver."""
    if getattr(contract, "override_approval", None) is None:
        return Response(ContractOut(contract).data)
    return Response(ContractPendingOut(contract).data, status=202)


class ContractActivateView(ApiView):
    area = "contracts"

    @extend_schema(request=None, responses={200: ContractOut, 202: ContractPendingOut})
    def post(self, request, pk):
        return _maybe_pending(services.contract_activate(contract=_contract(pk), actor=request.user))


class ContractAmendView(ApiView):
    area = "contracts"

    @extend_schema(request=AmendIn, responses={200: ContractOut, 202: ContractPendingOut})
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
        return Response(ContractOut(contract).data)


class ContractCancelView(ApiView):
    area = "contracts"

    @extend_schema(
        request=CancelIn,
        responses=ContractOut,
        description="Cancel now (the contract is terminated today; fees billed in advance past today are "
        "credited on the next invoice) or at the end of the current billing period or of the term (a "
        "scheduled change, listed in scheduled_changes, withdrawn with DELETE "
        "/contracts/{id}/scheduled-changes/{sid}).",
    )
    def post(self, request, pk):
        contract = _contract(pk)
        data = CancelIn(data=request.data)
        data.is_valid(raise_exception=True)
        contract = scheduled.contract_cancel(
            contract=contract, at=data.validated_data["at"], actor=request.user
        )
        return Response(ContractOut(contract).data)


class ScheduledChangeListView(ApiView):
    area = "contracts"

    @extend_schema(request=ScheduledChangeIn, responses={201: ScheduledChangeOut})
    def post(self, request, pk):
        contract = _contract(pk)
        data = ScheduledChangeIn(data=request.data)
        data.is_valid(raise_exception=True)
        change = scheduled.scheduled_change_create(
            contract=contract,
            effective_date=data.validated_data["effective_date"],
            changes=list(request.data.get("changes") or []),
            actor=request.user,
        )
        return Response(ScheduledChangeOut(change).data, status=201)


class ScheduledChangeDetailView(ApiView):
    area = "contracts"

    @extend_schema(
        request=None,
        responses={200: ScheduledChangeOut},
        description="Withdraws a scheduled change (status withdrawn; the record stays, audited). 409 once it "
        "applied, failed or was withdrawn.",
    )
    def delete(self, request, pk, sid):
        contract = _contract(pk)
        change = get_object_or_404(ScheduledChange.objects.filter(contract=contract), pk=sid)
        change = scheduled.scheduled_change_withdraw(change=change, actor=request.user)
        return Response(ScheduledChangeOut(change).data)


class ContractRenewalView(ApiView):
    """``PUT /contracts/{id}/renewal``: change the renewal policy (audited). ``{"policy": "none"}`` is a
    notice of non-renewal: 409 once the notice deadline has passed."""

    area = "contracts"

    @extend_schema(request=RenewalIn, responses=ContractOut)
    def put(self, request, pk):
        from billing.contracts.services.renewals import renewal_policy_set

        contract = _contract(pk)
        data = RenewalIn(data=request.data)
        data.is_valid(raise_exception=True)
        renewal_policy_set(contract=contract, renewal=_renewal_args(data.validated_data), actor=request.user)
        return Response(ContractOut(_contract(pk)).data)


class ContractTrialCancelView(ApiView):
    area = "contracts"

    @extend_schema(request=None, responses=ContractOut)
    def post(self, request, pk):
        contract = services.contract_trial_cancel(contract=_contract(pk), actor=request.user)
        return Response(ContractOut(contract).data)
