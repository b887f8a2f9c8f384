"""Pure-Python meter aggregation and per-dimension filters (api.md "Catalog and pricing").

Used for previews and for re-performing what the database aggregated; it follows the SQL semantics
of the real aggregation: an event without the property is NULL and ignored (except by ``count``),
and an empty result is 0.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from ._exact import Inexact, exact_context, normalize
from .types import ZERO, FieldError, RatingError
from .validation import to_decimal

AGGREGATIONS = ("count", "sum", "max", "unique_count", "latest")

Event = Mapping[str, Any]


def _sql_text(value: Any) -> str:
    """A property value as PostgreSQL's ``properties->>'field'`` renders it (what COUNT DISTINCT compares)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    return json.dumps(value, default=str)


def _property_values(events: Sequence[Event], field: str) -> list[tuple[int, Event, Any]]:
    """``(index, event, value)`` for each event whose ``properties`` hold a non-null ``field``."""
    found, errors = [], []
    for index, event in enumerate(events):
        properties = event.get("properties") if isinstance(event, Mapping) else None
        if not isinstance(properties, Mapping):
            errors.append(FieldError(f"events[{index}].properties", "must be an object"))
        elif properties.get(field) is not None:
            found.append((index, event, properties[field]))
    if errors:
        raise RatingError(errors)
    return found


def _numbers(values: list[tuple[int, Event, Any]], field: str) -> list[Decimal]:
    numbers, errors = [], []
    for index, _event, raw in values:
        try:
            numbers.append(to_decimal(raw, f"events[{index}].properties.{field}"))
        except RatingError as exc:
            errors.extend(exc.errors)
    if errors:
        raise RatingError(errors)
    return numbers


def _latest(values: list[tuple[int, Event, Any]], field: str) -> Decimal:
    """The value of the event with the greatest timestamp (a tie goes to the later event in the list)."""
    best: tuple[datetime, Decimal] | None = None
    numbers = _numbers(values, field)
    for (index, event, _raw), number in zip(values, numbers, strict=True):
        stamp = event.get("timestamp")
        if not isinstance(stamp, datetime) or stamp.utcoffset() is None:
            raise RatingError.single(f"events[{index}].timestamp", "must be a timezone-aware datetime")
        if best is None or stamp >= best[0]:
            best = (stamp, number)
    return ZERO if best is None else best[1]


def aggregate(aggregation: str, events: Sequence[Event], *, field: str | None) -> Decimal:
    """Aggregate events (``{"timestamp": aware datetime, "properties": {...}}``) as a meter does.

    ``count`` counts events (``field`` ignored); ``sum`` and ``max`` take the numeric ``field``;
    ``unique_count`` counts distinct non-null values (compared as SQL text); ``latest`` is the value
    of the event with the greatest timestamp. Events lacking ``field`` are skipped; empty → 0.
    """
    if aggregation not in AGGREGATIONS:
        raise RatingError.single(
            "aggregation", f"unknown aggregation {aggregation!r} (expected one of: {', '.join(AGGREGATIONS)})"
        )
    if aggregation == "count":
        return Decimal(len(events))
    if not field:
        raise RatingError.single(
            "field", f"the {aggregation} aggregation needs the name of an event property"
        )
    values = _property_values(events, field)
    if aggregation == "unique_count":
        return Decimal(len({_sql_text(raw) for _index, _event, raw in values}))
    if aggregation == "latest":
        return normalize(_latest(values, field))
    numbers = _numbers(values, field)
    if not numbers:
        return ZERO
    if aggregation == "max":
        return normalize(max(numbers))
    try:
        with exact_context():
            return normalize(sum(numbers, ZERO))
    except Inexact:
        raise RatingError.single("events", "the sum needs more than 50 significant digits") from None


def _same(expected: Any, actual: Any) -> bool:
    """JSON equality: ``true`` is not ``1`` (Python says it is)."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    return bool(expected == actual)


def match_filters(match: Mapping[str, Any], properties: Mapping[str, Any]) -> bool:
    """True when every key of ``match`` is in ``properties`` with an equal value."""
    return all(key in properties and _same(value, properties[key]) for key, value in match.items())


def _stored_properties(event: Event) -> Mapping[str, Any]:
    return event["properties"]


def group_by_filters(
    filters: Sequence[Mapping[str, Any]],
    events: Sequence[Any],
    *,
    properties_of: Callable[[Any], Mapping[str, Any]] = _stored_properties,
) -> list[tuple[int | None, list[Any]]]:
    """Split events between a charge's filters (``[{"match": {...}, "properties": {...}}, ...]``).

    An event goes to the FIRST filter, in the charge's order, whose ``match`` it satisfies — so when
    filters overlap, their order is their priority, and each event is rated exactly once. Events that
    match no filter go to the ``None`` group, rated with the charge's default properties. The result
    lists every filter (possibly with no events) and then the ``None`` group, in that order.
    ``properties_of`` reads an event's properties (default: ``event["properties"]``; pass
    ``lambda e: e`` for events given as plain property objects, as ``rate_events`` takes them).
    """
    matches: list[Mapping[str, Any]] = []
    errors: list[FieldError] = []
    for index, charge_filter in enumerate(filters):
        match = charge_filter.get("match") if isinstance(charge_filter, Mapping) else None
        if not isinstance(match, Mapping) or not match:
            errors.append(
                FieldError(f"filters[{index}].match", "must be an object naming at least one property")
            )
        else:
            matches.append(match)
    if errors:
        raise RatingError(errors)
    groups: list[list[Any]] = [[] for _ in matches]
    unmatched: list[Any] = []
    for event in events:
        properties = properties_of(event)
        target = next(
            (group for match, group in zip(matches, groups, strict=True) if match_filters(match, properties)),
            unmatched,
        )
        target.append(event)
    return [*enumerate(groups), (None, unmatched)]
