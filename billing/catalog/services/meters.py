"""Meter services: create and update a meter (aggregation, field, filters, group-by), audited."""

from __future__ import annotations

from django.db import transaction

from billing.catalog.services.guards import raise_invalid
from billing.models import Meter
from revops.core.audit.actions import AuditAction
from revops.core.audit.services import audit_record
from revops.errors import Conflict, FieldError

AGGREGATIONS = [c[0] for c in Meter.Aggregation.choices]


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
    raise_invalid(errors)
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
        action=AuditAction.METER_CREATED,
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
    raise_invalid(_meter_errors(**merged))
    diff = {k: {"from": getattr(meter, k), "to": v} for k, v in changes.items() if getattr(meter, k) != v}
    for key, value in changes.items():
        setattr(meter, key, value)
    meter.save()
    if diff:
        audit_record(actor=actor, action=AuditAction.METER_UPDATED, obj=meter, changes=diff)
    return meter
