"""Reads the pricing-admin UI needs that the catalog selectors do not offer (yet).

Read-only helpers, no writes: a plan overview without an N+1 loop, the version in force among
already-loaded versions, and sample simulator events for a version's meters."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Prefetch, Q

from billing.models import Charge, Plan, PlanVersion
from billing.pricing import VersionDef, version_in_force


def in_force(versions: list[PlanVersion], on: date) -> PlanVersion | None:
    """The published version in force on ``on`` among ``versions`` (the same rule as billing:
    :func:`billing.pricing.version_in_force`); ``None`` when none is published."""
    published = {v.number: v for v in versions if v.is_published}
    if not published:
        return None
    stubs = [
        VersionDef(plan="", number=v.number, effective_from=v.effective_from, currency="", charges=())
        for v in published.values()
    ]
    return published[version_in_force(stubs, on).number]


@dataclass(frozen=True)
class PlanRow:
    plan: Plan
    current: PlanVersion | None
    version_count: int
    draft_count: int


def plan_overview(*, on: date) -> list[PlanRow]:
    """Every plan with its version in force on ``on`` and its version/draft counts (three queries)."""
    plans = (
        Plan.objects.annotate(
            n_versions=Count("versions", distinct=True),
            n_drafts=Count("versions", filter=Q(versions__status=PlanVersion.Status.DRAFT), distinct=True),
        )
        .prefetch_related(Prefetch("versions", queryset=PlanVersion.objects.order_by("number")))
        .order_by("code")
    )
    return [
        PlanRow(
            plan=p,
            current=in_force(list(p.versions.all()), on),
            version_count=p.n_versions,
            draft_count=p.n_drafts,
        )
        for p in plans
    ]


def catalog_counts() -> dict:
    return {
        "plans": Plan.objects.count(),
        "published": PlanVersion.objects.filter(status=PlanVersion.Status.PUBLISHED).count(),
        "drafts": PlanVersion.objects.filter(status=PlanVersion.Status.DRAFT).count(),
    }


_SAMPLE_VALUES = {
    "endpoint": ["/v1/search", "/v1/chat", "/v1/embed"],
    "model": ["gpt-4o", "gpt-4o-mini"],
    "token_type": ["input", "output"],
    "region": ["us", "eu"],
}
_SAMPLE_AMOUNTS = ["1200000", "350000", "2500000", "800000", "42", "17"]


def sample_events(version: PlanVersion, *, start: datetime) -> str:
    """A few NDJSON events for the meters the version's charges use, dated from ``start`` (UTC):
    one or two per priced dimension, otherwise one per sample value of the meter's group-by."""
    lines: list[dict] = []
    charges = Charge.objects.filter(version=version, meter__isnull=False).select_related("meter")
    seen: set[str] = set()
    step = 0

    def add(code: str, props: dict) -> None:
        nonlocal step
        stamp = start + timedelta(hours=3 * step + 1)
        step += 1
        lines.append({"code": code, "timestamp": stamp.isoformat(), "properties": props})

    for charge in charges.order_by("position", "id"):
        meter = charge.meter
        amount_field = charge.field or meter.field
        if meter.code in seen:
            continue
        seen.add(meter.code)
        matches = [f.get("match") or {} for f in (charge.filters or [])]
        if not matches:
            keys = list(meter.group_by or [])
            values = [_SAMPLE_VALUES.get(k, [f"{k}-a", f"{k}-b"]) for k in keys]
            width = max((len(v) for v in values), default=1)
            matches = [
                {k: vals[i % len(vals)] for k, vals in zip(keys, values, strict=True)} for i in range(width)
            ]
        for i, match in enumerate(matches):
            for j in range(2 if meter.aggregation == "count" else 1):
                props = dict(match)
                if amount_field:
                    props[amount_field] = _sample_amount(charge.model, i + j)
                add(meter.code, props)
    return "\n".join(json.dumps(line) for line in lines)


def _sample_amount(model: str, index: int):
    if model in ("percentage", "graduated_percentage", "dynamic"):
        return ["129.00", "48.50", "12.00"][index % 3]
    return int(_SAMPLE_AMOUNTS[index % len(_SAMPLE_AMOUNTS)])
