"""Usage from the database for the pricing engine: aggregates computed in SQL, with the exact
selection rules of ``billing.pricing.InMemoryUsage`` (meter filters, first-match filter groups)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import BigIntegerField, DateTimeField, Q, QuerySet
from django.db.models.expressions import RawSQL

from billing.catalog.reader import Catalog
from billing.models import Meter, UsageEvent
from billing.pricing import MeterDef
from billing.usage.aggregation import _aggregate_rows, plain, usage_queryset


class SqlUsage:
    def __init__(
        self,
        customer,
        *,
        received_through: datetime | None,
        received_after: datetime | None = None,
        catalog: Catalog | None = None,
    ):
        self.customer = customer
        self.received_through = received_through
        self.received_after = received_after
        self.catalog = catalog or Catalog()

    def meter(self, code: str) -> Meter:
        return self.catalog.meter(code)

    def queryset(
        self,
        meter: MeterDef,
        *,
        match: Mapping | None,
        exclude: Sequence[Mapping],
        start: datetime,
        end: datetime,
    ) -> QuerySet[UsageEvent]:
        qs = usage_queryset(
            customer=self.customer,
            meter=self.meter(meter.code),
            start=start,
            end=end,
            received_through=self.received_through,
            received_after=self.received_after,
            match=dict(match) if match else None,
        )
        for other in exclude:
            qs = qs.exclude(Q(**{f"properties__{k}": v for k, v in other.items()}))
        return qs

    def quantity(self, meter, *, match, exclude, start, end) -> Decimal:
        qs = self.queryset(meter, match=match, exclude=exclude, start=start, end=end)
        return _aggregate_rows(qs, self.meter(meter.code), {})[0]["total"]

    def event_properties(self, meter, *, match, exclude, start, end) -> list[Mapping]:
        qs = self.queryset(meter, match=match, exclude=exclude, start=start, end=end)
        return list(qs.order_by("timestamp", "id").values_list("properties", flat=True))

    def fingerprint(self, meter, *, match, exclude, start, end) -> tuple[int, str]:
        """(count, SHA-256 of the sorted transaction ids joined by newlines) of the covered events.
        Sorted by the database's ordering of ``transaction_id`` (its collation); on PostgreSQL the
        database computes the digest in one query, the same bytes the loop below would hash."""
        qs = self.queryset(meter, match=match, exclude=exclude, start=start, end=end)
        if connection.vendor == "postgresql":
            sql, params = qs.order_by().values_list("transaction_id", flat=True).query.sql_with_params()
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*), encode(sha256(convert_to(coalesce("  # noqa: S608 - Django-compiled SQL
                    "string_agg(t.tid, E'\\n' ORDER BY t.tid), ''), 'UTF8')), 'hex') "
                    f"FROM ({sql}) AS t (tid)",
                    params,
                )
                count, digest = cursor.fetchone()
            return int(count), digest
        digest, count = hashlib.sha256(), 0
        for tid in (
            qs.order_by("transaction_id").values_list("transaction_id", flat=True).iterator(chunk_size=5000)
        ):
            digest.update((("\n" if count else "") + tid).encode())
            count += 1
        return count, digest.hexdigest()


# --- many customers at once (billing-run batches) -----------------------------------------------------

ZERO = Decimal(0)


def usage_key(customer_id, meter_code: str, match, exclude, start: datetime, end: datetime) -> tuple:
    """What identifies one usage question: the same key whether the pricing asks for a quantity
    (``match=None`` for a charge's default group) or an invoice line for its fingerprint (``{}``)."""
    selection = json.dumps([dict(match or {}), [dict(m) for m in exclude]], sort_keys=True, default=str)
    return (customer_id, meter_code, selection, start, end)


class RecordingUsage:
    """A usage source that answers 0 (and no events) and records every question: pricing an item with
    it tells which aggregates its real pricing will ask for (see :meth:`PreparedUsage.prefetch`)."""

    def __init__(self) -> None:
        self.asked: list[tuple[MeterDef, Mapping | None, Sequence[Mapping], datetime, datetime]] = []

    def quantity(self, meter, *, match, exclude, start, end) -> Decimal:
        self.asked.append((meter, match, list(exclude), start, end))
        return ZERO

    def event_properties(self, meter, *, match, exclude, start, end) -> list[Mapping]:
        self.asked.append((meter, match, list(exclude), start, end))
        return []


_AGGREGATES = {
    Meter.Aggregation.COUNT: "count(*)",
    Meter.Aggregation.SUM: "sum(t.value)",
    Meter.Aggregation.MAX: "max(t.value)",
    Meter.Aggregation.UNIQUE_COUNT: "count(DISTINCT t.dim)",
}


class PreparedUsage:
    """The usage of many customers for one billing-run batch: each (meter, filter group) question is
    answered for all the batch's customers and windows with ONE query (a ``LATERAL`` join of the
    windows with :meth:`SqlUsage.queryset`'s own selection), which returns per window the aggregate
    the pricing asks for and the fingerprint the invoice line stores — the same numbers, computed by
    the same SQL expressions, as :class:`SqlUsage`'s per-customer queries. :meth:`source` gives the
    per-customer :class:`SqlUsage` the pricing uses; a question that was not prepared (an event-level
    model's events, a ``latest`` meter's value, or anything the recording missed) falls back to
    :class:`SqlUsage`'s own query, so preparing less is slower, never different."""

    CHUNK = 500  # windows per query

    def __init__(
        self,
        *,
        received_through: datetime | None,
        received_after: datetime | None = None,
        catalog: Catalog | None = None,
    ):
        self.received_through = received_through
        self.received_after = received_after
        self.catalog = catalog or Catalog()
        self.answers: dict[tuple, dict] = {}
        self.misses = 0  # questions answered by a fallback query (tests check it stays 0)

    def source(self, customer) -> SqlUsage:
        return _PreparedSqlUsage(customer, prepared=self)

    def prefetch(self, asked: Sequence[tuple]) -> int:
        """``asked``: (customer_id, meter, match, exclude, start, end) tuples, e.g. from
        :func:`billing.invoicing.build.usage_questions`. Returns the number of queries run."""
        if connection.vendor != "postgresql":
            return 0  # SQLite: every question is answered by SqlUsage's own queries
        groups: dict[tuple, dict] = {}
        for customer_id, meter, match, exclude, start, end in asked:
            key = usage_key(customer_id, meter.code, match, exclude, start, end)
            if key in self.answers:
                continue
            group = groups.setdefault(
                (meter.code, key[2]), {"meter": meter, "match": match, "exclude": exclude, "windows": {}}
            )
            group["windows"][key] = (customer_id, start, end)
        queries = 0
        for group in groups.values():
            windows = list(group["windows"].items())
            for offset in range(0, len(windows), self.CHUNK):
                self._fetch(
                    group["meter"], group["match"], group["exclude"], windows[offset : offset + self.CHUNK]
                )
                queries += 1
        return queries

    def _fetch(self, meter: MeterDef, match, exclude, windows: list) -> None:
        probe = SqlUsage(
            RawSQL("w.customer_id", (), output_field=BigIntegerField()),
            received_through=self.received_through,
            received_after=self.received_after,
            catalog=self.catalog,
        )
        model = probe.meter(meter.code)
        qs = probe.queryset(
            meter,
            match=match,
            exclude=exclude,
            start=RawSQL("w.lo", (), output_field=DateTimeField()),
            end=RawSQL("w.hi", (), output_field=DateTimeField()),
        )
        sql, params = qs.order_by().values_list("transaction_id", "value", "dim").query.sql_with_params()
        aggregate = _AGGREGATES.get(model.aggregation, "NULL")  # latest: quantity by SqlUsage
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT w.k, a.n, a.digest, a.total "  # noqa: S608 - Django-compiled SQL, fixed expressions
                "FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[]) WITH ORDINALITY "
                "AS w (customer_id, lo, hi, k) CROSS JOIN LATERAL (SELECT count(*) AS n, "
                "encode(sha256(convert_to(coalesce(string_agg(t.tid, E'\\n' ORDER BY t.tid), ''), "
                f"'UTF8')), 'hex') AS digest, {aggregate} AS total FROM ({sql}) AS t (tid, value, dim)) AS a",
                [
                    [customer_id for _key, (customer_id, _s, _e) in windows],
                    [start for _key, (_c, start, _e) in windows],
                    [end for _key, (_c, _s, end) in windows],
                    *params,
                ],
            )
            rows = cursor.fetchall()
        for k, count, digest, total in rows:
            key = windows[k - 1][0]
            self.answers[key] = {
                "count": int(count),
                "digest": digest,
                "total": None if aggregate == "NULL" else plain(total),
            }


class _PreparedSqlUsage(SqlUsage):
    def __init__(self, customer, *, prepared: PreparedUsage):
        super().__init__(
            customer,
            received_through=prepared.received_through,
            received_after=prepared.received_after,
            catalog=prepared.catalog,
        )
        self.prepared = prepared

    def _answer(self, meter, match, exclude, start, end) -> dict | None:
        key = usage_key(getattr(self.customer, "pk", self.customer), meter.code, match, exclude, start, end)
        answer = self.prepared.answers.get(key)
        if answer is None:
            self.prepared.misses += 1
        return answer

    def quantity(self, meter, *, match, exclude, start, end) -> Decimal:
        answer = self._answer(meter, match, exclude, start, end)
        if answer is None or answer["total"] is None:
            return super().quantity(meter, match=match, exclude=exclude, start=start, end=end)
        return answer["total"]

    def fingerprint(self, meter, *, match, exclude, start, end) -> tuple[int, str]:
        answer = self._answer(meter, match, exclude, start, end)
        if answer is None:
            return super().fingerprint(meter, match=match, exclude=exclude, start=start, end=end)
        return answer["count"], answer["digest"]
