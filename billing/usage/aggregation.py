"""Meter aggregation in SQL (selectors): used by the usage endpoint and the explorer now, and by
invoicing (rating) next. Django's ORM generates the SQL for both PostgreSQL and SQLite; nothing here
aggregates in a Python loop (the SQLite fingerprint fallback hashes ids the database already sorted).

Semantics (the same as ``billing.rating.aggregate``, which re-performs them in Python):

- ``count`` counts events; ``sum`` / ``max`` use the numeric ``value`` extracted at ingestion;
  ``unique_count`` counts distinct ``dim`` strings; ``latest`` is the value of the event with the
  greatest timestamp (ties: the greatest id). An empty set is 0.
- A period is half-open ``[start, end)`` on ``timestamp``. :func:`local_bounds` turns a customer's
  local dates into those instants.
- ``meter.filters`` (``{prop: [values]}``) and a charge's ``match`` (``{prop: value}``) compare JSON
  values (``"1"`` is not ``1``); an event outside them is simply not counted.
- ``received_through`` / ``received_after`` select by when Concord *received* the event: an invoice
  line records its watermark (``received_through``); a late event is one whose timestamp falls in an
  invoiced period but whose ``received_at`` is after that watermark (``received_after``). Take the
  watermark from :func:`usage_watermark`, which stays behind any ingestion still in flight.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Max, QuerySet, Sum, Window
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import RowNumber, TruncDate
from django.utils import timezone

from billing.models import Meter, UsageEvent

ZERO = Decimal(0)


def settle() -> timedelta:
    """How far the usage watermark stays behind "now" (``settings.USAGE_SETTLE_SECONDS``). An ingestion
    transaction stamps received_at before it commits and each of its statements times out after 60 s,
    so a watermark this far behind "now" can no longer be overtaken by one (see billing.checks)."""
    return timedelta(seconds=settings.USAGE_SETTLE_SECONDS)


def usage_watermark(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - settle()


def local_bounds(start_date: date, end_date: date, tz_name: str) -> tuple[datetime, datetime]:
    """A customer's local half-open date range ``[start_date, end_date)`` as aware UTC instants."""
    zone = ZoneInfo(tz_name or "UTC")
    start = datetime.combine(start_date, time.min, tzinfo=zone).astimezone(ZoneInfo("UTC"))
    end = datetime.combine(end_date, time.min, tzinfo=zone).astimezone(ZoneInfo("UTC"))
    return start, end


def plain(value) -> Decimal:
    """A stored aggregate as a plain Decimal without trailing zeros (``1500``, ``0.25``); None → 0."""
    if value is None:
        return ZERO
    number = Decimal(value)
    if number == 0:
        return ZERO
    number = number.normalize()
    return number.quantize(Decimal(1)) if number.as_tuple().exponent > 0 else number


def usage_queryset(
    *,
    customer,
    meter: Meter,
    start: datetime,
    end: datetime,
    received_through: datetime | None = None,
    received_after: datetime | None = None,
    match: dict | None = None,
) -> QuerySet[UsageEvent]:
    """The events a meter counts for a customer in ``[start, end)`` (meter filters and match applied)."""
    qs = UsageEvent.objects.filter(
        customer_id=getattr(customer, "pk", customer),
        meter_id=meter.pk,
        timestamp__gte=start,
        timestamp__lt=end,
    )
    if received_through is not None:
        qs = qs.filter(received_at__lte=received_through)
    if received_after is not None:
        qs = qs.filter(received_at__gt=received_after)
    for i, (prop, allowed) in enumerate(sorted((meter.filters or {}).items())):
        values = list(allowed) if isinstance(allowed, list | tuple) else [allowed]
        qs = qs.alias(**{f"_f{i}": KeyTransform(prop, "properties")}).filter(**{f"_f{i}__in": values})
    for i, (prop, value) in enumerate(sorted((match or {}).items())):
        qs = qs.alias(**{f"_m{i}": KeyTransform(prop, "properties")}).filter(**{f"_m{i}": value})
    if meter.aggregation == Meter.Aggregation.UNIQUE_COUNT:
        qs = qs.filter(dim__isnull=False)
    elif meter.aggregation != Meter.Aggregation.COUNT:
        qs = qs.filter(value__isnull=False)
    return qs


def _aggregate_rows(qs: QuerySet, meter: Meter, keys: dict) -> list[dict]:
    """One row per combination of ``keys`` (alias → expression), each with ``total``."""
    names = list(keys)
    if keys:
        qs = qs.annotate(**keys)
    aggregation = meter.aggregation
    if aggregation == Meter.Aggregation.LATEST:
        ranked = qs.annotate(
            _rank=Window(
                RowNumber(),
                partition_by=[F(n) for n in names] or None,
                order_by=[F("timestamp").desc(), F("id").desc()],
            )
        ).filter(_rank=1)
        return [{**row, "total": plain(row.pop("value"))} for row in ranked.values(*names, "value")]
    expression = {
        Meter.Aggregation.COUNT: Count("id"),
        Meter.Aggregation.SUM: Sum("value"),
        Meter.Aggregation.MAX: Max("value"),
        Meter.Aggregation.UNIQUE_COUNT: Count("dim", distinct=True),
    }[aggregation]
    if not names:
        return [{"total": plain(qs.aggregate(total=expression)["total"])}]
    rows = qs.values(*names).annotate(total=expression).order_by(*names)
    return [{**row, "total": plain(row["total"])} for row in rows]


