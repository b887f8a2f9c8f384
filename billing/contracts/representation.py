"""A contract as the API shows it (api.md: Customers, contracts, usage): ``ContractOut`` with its
lines (``ContractLineOut``); amounts at the contract currency's minor unit, quantities and unit prices
at their stored precision, normalized.

Apps further up the dependency chain add fields without billing importing them (house style:
dependency direction): revrec registers ``performance_obligations`` with
:func:`billing.contracts.extensions.register_contract_field`, a read-only serializer field whose source is the contract itself,
so the OpenAPI schema types what it adds. Amounts read the currency from the object they belong to
(a line's contract, an obligation's own), so a page of contracts in several currencies is right."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.contracts.extensions import contract_fields
from billing.contracts.models import Contract, ContractLine, ContractTrial, ScheduledChange
from revops.core.api.fields import DecimalStringField, MoneyField, decimal_str, money_str
from revops.core.api.serializers import ApprovalRefOut
from revops.parties.models import RecognitionMethod


def _blank_as_null(value: str) -> str | None:
    return value or None


class RampStepOut(serializers.Serializer):
    """A ramp step: ``from`` and either ``unit_price`` (normalized decimal string) or ``amount`` (at
    the contract currency's minor unit). Rendered by :class:`ContractLineOut`, which knows the currency."""

    unit_price = DecimalStringField(required=False)
    amount = serializers.CharField(required=False, help_text="decimal string at the currency's minor unit")

    def to_representation(self, instance):
        return dict(instance)


def ramp_out(steps: list[dict], currency: str) -> list[dict]:
    out = []
    for step in steps or ():
        item = {"from": step["from"]}
        if step.get("unit_price") is not None:
            item["unit_price"] = decimal_str(Decimal(step["unit_price"]))
        else:
            item["amount"] = money_str(Decimal(step["amount"]), currency)
        out.append(item)
    return out


RampStepOut._declared_fields["from"] = serializers.DateField()


class ContractLineOut(serializers.Serializer):
    """One revision of a contract line (an amendment adds a revision; ``revision`` counts them)."""

    id = serializers.IntegerField()
    key = serializers.SlugField()
    revision = serializers.IntegerField()
    product = serializers.CharField(source="product.code")
    plan = serializers.CharField(source="plan.code", allow_null=True, default=None)
    billing = serializers.ChoiceField(choices=ContractLine.Billing.values)
    quantity = DecimalStringField()
    unit_price = DecimalStringField(allow_null=True)
    amount = MoneyField(currency="contract.currency", allow_null=True)
    ssp = MoneyField(currency="contract.currency", allow_null=True)
    recognition = serializers.ChoiceField(choices=RecognitionMethod.choices, allow_null=True)
    series = serializers.BooleanField(allow_null=True)
    service_start = serializers.DateField(allow_null=True)
    service_end = serializers.DateField(allow_null=True)
    variable_method = serializers.ChoiceField(
        choices=[c for c in ContractLine.VariableMethod.values if c], allow_null=True
    )
    variable_estimate = MoneyField(currency="contract.currency", allow_null=True)
    variable_constrained = MoneyField(currency="contract.currency", allow_null=True)
    variable_allocation = serializers.ChoiceField(choices=ContractLine.VariableAllocation.values)
    relates_specifically = serializers.BooleanField()
    consistent_with_objective = serializers.BooleanField()
    progress_measure = serializers.ChoiceField(choices=ContractLine.ProgressMeasure.values)
    progress_places = serializers.IntegerField(allow_null=True)
    ramp = RampStepOut(many=True, help_text="Price steps of a ramp line; [] for any other line")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["ramp"] = ramp_out(instance.ramp, instance.contract.currency)
        data["recognition"] = _blank_as_null(data["recognition"])
        data["variable_method"] = _blank_as_null(data["variable_method"])
        return data


class ScheduledApprovalOut(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()


class ScheduledChangeOut(serializers.Serializer):
    """A change the contract takes on a future date (issue 17 §4): an amendment or a cancellation."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ScheduledChange.Kind.values)
    at = serializers.ChoiceField(
        source="cancel_at", choices=["period_end", "term_end"], allow_null=True, help_text="cancellations"
    )
    effective_date = serializers.DateField(help_text="a cancellation: the first day no longer served")
    changes = serializers.JSONField(
        help_text="an amendment's changes, as POST /contracts/{id}/amend takes them"
    )
    status = serializers.ChoiceField(choices=ScheduledChange.Status.values)
    reason = serializers.CharField(allow_null=True, help_text="why it failed")
    version = serializers.IntegerField(source="applied_version", allow_null=True)
    approval = ScheduledApprovalOut(allow_null=True, help_text="awaiting_approval: the price override")
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["at"] = _blank_as_null(data["at"])
        data["reason"] = _blank_as_null(data["reason"])
        return data


class UnitPriceChangeOut(serializers.Serializer):
    # "from" is a Python keyword: declared below.
    to = serializers.CharField(allow_null=True, help_text="null: the plan's price")


UnitPriceChangeOut._declared_fields["from"] = serializers.CharField(allow_null=True)


class RenewedLineOut(serializers.Serializer):
    renews = serializers.CharField(help_text="the key of the line it continues")
    key = serializers.CharField(help_text="the renewed line's key")
    root = serializers.CharField(help_text="the key of the line as first contracted")
    unit_price = UnitPriceChangeOut()


class RenewalReasonOut(serializers.Serializer):
    reason = serializers.ChoiceField(choices=["below_list", "reduced", "custom", "term_change"])
    line = serializers.CharField(required=False, allow_null=True, default=None)
    threshold_pct = serializers.CharField(required=False, allow_null=True, default=None)
    discount_pct = serializers.CharField(required=False, allow_null=True, default=None)
    reduction_pct = serializers.CharField(required=False, allow_null=True, default=None)
    pays = serializers.CharField(required=False, allow_null=True, default=None)
    list_pays = serializers.CharField(required=False, allow_null=True, default=None)
    previous_pays = serializers.CharField(required=False, allow_null=True, default=None)
    from_months = serializers.IntegerField(required=False, allow_null=True, default=None)
    to_months = serializers.IntegerField(required=False, allow_null=True, default=None)


class RenewalRecordOut(serializers.Serializer):
    """One renewal of the contract: applied (a new version), waiting for an approver, or rejected."""

    sequence = serializers.IntegerField()
    term_start = serializers.DateField()
    term_end = serializers.DateField(help_text="exclusive")
    status = serializers.ChoiceField(choices=["pending_approval", "applied", "rejected"])
    contract_version = serializers.IntegerField(allow_null=True)
    term_price = MoneyField(currency="contract.currency", allow_null=True)
    uplift_percent = serializers.DecimalField(max_digits=6, decimal_places=2, coerce_to_string=True)
    uplift_to_list = serializers.BooleanField()
    reasons = RenewalReasonOut(many=True, help_text="why it needs an approver (empty: it did not)")
    lines = RenewedLineOut(many=True)


class RenewalOut(serializers.Serializer):
    """The renewal policy (issue 17 §1) and what it means today."""

    policy = serializers.ChoiceField(choices=["none", "termed", "evergreen"])
    term_months = serializers.IntegerField(allow_null=True)
    notice_days = serializers.IntegerField()
    uplift_percent = serializers.CharField()
    uplift_to_list = serializers.BooleanField()
    renews_on = serializers.DateField(allow_null=True, help_text="first day of the next term, if it renews")
    next_term_end = serializers.DateField(allow_null=True)
    notice_deadline = serializers.DateField(
        allow_null=True, help_text="last day to give notice of non-renewal"
    )
    renewals = RenewalRecordOut(many=True)


def renewal_representation(contract: Contract) -> dict:
    from billing.contracts.renewals import policy_of, renewal_outlook
    from billing.contracts.services.renewals import policy_dict

    outlook = renewal_outlook(contract)
    return {
        **policy_dict(policy_of(contract)),
        "renews_on": outlook.renews_on,
        "next_term_end": outlook.next_term_end,
        "notice_deadline": outlook.notice_deadline,
        "renewals": list(contract.renewals.select_related("contract").order_by("sequence")),
    }


class ContractTrialOut(serializers.Serializer):
    """A trial the contract (``line`` null) or one of its lines started with (accounting.md §12)."""

    line = serializers.CharField(source="line_key", allow_null=True)
    trial_line = serializers.CharField(
        source="trial_line_key", allow_null=True, help_text="The one-time line billing the trial price"
    )
    days = serializers.IntegerField()
    price = MoneyField(currency="contract.currency", allow_null=True)
    starts_on = serializers.DateField()
    converts_on = serializers.DateField()
    status = serializers.ChoiceField(choices=ContractTrial.Status.values)
    decided_on = serializers.DateField(allow_null=True)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["line"] = _blank_as_null(data["line"])
        data["trial_line"] = _blank_as_null(data["trial_line"])
        return data


class ContractOut(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=Contract.Status.values)
    customer = serializers.CharField(source="customer.external_id")
    currency = serializers.CharField()
    start_date = serializers.DateField()
    end_date = serializers.DateField(help_text="exclusive")
    billing_anchor = serializers.ChoiceField(choices=Contract.BillingAnchor.values)
    version = serializers.IntegerField()
    terminated_on = serializers.DateField(allow_null=True)
    transaction_price = MoneyField()
    lines = serializers.SerializerMethodField()
    scheduled_changes = serializers.SerializerMethodField()
    renewal = serializers.SerializerMethodField()
    trials = serializers.SerializerMethodField()
    # performance_obligations: registered by revrec (register_contract_field)

    def get_fields(self):
        fields = super().get_fields()
        for name, make in contract_fields().items():
            fields[name] = make()
        return fields

    @extend_schema_field(RenewalOut)
    def get_renewal(self, contract) -> dict:
        return RenewalOut(renewal_representation(contract), context=self.context).data

    @extend_schema_field(ContractLineOut(many=True))
    def get_lines(self, contract) -> list:
        lines = contract.lines.select_related("product", "plan").order_by("position", "revision")
        return ContractLineOut(lines, many=True, context=self.context).data

    @extend_schema_field(ScheduledChangeOut(many=True))
    def get_scheduled_changes(self, contract) -> list:
        changes = contract.scheduled_changes.all()  # Meta ordering: effective date, then id
        return ScheduledChangeOut(changes, many=True, context=self.context).data

    @extend_schema_field(ContractTrialOut(many=True))
    def get_trials(self, contract) -> list:
        return ContractTrialOut(contract.trials.all(), many=True, context=self.context).data


class ContractPendingOut(ContractOut):
    """202: the contract as it still is, and the approval request the change waits for."""

    approval = ApprovalRefOut(source="override_approval")
