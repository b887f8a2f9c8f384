"""Catalog reads, and conversion of stored versions into the pure pricing definitions."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, Prefetch, QuerySet

from billing.models import Charge, Meter, Plan, PlanVersion
from billing.pricing import ChargeDef, FilterDef, MeterDef, VersionDef, version_in_force


def plan_list() -> QuerySet[Plan]:
    return Plan.objects.annotate(version_count=Count("versions")).order_by("code")


def plan_get(*, code: str) -> Plan:
    return Plan.objects.get(code=code)


def versions_of(plan: Plan) -> QuerySet[PlanVersion]:
    charges = Charge.objects.select_related("product", "meter").order_by("position", "id")
    return plan.versions.prefetch_related(Prefetch("charges", queryset=charges)).order_by("-number")


def published_versions(plan: Plan) -> list[PlanVersion]:
    return [v for v in versions_of(plan) if v.is_published]


def meter_def(meter: Meter) -> MeterDef:
    return MeterDef(
        code=meter.code,
        aggregation=meter.aggregation,
        field=meter.field or "",
        filters=dict(meter.filters or {}),
        group_by=tuple(meter.group_by or ()),
    )


def charge_def(charge: Charge) -> ChargeDef:
    return ChargeDef(
        code=charge.code,
        model=charge.model,
        properties=charge.properties,
        name=charge.name,
        product=charge.product.code if charge.product_id else None,
        meter=meter_def(charge.meter) if charge.meter_id else None,
        field=charge.field or "",
        timing=charge.timing,
        filters=tuple(
            FilterDef(match=f["match"], properties=f.get("properties", {}), name=f.get("name", ""))
            for f in (charge.filters or [])
        ),
    )


def version_def(version: PlanVersion) -> VersionDef:
    if "charges" in getattr(version, "_prefetched_objects_cache", {}):
        charges = version.charges.all()  # prefetched by versions_of(), in the same order
    else:
        charges = version.charges.select_related("product", "meter").order_by("position", "id")
    return VersionDef(
        plan=version.plan.code,
        number=version.number,
        effective_from=version.effective_from,
        currency=version.plan.currency,
        minimum_amount=version.minimum_amount,
        charges=tuple(charge_def(c) for c in charges),
    )


def version_for_date(plan: Plan, on: date) -> PlanVersion:
    versions = {v.number: v for v in published_versions(plan)}
    chosen = version_in_force([version_def(v) for v in versions.values()], on)
    return versions[chosen.number]


def charge_payload(charge: Charge) -> dict:
    """The api.md Charge shape of a stored charge."""
    data = {
        "code": charge.code,
        "model": charge.model,
        "properties": charge.properties,
        "timing": charge.timing,
    }
    if charge.name:
        data["name"] = charge.name
    if charge.product_id:
        data["product"] = charge.product.code
    if charge.meter_id:
        data["meter"] = charge.meter.code
    if charge.field:
        data["field"] = charge.field
    if charge.filters:
        data["filters"] = charge.filters
    return data


def version_diff(old: PlanVersion, new: PlanVersion) -> dict:
    """Side-by-side comparison: charges added, removed and changed (property by property)."""
    a = {c.code: charge_payload(c) for c in old.charges.all()}
    b = {c.code: charge_payload(c) for c in new.charges.all()}
    rows = []
    for code in list(a) + [c for c in b if c not in a]:
        left, right = a.get(code), b.get(code)
        if left is None:
            status = "added"
        elif right is None:
            status = "removed"
        else:
            status = "same" if left == right else "changed"
        changes = []
        if status == "changed":
            for key in sorted(set(left) | set(right)):
                if left.get(key) != right.get(key):
                    changes.append({"field": key, "old": left.get(key), "new": right.get(key)})
        rows.append({"code": code, "status": status, "old": left, "new": right, "changes": changes})
    header = []
    for label, x, y in (
        ("Effective from", old.effective_from, new.effective_from),
        ("Minimum amount", old.minimum_amount, new.minimum_amount),
        ("Status", old.get_status_display(), new.get_status_display()),
    ):
        header.append({"label": label, "old": x, "new": y, "changed": x != y})
    return {"old": old, "new": new, "header": header, "charges": rows}
