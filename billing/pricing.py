"""Pricing a period: from a price version's charges and a period's usage to invoice line drafts.

Pure module (house style: the math is pure). The billing run, the price simulator, the impact view
and compliance re-performance all call :func:`rate_version`; they differ only in the
:class:`UsageSource` they pass (events in memory, or aggregates computed in SQL).

Rules (accounting.md §2): a charge with per-dimension ``filters`` is split into groups — an event
belongs to the FIRST filter it matches, events matching none belong to the charge's default
properties — and each group is rated on its own and becomes its own line, rounded once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from billing.rating import (
    EVENT_MODELS,
    BreakdownLine,
    ChargeSpec,
    aggregate,
    match_filters,
    minimum_true_up,
    parse_charge,
    prorate,
    rate_events_parsed,
    rate_quantity_parsed,
)
from revops.money import round_money

ZERO = Decimal(0)


@dataclass(frozen=True)
class MeterDef:
    code: str
    aggregation: str
    field: str = ""
    filters: Mapping[str, Sequence[Any]] = dataclasses.field(default_factory=dict)
    group_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class FilterDef:
    match: Mapping[str, Any]
    properties: Mapping[str, Any]
    name: str = ""


@dataclass(frozen=True)
class ChargeDef:
    code: str
    model: str
    properties: Mapping[str, Any]
    name: str = ""
    product: str | None = None
    meter: MeterDef | None = None
    field: str = ""
    timing: str = "in_arrears"
    filters: tuple[FilterDef, ...] = ()

    @property
    def amount_field(self) -> str:
        return self.field or (self.meter.field if self.meter else "")


@dataclass(frozen=True)
class VersionDef:
    plan: str
    number: int
    effective_from: date
    currency: str
    charges: tuple[ChargeDef, ...]
    minimum_amount: Decimal | None = None


@dataclass(frozen=True)
class LineDraft:
    """One invoice line before it is saved. ``amount`` is rounded once; ``exact_amount`` is not."""

    kind: str  # usage | fee | true_up
    charge: str
    product: str | None
    description: str
    dimension: Mapping[str, Any]
    quantity: Decimal
    amount: Decimal
    exact_amount: Decimal
    unit_amount: Decimal | None
    breakdown: tuple[BreakdownLine, ...]
    service_start: date
    service_end: date
    version: int

    def breakdown_dicts(self) -> list[dict]:
        return [breakdown_dict(b) for b in self.breakdown]


def breakdown_dict(line: BreakdownLine) -> dict:
    data = {"description": line.description, "amount": str(line.amount)}
    if line.units is not None:
        data["units"] = str(line.units)
    if line.unit_amount is not None:
        data["unit_amount"] = str(line.unit_amount)
    if line.flat_amount is not None:
        data["flat_amount"] = str(line.flat_amount)
    return data


class UsageSource(Protocol):
    """Where a period's usage comes from. ``match``: the group's filter; ``exclude``: earlier filters
    (first match wins). ``start``/``end``: the half-open UTC window."""

    def quantity(
        self,
        meter: MeterDef,
        *,
        match: Mapping | None,
        exclude: Sequence[Mapping],
        start: datetime,
        end: datetime,
    ) -> Decimal: ...

    def event_properties(
        self,
        meter: MeterDef,
        *,
        match: Mapping | None,
        exclude: Sequence[Mapping],
        start: datetime,
        end: datetime,
    ) -> list[Mapping[str, Any]]: ...


@dataclass
class InMemoryUsage:
    """Usage given as events: ``{"code", "timestamp" (aware), "properties"}``. Used by the simulator
    and tests; the same selection rules as the SQL source."""

    events: Sequence[Mapping[str, Any]]

    def _select(self, meter, match, exclude, start, end):
        selected = []
        for event in self.events:
            props = event.get("properties") or {}
            if event.get("code") != meter.code or not (start <= event["timestamp"] < end):
                continue
            if any(str(props.get(k)) not in {str(v) for v in values} for k, values in meter.filters.items()):
                continue
            if match and not match_filters(match, props):
                continue
            if any(match_filters(m, props) for m in exclude):
                continue
            selected.append(event)
        return sorted(selected, key=lambda e: e["timestamp"])

    def quantity(self, meter, *, match, exclude, start, end) -> Decimal:
        events = self._select(meter, match, exclude, start, end)
        return aggregate(meter.aggregation, events, field=meter.field or None)

    def event_properties(self, meter, *, match, exclude, start, end) -> list[Mapping[str, Any]]:
        return [e.get("properties") or {} for e in self._select(meter, match, exclude, start, end)]


def _describe(charge: ChargeDef, group: FilterDef | None) -> str:
    base = charge.name or charge.code.replace("_", " ").replace("-", " ").capitalize()
    if group is None:
        return base
    label = group.name or ", ".join(f"{k}={v}" for k, v in group.match.items())
    return f"{base} — {label}"


def _unit_amount(properties: Mapping[str, Any]) -> Decimal | None:
    for key in ("unit_amount", "amount"):
        if key in properties and properties[key] is not None:
            return Decimal(str(properties[key]))
    return None


_SPECS: dict[tuple, ChargeSpec] = {}
_SPECS_MAX = 4096


def charge_spec(model: str, properties: Mapping[str, Any], field: str | None) -> ChargeSpec:
    """``parse_charge`` memoized on the definition's value: a billing run rates the same (plan version,
    charge) for every contract, and parses it once. The key is the properties' ``repr``, which tells
    ``"1.0"``, ``1`` and ``Decimal("1.0")`` apart (they parse to different specs); an invalid
    definition is not stored, so it raises its errors every time."""
    key = (model, field, repr(properties))
    spec = _SPECS.get(key)
    if spec is None:
        spec = parse_charge(model, properties, field=field)
        if len(_SPECS) >= _SPECS_MAX:
            _SPECS.clear()
        _SPECS[key] = spec
    return spec


def _groups(charge: ChargeDef) -> list[tuple[FilterDef | None, Mapping | None, list[Mapping]]]:
    """(group, match, exclude) of each filter group of ``charge``, then its default group: an event
    belongs to the first filter it matches."""
    groups: list[tuple[FilterDef | None, Mapping | None, list[Mapping]]] = []
    earlier: list[Mapping] = []
    for group in charge.filters:
        groups.append((group, group.match, list(earlier)))
        earlier.append(group.match)
    groups.append((None, None, earlier))
    return groups


def rate_charge(
    charge: ChargeDef,
    *,
    currency: str,
    usage: UsageSource | None,
    start: datetime,
    end: datetime,
    service: tuple[date, date],
    version: int,
    quantity: Decimal | None = None,
) -> list[LineDraft]:
    """Rate one charge for one window: one line per filter group that has usage, plus the default group."""
    lines = []
    for group, match, exclude in _groups(charge):
        properties = group.properties if group else charge.properties
        spec = charge_spec(charge.model, properties, charge.amount_field or None)
        if charge.meter is None:
            units = quantity if quantity is not None else Decimal(1)
            result = rate_quantity_parsed(spec, units, currency=currency)
        elif charge.model in EVENT_MODELS:
            events = usage.event_properties(charge.meter, match=match, exclude=exclude, start=start, end=end)
            if not events and (group is not None or charge.filters):
                continue
            result = rate_events_parsed(spec, events, currency=currency)
        else:
            units = usage.quantity(charge.meter, match=match, exclude=exclude, start=start, end=end)
            if not units and (group is not None or charge.filters):
                continue  # a filter group without usage, or the unpriced rest of a per-dimension charge
            result = rate_quantity_parsed(spec, units, currency=currency)
        lines.append(
            LineDraft(
                kind="usage" if charge.meter else "fee",
                charge=charge.code,
                product=charge.product,
                description=_describe(charge, group),
                dimension=dict(match or {}),
                quantity=result.units,
                amount=result.amount,
                exact_amount=result.exact_amount,
                unit_amount=_unit_amount(properties),
                breakdown=result.breakdown,
                service_start=service[0],
                service_end=service[1],
                version=version,
            )
        )
    return lines


@dataclass(frozen=True)
class Segment:
    """Part of a billing period priced by one version: [start, end) as local dates."""

    version: VersionDef
    start: date
    end: date


def version_in_force(versions: Sequence[VersionDef], on: date) -> VersionDef:
    """The latest version effective on ``on``; before the first version, the first one applies."""
    ordered = sorted(versions, key=lambda v: (v.effective_from, v.number))
    if not ordered:
        raise ValueError("The plan has no published version.")
    chosen = ordered[0]
    for v in ordered:
        if v.effective_from <= on:
            chosen = v
    return chosen


def version_segments(
    versions: Sequence[VersionDef],
    *,
    start: date,
    end: date,
    policy: str = "on_effective_date",
    pinned_on: date | None = None,
) -> list[Segment]:
    """Split [start, end) where a new version takes effect (policy ``on_effective_date``), or keep the
    version in force on ``pinned_on`` (the term start) for the whole period (policy ``at_renewal``)."""
    if policy == "at_renewal":
        return [Segment(version_in_force(versions, pinned_on or start), start, end)]
    cuts = sorted({v.effective_from for v in versions if start < v.effective_from < end})
    bounds = [start, *cuts, end]
    return [Segment(version_in_force(versions, a), a, b) for a, b in zip(bounds, bounds[1:], strict=False)]


def rate_version(
    version: VersionDef,
    *,
    usage: UsageSource,
    start: datetime,
    end: datetime,
    service: tuple[date, date],
    quantities: Mapping[str, Decimal] | None = None,
    charges: Sequence[str] | None = None,
) -> list[LineDraft]:
    """Rate every (or the named) charge of ``version`` over one window. ``quantities`` gives the
    quantity of charges without a meter (seats, units on the contract line), by charge code."""
    lines: list[LineDraft] = []
    for charge in version.charges:
        if charges is not None and charge.code not in charges:
            continue
        qty = (quantities or {}).get(charge.code)
        lines.extend(
            rate_charge(
                charge,
                currency=version.currency,
                usage=usage,
                start=start,
                end=end,
                service=service,
                version=version.number,
                quantity=qty,
            )
        )
    return lines


def usage_asks(
    versions: Sequence[VersionDef],
    *,
    start: date,
    end: date,
    tz_name: str,
    policy: str = "on_effective_date",
    pinned_on: date | None = None,
    charges: Sequence[str] | None = None,
) -> list[tuple[MeterDef, Mapping | None, list[Mapping], datetime, datetime]]:
    """The questions :func:`rate_period` asks its usage source, in its order, without pricing anything:
    (meter, match, exclude, window start, window end) of every filter group and default group of every
    metered charge of every version segment — what a billing-run batch prefetches."""
    asks = []
    for seg in version_segments(versions, start=start, end=end, policy=policy, pinned_on=pinned_on):
        window = local_midnight(seg.start, tz_name), local_midnight(seg.end, tz_name)
        for charge in seg.version.charges:
            if charge.meter is None or (charges is not None and charge.code not in charges):
                continue
            asks.extend(
                (charge.meter, match, list(exclude), *window) for _g, match, exclude in _groups(charge)
            )
    return asks


def true_up_line(
    version: VersionDef, lines: Sequence[LineDraft], *, service: tuple[date, date]
) -> LineDraft | None:
    """The minimum-commitment true-up (accounting.md §2): makes up the shortfall as its own line."""
    if not version.minimum_amount:
        return None
    rated = sum((line.amount for line in lines), ZERO)
    shortfall = round_money(minimum_true_up(version.minimum_amount, rated), version.currency)
    if shortfall <= 0:
        return None
    return LineDraft(
        kind="true_up",
        charge="minimum",
        product=None,
        description=(
            f"Minimum commitment true-up (minimum {round_money(Decimal(version.minimum_amount), version.currency)}, "
            f"rated {round_money(rated, version.currency)})"
        ),
        dimension={},
        quantity=Decimal(1),
        amount=shortfall,
        exact_amount=shortfall,
        unit_amount=None,
        breakdown=(
            BreakdownLine("Minimum commitment", None, None, None, version.minimum_amount),
            BreakdownLine("Less rated charges", None, None, None, -rated),
        ),
        service_start=service[0],
        service_end=service[1],
        version=version.number,
    )


def local_midnight(day: date, tz_name: str) -> datetime:
    """The instant a local calendar day starts in the customer's billing time zone (accounting.md §3)."""
    from zoneinfo import ZoneInfo

    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz_name))


