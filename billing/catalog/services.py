"""Catalog services: meters, plans, price versions. One transaction each, audited.

A published version is immutable; a price change is a new version with an effective date. Drafts can
be edited, simulated and compared (impact view) before they are published.

Price versions are a money lever (issue 12 §3): a version never takes effect in a closed accounting
period (on or before the end of the latest closed one), and a version that is back-dated (effective
before today) or that changes what existing contracts pay is published only once someone other than
the requester approves it (kind ``price_version_publish``; the impact view is the approver's preview).
A draft waiting for that approval cannot change or be discarded."""

from __future__ import annotations

import hashlib
import json
from datetime import date

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from billing.catalog.validation import clean_amount, clean_charges
from billing.models import Charge, Meter, Plan, PlanVersion
from compliance.audit import audit_record
from revops.books import closed_through, in_closed_period
from revops.errors import Conflict, FieldError, InvalidTransition, ValidationFailed
from revops.money import is_currency

PUBLISH_KIND = "price_version_publish"

AGGREGATIONS = [c[0] for c in Meter.Aggregation.choices]


def _raise(errors: list[FieldError]) -> None:
    if errors:
        raise ValidationFailed(
            errors[0].message if len(errors) == 1 else f"{len(errors)} fields are invalid.", errors=errors
        )


def closed_period_errors(effective_from: date | None) -> list[FieldError]:
    """A price version may not take effect in a closed accounting period."""
    if effective_from is None or not in_closed_period(effective_from):
        return []
    return [
        FieldError(
            "effective_from",
            f"{effective_from:%Y-%m-%d} is in a closed accounting period (closed through "
            f"{closed_through():%Y-%m-%d}): a price version may take effect only after it.",
        )
    ]


# --- meters -------------------------------------------------------------------------------------


def _meter_errors(*, aggregation, field, filters, group_by) -> list[FieldError]:
    errors = []
    if aggregation not in AGGREGATIONS:
        errors.append(FieldError("aggregation", f"Must be one of: {', '.join(AGGREGATIONS)}."))
    if aggregation != "count" and not field:
        errors.append(
            FieldError("field", f"The {aggregation} aggregation needs the event property to aggregate.")
        )
    if not isinstance(filters, dict) or any(not isinstance(v, list) or not v for v in filters.values()):
        errors.append(FieldError("filters", "Must be an object of property → non-empty list of values."))
    if not isinstance(group_by, list) or any(not isinstance(g, str) or not g for g in group_by):
        errors.append(FieldError("group_by", "Must be a list of property names."))
    return errors


@transaction.atomic
def meter_create(
    *,
    code: str,
    name: str,
    aggregation: str,
    field: str = "",
    filters: dict | None = None,
    group_by: list | None = None,
    description: str = "",
    allow_negative: bool = False,
    actor=None,
) -> Meter:
    filters, group_by = filters or {}, group_by or []
    errors = _meter_errors(aggregation=aggregation, field=field, filters=filters, group_by=group_by)
    if Meter.objects.filter(code=code).exists():
        errors.append(FieldError("code", f"A meter with code '{code}' already exists."))
    _raise(errors)
    meter = Meter.objects.create(
        code=code,
        name=name,
        aggregation=aggregation,
        field=field or "",
        filters=filters,
        group_by=group_by,
        description=description,
        allow_negative=allow_negative,
    )
    audit_record(
        actor=actor,
        action="meter.created",
        obj=meter,
        changes={
            "code": code,
            "aggregation": aggregation,
            "field": field,
            "filters": filters,
            "group_by": group_by,
            "allow_negative": allow_negative,
        },
    )
    return meter


@transaction.atomic
def meter_update(*, meter: Meter, actor=None, **changes) -> Meter:
    """Name and description can always change; how a meter counts cannot once a charge prices it."""
    meter = Meter.objects.select_for_update().get(pk=meter.pk)
    counting = {
        k
        for k in ("aggregation", "field", "filters", "group_by", "allow_negative")
        if k in changes and changes[k] != getattr(meter, k)
    }
    if counting and meter.charges.exists():
        raise Conflict(
            "This meter is used by price plans: how it counts cannot change. Create a new meter.",
            errors=[FieldError(k, "Locked: the meter is in use.") for k in sorted(counting)],
        )
    merged = {k: changes.get(k, getattr(meter, k)) for k in ("aggregation", "field", "filters", "group_by")}
    _raise(_meter_errors(**merged))
    diff = {k: {"from": getattr(meter, k), "to": v} for k, v in changes.items() if getattr(meter, k) != v}
    for key, value in changes.items():
        setattr(meter, key, value)
    meter.save()
    if diff:
        audit_record(actor=actor, action="meter.updated", obj=meter, changes=diff)
    return meter


