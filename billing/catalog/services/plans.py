"""Plan and price-version services: create and update a plan, create a version, edit and discard a
draft. One transaction each, audited. A published version is immutable; a price change is a new
version with an effective date, published through ``publication``."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from billing.catalog.services.guards import closed_period_errors, raise_invalid
from billing.catalog.services.publication import plan_version_publish, refuse_if_awaiting_approval
from billing.catalog.validation import clean_amount, clean_charges
from billing.models import Charge, Plan, PlanVersion
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.errors import FieldError, InvalidTransition, ValidationFailed
from revops.money import is_currency


def _save_charges(version: PlanVersion, cleaned: list[dict]) -> None:
    Charge.objects.bulk_create(
        [
            Charge(
                version=version,
                position=i,
                code=c["code"],
                name=c["name"],
                product=c["product"],
                meter=c["meter"],
                model=c["model"],
                properties=c["properties"],
                timing=c["timing"],
                filters=c["filters"],
                field=c["field"],
            )
            for i, c in enumerate(cleaned)
        ]
    )


def _charges_snapshot(cleaned: list[dict]) -> list[dict]:
    return [
        {
            **c,
            "product": c["product"].code if c["product"] else None,
            "meter": c["meter"].code if c["meter"] else None,
        }
        for c in cleaned
    ]


@transaction.atomic
def plan_create(
    *,
    code: str,
    name: str,
    currency: str,
    interval: str = "month",
    charges: list | None = None,
    minimum_amount=None,
    effective_from: date | None = None,
    version_policy: str = "on_effective_date",
    description: str = "",
    publish: bool = True,
    actor=None,
) -> Plan:
    """Create a plan and its first version (effective ``effective_from``, default today): published at
    once (the API), or kept as a draft to be priced in the editor first (``publish=False``, the UI)."""
    errors: list[FieldError] = []
    currency = (currency or "").upper()
    if not is_currency(currency):
        errors.append(FieldError("currency", f"Unknown currency '{currency}'."))
    if interval not in Plan.Interval.values:
        errors.append(FieldError("interval", f"Must be one of: {', '.join(Plan.Interval.values)}."))
    if version_policy not in Plan.VersionPolicy.values:
        errors.append(
            FieldError("version_policy", f"Must be one of: {', '.join(Plan.VersionPolicy.values)}.")
        )
    if Plan.objects.filter(code=code).exists():
        errors.append(FieldError("code", f"A plan with code '{code}' already exists."))
    minimum = clean_amount(minimum_amount, "minimum_amount", errors)
    cleaned, charge_errors = clean_charges(charges or [], currency=currency or "USD")
    errors.extend(charge_errors)
    if publish and not charges:
        errors.append(FieldError("charges", "A published plan needs at least one charge."))
    errors.extend(closed_period_errors(effective_from or timezone.localdate()))
    raise_invalid(errors)
    plan = Plan.objects.create(
        code=code,
        name=name,
        currency=currency,
        interval=interval,
        version_policy=version_policy,
        description=description,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    version = PlanVersion.objects.create(
        plan=plan,
        number=1,
        effective_from=effective_from or timezone.localdate(),
        minimum_amount=minimum,
        status=PlanVersion.Status.DRAFT,
        created_by=plan.created_by,
    )
    _save_charges(version, cleaned)
    audit_record(
        actor=actor,
        action=AuditAction.PLAN_CREATED,
        obj=plan,
        changes={"code": code, "currency": currency, "interval": interval, "version_policy": version_policy},
    )
    audit_record(
        actor=actor,
        action=AuditAction.PLAN_VERSION_CREATED,
        obj=version,
        changes={
            "number": 1,
            "effective_from": version.effective_from,
            "minimum_amount": minimum,
            "charges": _charges_snapshot(cleaned),
        },
    )
    if publish:  # at once, or a request for an approver when back-dated
        plan_version_publish(version=version, actor=actor)
    return plan


@transaction.atomic
def plan_update(*, plan: Plan, actor=None, **changes) -> Plan:
    allowed = {"name", "description", "version_policy"}
    bad = set(changes) - allowed
    if bad:
        raise ValidationFailed(
            "These fields cannot be changed on a plan; publish a new version instead.",
            errors=[FieldError(f, "read-only") for f in sorted(bad)],
        )
    if "version_policy" in changes and changes["version_policy"] not in Plan.VersionPolicy.values:
        raise ValidationFailed("Unknown version policy.", field="version_policy")
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    diff = {k: {"from": getattr(plan, k), "to": v} for k, v in changes.items() if getattr(plan, k) != v}
    for key, value in changes.items():
        setattr(plan, key, value)
    plan.save()
    if diff:
        audit_record(actor=actor, action=AuditAction.PLAN_UPDATED, obj=plan, changes=diff)
    return plan


@transaction.atomic
def plan_version_create(
    *,
    plan: Plan,
    effective_from: date,
    charges: list,
    minimum_amount=None,
    notes: str = "",
    publish: bool = True,
    actor=None,
) -> PlanVersion:
    """A new price version. Published at once (API default) or kept as a draft to simulate first."""
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    errors: list[FieldError] = []
    if effective_from is None:
        errors.append(FieldError("effective_from", "The date the new prices take effect is required."))
    errors.extend(closed_period_errors(effective_from))
    minimum = clean_amount(minimum_amount, "minimum_amount", errors)
    cleaned, charge_errors = clean_charges(charges, currency=plan.currency)
    errors.extend(charge_errors)
    if (
        publish
        and effective_from
        and plan.versions.filter(status=PlanVersion.Status.PUBLISHED, effective_from=effective_from).exists()
    ):
        errors.append(
            FieldError("effective_from", f"A published version already takes effect on {effective_from}.")
        )
    raise_invalid(errors)
    number = (plan.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    user = actor if getattr(actor, "pk", None) else None
    version = PlanVersion.objects.create(
        plan=plan,
        number=number,
        effective_from=effective_from,
        minimum_amount=minimum,
        notes=notes,
        created_by=user,
        status=PlanVersion.Status.DRAFT,
    )
    _save_charges(version, cleaned)
    _check_rates(version)
    audit_record(
        actor=actor,
        action=AuditAction.PLAN_VERSION_CREATED,
        obj=version,
        changes={
            "plan": plan.code,
            "number": number,
            "effective_from": effective_from,
            "minimum_amount": minimum,
            "charges": _charges_snapshot(cleaned),
        },
    )
    if publish:
        plan_version_publish(version=version, actor=actor)
        version.refresh_from_db()
    return version


def _check_rates(version: PlanVersion) -> None:
    """The version's prices must rate the contracts on its plan (the impact view's re-rating): a price
    whose quantity × price overflows an invoice amount (1e30, 1e400) is a 400 naming the charge's
    field, raised inside the caller's transaction so nothing is half-written."""
    from billing.catalog.impact import version_impact

    version_impact(version=version)