def _prorated(line: LineDraft, *, used_days: int, period_days: int, currency: str) -> LineDraft:
    exact = prorate(line.exact_amount, used_days, period_days)
    note = BreakdownLine(
        f"Prorated {used_days}/{period_days} days", None, None, None, exact - line.exact_amount
    )
    return dataclasses.replace(
        line, exact_amount=exact, amount=round_money(exact, currency), breakdown=(*line.breakdown, note)
    )


def rate_period(
    versions: Sequence[VersionDef],
    *,
    start: date,
    end: date,
    tz_name: str,
    usage: UsageSource,
    policy: str = "on_effective_date",
    pinned_on: date | None = None,
    quantities: Mapping[str, Decimal] | None = None,
    charges: Sequence[str] | None = None,
    period: tuple[date, date] | None = None,
    true_up: bool | None = None,
) -> list[LineDraft]:
    """Rate the local-date range [start, end) of a billing period, split where a new price version takes
    effect: usage before the date is rated at the old version and after it at the new one, as separate
    lines; fees without a meter are prorated by days to their segment (``period`` = the full period for
    proration, default [start, end)). Adds the minimum true-up of the version in force at the end."""
    full = period or (start, end)
    full_days = (full[1] - full[0]).days
    segments = version_segments(versions, start=start, end=end, policy=policy, pinned_on=pinned_on)
    lines: list[LineDraft] = []
    for seg in segments:
        seg_lines = rate_version(
            seg.version,
            usage=usage,
            start=local_midnight(seg.start, tz_name),
            end=local_midnight(seg.end, tz_name),
            service=(seg.start, seg.end),
            quantities=quantities,
            charges=charges,
        )
        used = (seg.end - seg.start).days
        for line in seg_lines:
            if line.kind == "fee" and used != full_days:
                line = _prorated(line, used_days=used, period_days=full_days, currency=seg.version.currency)
            lines.append(line)
    if segments and (charges is None if true_up is None else true_up):
        shortfall = true_up_line(segments[-1].version, lines, service=(start, end))
        if shortfall:
            lines.append(shortfall)
    return lines
