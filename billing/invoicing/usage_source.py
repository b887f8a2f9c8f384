"""Usage from the database for the pricing engine: aggregates computed in SQL, with the exact
selection rules of ``billing.pricing.InMemoryUsage`` (meter filters, first-match filter groups)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Q, QuerySet

from billing.models import Meter, UsageEvent
from billing.pricing import MeterDef
from billing.usage.aggregation import _aggregate_rows, usage_queryset


class SqlUsage:
    def __init__(
        self, customer, *, received_through: datetime | None, received_after: datetime | None = None
    ):
        self.customer = customer
        self.received_through = received_through
        self.received_after = received_after
        self._meters: dict[str, Meter] = {}

    def meter(self, code: str) -> Meter:
        if code not in self._meters:
            from billing.contracts.terms import catalog_read

            self._meters[code] = catalog_read(("meter", code), lambda: Meter.objects.get(code=code))
        return self._meters[code]

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