@transaction.atomic
def plan_version_update_draft(
    *,
    version: PlanVersion,
    charges: list,
    effective_from: date,
    minimum_amount=None,
    notes: str = "",
    actor=None,
) -> PlanVersion:
    version = PlanVersion.objects.select_for_update().select_related("plan").get(pk=version.pk)
    if version.is_published:
        raise InvalidTransition(
            f"Version {version.number} is published and can no longer change. "
            "Create a new version with an effective date instead."
        )
    refuse_if_awaiting_approval(version, "changed")
    errors: list[FieldError] = []
    minimum = clean_amount(minimum_amount, "minimum_amount", errors)
    cleaned, charge_errors = clean_charges(charges, currency=version.plan.currency)
    errors.extend(charge_errors)
    if effective_from is None:
        errors.append(FieldError("effective_from", "The date the new prices take effect is required."))
    errors.extend(closed_period_errors(effective_from))
    raise_invalid(errors)
    version.charges.all().delete()
    version.effective_from, version.minimum_amount, version.notes = effective_from, minimum, notes
    version.save(update_fields=["effective_from", "minimum_amount", "notes"])
    _save_charges(version, cleaned)
    _check_rates(version)
    audit_record(
        actor=actor,
        action=AuditAction.PLAN_VERSION_DRAFT_UPDATED,
        obj=version,
        changes={
            "effective_from": effective_from,
            "minimum_amount": minimum,
            "charges": _charges_snapshot(cleaned),
        },
    )
    return version


@transaction.atomic
def plan_version_discard_draft(*, version: PlanVersion, actor=None) -> None:
    version = PlanVersion.objects.select_for_update().get(pk=version.pk)
    if version.is_published:
        raise InvalidTransition("A published version is part of the record and cannot be deleted.")
    refuse_if_awaiting_approval(version, "discarded")
    audit_record(
        actor=actor,
        action=AuditAction.PLAN_VERSION_DRAFT_DISCARDED,
        obj=version,
        changes={"number": version.number},
    )
    version.charges.all().delete()
    version.delete()
