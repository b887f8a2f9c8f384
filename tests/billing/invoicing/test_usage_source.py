"""SqlUsage.fingerprint: on PostgreSQL the database computes the digest in one query; it must be the
same digest the Python loop computes (and SQLite keeps computing) for the same events: the SHA-256 of
the transaction ids in the database's order, joined by newlines. No marker: runs on both backends."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from billing.catalog.selectors import meter_def
from billing.invoicing.usage_source import SqlUsage
from billing.usage.ingest import ingest_events
from tests.billing.factories import MeterFactory
from tests.revops.factories import CustomerFactory

pytestmark = pytest.mark.django_db

MARCH = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
IDS = ["b-10", "b-9", "B-1", "a", "Z", "é-1", "e-2", "a b", "10", "9"]


def _loop_digest(usage: SqlUsage, meter, **kw) -> tuple[int, str]:
    """What SqlUsage.fingerprint computes on SQLite: the ids in the database's order, hashed here."""
    qs = usage.queryset(meter, **kw)
    ids = list(qs.order_by("transaction_id").values_list("transaction_id", flat=True))
    return len(ids), hashlib.sha256("\n".join(ids).encode()).hexdigest()


def test_the_fingerprint_is_the_digest_of_the_ids_in_database_order():
    customer = CustomerFactory(external_id="fp", timezone="UTC")
    meter = MeterFactory(code="fp_calls", aggregation="count", field="", filters={})
    events = [
        {
            "transaction_id": tid,
            "customer": "fp",
            "code": meter.code,
            "timestamp": f"2026-03-{i + 1:02d}T00:00:00Z",
            "properties": {"region": "eu" if i % 2 else "us"},
        }
        for i, tid in enumerate(IDS)
    ]
    ingest_events(events=events, source="api", now=datetime(2026, 4, 2, tzinfo=UTC))
    usage = SqlUsage(customer, received_through=datetime(2026, 4, 3, tzinfo=UTC))
    definition = meter_def(meter)

    everything = {"match": None, "exclude": [], "start": MARCH[0], "end": MARCH[1]}
    assert usage.fingerprint(definition, **everything) == _loop_digest(usage, definition, **everything)
    assert usage.fingerprint(definition, **everything)[0] == len(IDS)

    only_eu = {"match": {"region": "eu"}, "exclude": [], "start": MARCH[0], "end": MARCH[1]}
    assert usage.fingerprint(definition, **only_eu) == _loop_digest(usage, definition, **only_eu)
    assert usage.fingerprint(definition, **only_eu)[0] == len(IDS) // 2

    not_eu = {"match": None, "exclude": [{"region": "eu"}], "start": MARCH[0], "end": MARCH[1]}
    assert usage.fingerprint(definition, **not_eu) == _loop_digest(usage, definition, **not_eu)

    nothing = {"match": None, "exclude": [], "start": MARCH[0], "end": MARCH[0]}
    assert usage.fingerprint(definition, **nothing) == (0, hashlib.sha256(b"").hexdigest())
