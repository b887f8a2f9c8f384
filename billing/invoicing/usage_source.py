"""Usage from the database for the pricing engine: aggregates computed in SQL, with the exact
selection rules of ``billing.pricing.InMemoryUsage`` (meter filters, first-match filter groups)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

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
            self._meters[code] = Meter.objects.get(code=code)
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
        """(count, SHA-256 of the sorted transaction ids joined by newlines) of the covered events."""
        qs = self.queryset(meter, match=match, exclude=exclude, start=start, end=end)
        digest, count = hashlib.sha256(), 0
        for tid in (
            qs.order_by("transaction_id").values_list("transaction_id", flat=True).iterator(chunk_size=5000)
        ):
            digest.update((("\n" if count else "") + tid).encode())
            count += 1
        return count, digest.hexdigest()
