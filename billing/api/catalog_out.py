"""What the catalog API answers (api.md: Catalog and pricing): plans, price versions and their
charges as DRF serializers, so the OpenAPI schema states every field. Catalog prices (charge
properties, a version's minimum) keep the precision they were stored with."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.catalog import selectors, services
from billing.models import Charge, Plan, PlanVersion
from revops.core.api.fields import DecimalStringField
from revops.core.api.serializers import OmitNullMixin


class ChargeFilterOut(serializers.Serializer):
    match = serializers.JSONField(help_text="{prop: value}: the events this price applies to")
    properties = serializers.JSONField(help_text="the charge model's properties for them")


class ChargeOut(OmitNullMixin, serializers.Serializer):
    """api.md "Charge"; ``name``, ``product``, ``meter``, ``field`` and ``filters`` only when set."""

    omit_null = ("name", "product", "meter", "field", "filters")

    code = serializers.CharField()
    model = serializers.ChoiceField(choices=Charge.Model.choices)
    properties = serializers.JSONField(help_text="by model (api.md: Charge)")
    timing = serializers.ChoiceField(choices=Charge.Timing.choices)
    name = serializers.SerializerMethodField()
    product = serializers.CharField(source="product.code", allow_null=True, default=None)
    meter = serializers.CharField(source="meter.code", allow_null=True, default=None)
    field = serializers.SerializerMethodField()
    filters = serializers.SerializerMethodField()

    def get_name(self, charge: Charge) -> str | None:
        return charge.name or None

    def get_field(self, charge: Charge) -> str | None:
        return charge.field or None

    @extend_schema_field(ChargeFilterOut(many=True))
    def get_filters(self, charge: Charge) -> list | None:
        return ChargeFilterOut(charge.filters, many=True).data if charge.filters else None


class PublishRequestOut(serializers.Serializer):
    """A draft's pending price_version_publish request."""

    id = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.CharField()
    reasons = serializers.SerializerMethodField()

    def get_reasons(self, approval) -> list[str]:
        return list(approval.payload.get("reasons", []))


class VersionOut(serializers.Serializer):
    number = serializers.IntegerField()
    effective_from = serializers.DateField()
    status = serializers.ChoiceField(choices=PlanVersion.Status.choices)
    minimum_amount = DecimalStringField(allow_null=True)
    notes = serializers.CharField(allow_blank=True)
    published_at = serializers.DateTimeField(allow_null=True)
    charges = ChargeOut(many=True, source="charges.all")
    approval = serializers.SerializerMethodField()

    @extend_schema_field(PublishRequestOut(allow_null=True))
    def get_approval(self, version: PlanVersion) -> dict | None:
        if version.is_published:
            return None
        pending = services.publish_request_for(version)
        return PublishRequestOut(pending).data if pending is not None else None


class VersionPendingOut(VersionOut):
    detail = serializers.CharField()


class VersionRefOut(serializers.Serializer):
    number = serializers.IntegerField()
    effective_from = serializers.DateField()
    status = serializers.ChoiceField(choices=PlanVersion.Status.choices)


@dataclass(frozen=True)
class PlanView:
    """A plan with the version in force on a date (``current``: None before one is published)."""

    plan: Plan
    current: PlanVersion | None
    versions: list[PlanVersion] = field(default_factory=list)


def plan_view(plan: Plan, *, as_of=None) -> PlanView:
    versions = list(selectors.versions_of(plan))
    published = any(v.is_published for v in versions)
    current = selectors.version_for_date(plan, as_of or timezone.localdate()) if published else None
    return PlanView(plan=plan, current=current, versions=versions)


class PlanOut(serializers.Serializer):
    id = serializers.IntegerField(source="plan.pk")
    code = serializers.CharField(source="plan.code")
    name = serializers.CharField(source="plan.name")
    description = serializers.CharField(source="plan.description", allow_blank=True)
    currency = serializers.CharField(source="plan.currency")
    interval = serializers.ChoiceField(source="plan.interval", choices=Plan.Interval.choices)
    version_policy = serializers.CharField(source="plan.version_policy")
    minimum_amount = DecimalStringField(source="current.minimum_amount", allow_null=True, default=None)
    current_version = serializers.IntegerField(source="current.number", allow_null=True, default=None)
    charges = serializers.SerializerMethodField()
    versions = VersionRefOut(many=True)

    @extend_schema_field(ChargeOut(many=True))
    def get_charges(self, view: PlanView) -> list:
        return ChargeOut(view.current.charges.all(), many=True).data if view.current else []


class PlanPendingOut(PlanOut):
    approval = PublishRequestOut()
    detail = serializers.CharField()