# --- plans and versions -------------------------------------------------------------------------


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
    _raise(errors)
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
        action="plan.created",
        obj=plan,
        changes={"code": code, "currency": currency, "interval": interval, "version_policy": version_policy},
    )
    audit_record(
        actor=actor,
        action="plan_version.created",
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
        audit_record(actor=actor, action="plan.updated", obj=plan, changes=diff)
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
    _raise(errors)
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
        action="plan_version.created",
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
    _refuse_if_awaiting_approval(version, "changed")
    errors: list[FieldError] = []
    minimum = clean_amount(minimum_amount, "minimum_amount", errors)
    cleaned, charge_errors = clean_charges(charges, currency=version.plan.currency)
    errors.extend(charge_errors)
    if effective_from is None:
        errors.append(FieldError("effective_from", "The date the new prices take effect is required."))
    errors.extend(closed_period_errors(effective_from))
    _raise(errors)
    version.charges.all().delete()
    version.effective_from, version.minimum_amount, version.notes = effective_from, minimum, notes
    version.save(update_fields=["effective_from", "minimum_amount", "notes"])
    _save_charges(version, cleaned)
    _check_rates(version)
    audit_record(
        actor=actor,
        action="plan_version.draft_updated",
        obj=version,
        changes={
            "effective_from": effective_from,
            "minimum_amount": minimum,
            "charges": _charges_snapshot(cleaned),
        },
    )
    return version


def publish_request_for(version: PlanVersion):
    """The pending ``price_version_publish`` request of a draft, or None."""
    from compliance.models import Approval

    return Approval.objects.filter(
        kind=PUBLISH_KIND,
        object_type="billing.planversion",
        object_id=str(version.pk),
        status=Approval.Status.PENDING,
    ).first()


def _refuse_if_awaiting_approval(version: PlanVersion, what: str) -> None:
    pending = publish_request_for(version)
    if pending is not None:
        raise InvalidTransition(
            f"Version {version.number} is waiting for an approver to publish it (request #{pending.pk}) "
            f"and cannot be {what}; the approver rejects it first if it must change."
        )


def version_content(version: PlanVersion) -> dict:
    """Exactly what publishing the version puts in force (the approval binds to its fingerprint)."""
    from billing.catalog.selectors import charge_payload

    charges = version.charges.select_related("product", "meter").order_by("position", "id")
    return {
        "plan": version.plan.code,
        "number": version.number,
        "effective_from": version.effective_from.isoformat(),
        "minimum_amount": None if version.minimum_amount is None else str(version.minimum_amount),
        "charges": [charge_payload(c) for c in charges],
    }


def content_fingerprint(content: dict) -> str:
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(text.encode()).hexdigest()


def _same_prices(a: dict, b: dict) -> bool:
    return a["charges"] == b["charges"] and a["minimum_amount"] == b["minimum_amount"]


def publish_reasons(version: PlanVersion, *, today: date | None = None) -> tuple[list[str], dict | None]:
    """Why publishing ``version`` needs an approver ([] when it may publish at once), and the impact
    view's result when existing contracts are on the plan.

    Back-dated (effective before today) always needs one. So does a version that changes what existing
    contracts pay: some contract line on the plan runs past the effective date and the version's prices
    differ from the version in force on that date (or the impact view shows a difference)."""
    from billing.catalog.impact import version_impact
    from billing.catalog.selectors import published_versions
    from revops.contracts.models import ContractLine

    today = today or timezone.localdate()
    reasons: list[str] = []
    if version.effective_from < today:
        reasons.append(
            f"back-dated: takes effect {version.effective_from:%Y-%m-%d}, before today ({today:%Y-%m-%d})"
        )
    lines = ContractLine.objects.filter(plan=version.plan, superseded_by__isnull=True).select_related(
        "contract"
    )
    from billing.contracts.terms import line_range

    affected = {
        line.contract.number for line in lines if line_range(line, line.contract)[1] > version.effective_from
    }
    impact = None
    if affected:
        content = version_content(version)
        earlier = [v for v in published_versions(version.plan) if v.effective_from <= version.effective_from]
        in_force = max(earlier, key=lambda v: v.effective_from) if earlier else None
        impact = version_impact(version=version, as_of=today)
        differs = any(row["delta"] != 0 for row in impact["customers"])
        if in_force is None or differs or not _same_prices(content, version_content(in_force)):
            reasons.append(
                f"changes what {len(affected)} existing contract{'s' if len(affected) != 1 else ''} "
                f"pay{'s' if len(affected) == 1 else ''} (see the impact view)"
            )
    return reasons, impact


@transaction.atomic
def plan_version_publish(*, version: PlanVersion, actor=None) -> PlanVersion:
    """Publish a draft, or — when it is back-dated or changes what existing contracts pay — open a
    ``price_version_publish`` request for an approver and leave the version a draft (see
    :func:`publish_request_for`). Never into a closed period."""
    version = PlanVersion.objects.select_for_update().select_related("plan").get(pk=version.pk)
    if version.is_published:
        raise InvalidTransition(f"Version {version.number} is already published.")
    if not version.charges.exists():
        raise ValidationFailed(
            "A version needs at least one charge before it can be published.", field="charges"
        )
    _raise(closed_period_errors(version.effective_from))
    pending = publish_request_for(version)
    if pending is not None:
        return version  # already waiting for an approver
    reasons, impact = publish_reasons(version)
    if not reasons:
        return _publish(version, actor=actor)
    _request_publish(version, actor=actor, reasons=reasons, impact=impact)
    return version


def _request_publish(version: PlanVersion, *, actor, reasons: list[str], impact: dict | None):
    from compliance.approvals import approval_request

    content = version_content(version)
    totals = impact["totals"] if impact else None
    payload = {
        **content,
        "fingerprint": content_fingerprint(content),
        "reasons": reasons,
        "impact": None
        if impact is None
        else {
            "customers": len(impact["customers"]),
            "old": str(totals["old"]),
            "new": str(totals["new"]),
            "difference": str(totals["delta"]),
            "as_of": impact["as_of"].isoformat(),
        },
    }
    approval = approval_request(
        kind=PUBLISH_KIND,
        obj=version,
        requested_by=actor,
        summary=f"Publish {version.plan.code} v{version.number} effective "
        f"{version.effective_from:%Y-%m-%d}: {'; '.join(reasons)}",
        payload=payload,
    )
    audit_record(
        actor=actor,
        action="plan_version.publish_requested",
        obj=version,
        changes={
            "plan": version.plan.code,
            "number": version.number,
            "effective_from": version.effective_from,
            "reasons": reasons,
            "approval": approval.pk,
            "fingerprint": payload["fingerprint"],
        },
    )
    return approval


def _publish(version: PlanVersion, *, actor, approval=None) -> PlanVersion:
    version.status = PlanVersion.Status.PUBLISHED
    version.published_at = timezone.now()
    publisher = approval.requested_by if approval is not None else actor
    version.published_by = publisher if getattr(publisher, "pk", None) else None
    try:
        with transaction.atomic():
            version.save(update_fields=["status", "published_at", "published_by"])
    except IntegrityError:
        raise ValidationFailed(
            f"A published version already takes effect on {version.effective_from}.", field="effective_from"
        )
    changes = {
        "plan": version.plan.code,
        "number": version.number,
        "effective_from": version.effective_from,
    }
    if approval is not None:
        changes["approval"] = approval.pk
        changes["requested_by"] = approval.requested_by.username if approval.requested_by_id else None
    audit_record(actor=actor, action="plan_version.published", obj=version, changes=changes)
    return version


def _publish_approved(approval, user) -> None:
    """Publish exactly what was approved: the draft must still match the payload's fingerprint."""
    version = PlanVersion.objects.select_for_update().select_related("plan").get(pk=approval.object_id)
    if version.is_published:
        raise InvalidTransition(f"Version {version.number} is already published.")
    if content_fingerprint(version_content(version)) != approval.payload.get("fingerprint"):
        raise Conflict(
            f"Version {version.number} no longer matches what was submitted for approval; reject this "
            "request and ask again."
        )
    _raise(closed_period_errors(version.effective_from))
    _publish(version, actor=user, approval=approval)


def _publish_rejected(approval, user) -> None:
    audit_record(
        actor=user,
        action="plan_version.publish_rejected",
        object_type=approval.object_type,
        object_id=approval.object_id,
        changes={"approval": approval.pk, "comment": approval.comment},
    )


def register() -> None:
    from compliance.approvals import register_approval_kind

    register_approval_kind(
        PUBLISH_KIND,
        on_approved=_publish_approved,
        on_rejected=_publish_rejected,
        label="Price version publication",
        content=_publish_content,
    )


def _publish_content(approval) -> dict:
    """What approving publishes: the draft's current charges, minimum and date (bound by the engine)."""
    version = PlanVersion.objects.select_related("plan").filter(pk=approval.object_id).first()
    return version_content(version) if version is not None else {"missing": True}


@transaction.atomic
def plan_version_discard_draft(*, version: PlanVersion, actor=None) -> None:
    version = PlanVersion.objects.select_for_update().get(pk=version.pk)
    if version.is_published:
        raise InvalidTransition("A published version is part of the record and cannot be deleted.")
    _refuse_if_awaiting_approval(version, "discarded")
    audit_record(
        actor=actor, action="plan_version.draft_discarded", obj=version, changes={"number": version.number}
    )
    version.charges.all().delete()
    version.delete()