def _group_keys(group_by: list[str]) -> dict:
    return {f"_g{i}": KeyTextTransform(prop, "properties") for i, prop in enumerate(group_by)}


def _key_text(value) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def usage_total(
    *,
    customer,
    meter: Meter,
    start: datetime,
    end: datetime,
    received_through: datetime | None = None,
    received_after: datetime | None = None,
    match: dict | None = None,
    group_by: list[str] | None = None,
):
    """The meter's aggregate over ``[start, end)``: a Decimal, or with ``group_by`` a list of
    ``{"key": {prop: value-as-text or None}, "total": Decimal}`` ordered by key."""
    qs = usage_queryset(
        customer=customer,
        meter=meter,
        start=start,
        end=end,
        received_through=received_through,
        received_after=received_after,
        match=match,
    )
    if not group_by:
        rows = _aggregate_rows(qs, meter, {})
        return rows[0]["total"] if rows else ZERO
    keys = _group_keys(group_by)
    rows = _aggregate_rows(qs, meter, keys)
    groups = [
        {"key": {prop: _key_text(row[f"_g{i}"]) for i, prop in enumerate(group_by)}, "total": row["total"]}
        for row in rows
    ]
    groups.sort(key=lambda g: tuple((v is None, v or "") for v in g["key"].values()))
    return groups


def usage_daily(
    *,
    customer,
    meter: Meter,
    start_date: date,
    end_date: date,
    tz_name: str | None = None,
    received_through: datetime | None = None,
    received_after: datetime | None = None,
    match: dict | None = None,
) -> list[tuple[date, Decimal]]:
    """The meter's aggregate per local date in ``[start_date, end_date)`` (every day, 0 when empty),
    in the customer's time zone unless ``tz_name`` says otherwise."""
    tz_name = tz_name or getattr(customer, "timezone", None) or "UTC"
    start, end = local_bounds(start_date, end_date, tz_name)
    qs = usage_queryset(
        customer=customer,
        meter=meter,
        start=start,
        end=end,
        received_through=received_through,
        received_after=received_after,
        match=match,
    )
    rows = _aggregate_rows(qs, meter, {"_day": TruncDate("timestamp", tzinfo=ZoneInfo(tz_name))})
    by_day = {row["_day"]: row["total"] for row in rows}
    days, day = [], start_date
    while day < end_date:
        days.append((day, by_day.get(day, ZERO)))
        day += timedelta(days=1)
    return days


def usage_fingerprint(
    *,
    customer,
    meter: Meter,
    start: datetime,
    end: datetime,
    received_through: datetime | None = None,
    received_after: datetime | None = None,
    match: dict | None = None,
) -> tuple[int, str]:
    """``(count, sha256 hex of the sorted transaction_ids joined by "\\n")`` of the counted events:
    what an invoice line stores so the same usage can be proven (or re-performed) later. Sorted by
    code point (PostgreSQL ``COLLATE "C"``, SQLite's binary collation, Python's ``sorted``), so both
    backends give the same digest for the same set."""
    qs = usage_queryset(
        customer=customer,
        meter=meter,
        start=start,
        end=end,
        received_through=received_through,
        received_after=received_after,
        match=match,
    )
    ids = qs.values_list("transaction_id", flat=True)
    if connection.vendor == "postgresql":
        sql, params = ids.order_by().query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), encode(sha256(convert_to(coalesce("  # noqa: S608 - Django-compiled SQL
                "string_agg(t.tid, E'\\n' ORDER BY t.tid COLLATE \"C\"), ''), 'UTF8')), 'hex') "
                f"FROM ({sql}) AS t (tid)",
                params,
            )
            count, digest = cursor.fetchone()
        return int(count), digest
    digest, count = hashlib.sha256(), 0
    for tid in ids.order_by("transaction_id").iterator(chunk_size=5000):
        if count:
            digest.update(b"\n")
        digest.update(tid.encode())
        count += 1
    return count, digest.hexdigest()


def usage_events(
    *,
    customer,
    meter: Meter,
    start: datetime,
    end: datetime,
    received_through: datetime | None = None,
    received_after: datetime | None = None,
    match: dict | None = None,
) -> Iterator[tuple[datetime, dict]]:
    """``(timestamp, properties)`` of each counted event, ordered by timestamp then id, streamed in
    chunks: for event-level rating (percentage, graduated percentage, dynamic)."""
    qs = usage_queryset(
        customer=customer,
        meter=meter,
        start=start,
        end=end,
        received_through=received_through,
        received_after=received_after,
        match=match,
    )
    yield from qs.order_by("timestamp", "id").values_list("timestamp", "properties").iterator(chunk_size=2000)
