"""PostgreSQL only: concurrent overlapping posts from several OS processes, and monthly partitions."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection, connections

from billing.models import EventKey, UsageEvent
from billing.usage.ingest import ingest_events
from billing.usage.partitions import ensure_partitions, partition_list, partition_name
from tests.billing.factories import MeterFactory
from tests.revops.factories import CustomerFactory

PROCESSES = 4
BATCHES = 5
BATCH = 400


def _batch(worker: int, n: int) -> list[dict]:
    """Overlapping batches: worker w, batch n covers ids [w*300 + n*200, … + 400): neighbours share ids."""
    first = worker * 300 + n * 200
    stamp = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    return [
        {
            "transaction_id": f"cc-{i}",
            "customer": f"cc-{i % 3}",
            "code": "cc_tokens",
            "timestamp": stamp,
            "properties": {"tokens": i},
        }
        for i in range(first, first + BATCH)
    ]


def _poster(worker: int, raw_token: str, barrier, results) -> None:
    from rest_framework.test import APIClient

    connections.close_all()  # never share the parent's connection
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_token}")
    totals = [0, 0, 0]
    try:
        barrier.wait(timeout=60)
        for n in range(BATCHES):
            response = client.post("/api/v1/events", {"events": _batch(worker, n)}, format="json")
            assert response.status_code == 200, response.content
            body = response.json()
            totals[0] += body["accepted"]
            totals[1] += body["duplicates"]
            totals[2] += len(body["rejected"])
        results.put(("ok", totals))
    except Exception as exc:  # report to the parent instead of dying silently
        results.put(("error", repr(exc)))
    finally:
        connections.close_all()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_overlapping_posts_store_each_transaction_id_exactly_once():
    from revops.core.services.tokens import api_token_create

    for n in range(3):
        CustomerFactory(external_id=f"cc-{n}")
    MeterFactory(code="cc_tokens", aggregation="sum", field="tokens")
    _token, raw = api_token_create(username="cc-pipeline", role="finance")
    expected = {e["transaction_id"] for w in range(PROCESSES) for n in range(BATCHES) for e in _batch(w, n)}
    posted = PROCESSES * BATCHES * BATCH

    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(PROCESSES), ctx.Queue()
    procs = [ctx.Process(target=_poster, args=(w, raw, barrier, results)) for w in range(PROCESSES)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    accepted = sum(t[0] for _, t in outcomes)
    duplicates = sum(t[1] for _, t in outcomes)
    assert sum(t[2] for _, t in outcomes) == 0

    assert accepted == len(expected)  # every id accepted once, by exactly one of the processes
    assert accepted + duplicates == posted
    assert EventKey.objects.count() == len(expected)
    assert set(UsageEvent.objects.values_list("transaction_id", flat=True)) == expected
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT transaction_id FROM billing_usageevent GROUP BY 1 HAVING count(*) > 1) d"
        )
        assert cursor.fetchone()[0] == 0


def _partition_of(transaction_id: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM billing_usageevent WHERE transaction_id = %s",
            [transaction_id],
        )
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db
def test_ensure_partitions_creates_months_ahead_idempotently():
    first = ensure_partitions(months_ahead=2, months_back=0, today=date(2031, 5, 20))
    assert first.created == [
        "billing_usageevent_p2031_05",
        "billing_usageevent_p2031_06",
        "billing_usageevent_p2031_07",
    ]
    assert ensure_partitions(months_ahead=2, months_back=0, today=date(2031, 5, 20)).created == []
    names = {p["name"] for p in partition_list()}
    assert {"billing_usageevent_default", *first.created} <= names
    bounds = next(p["bounds"] for p in partition_list() if p["name"] == "billing_usageevent_p2031_06")
    assert "2031-06-01 00:00:00+00" in bounds and "2031-07-01 00:00:00+00" in bounds


@pytest.mark.postgres
@pytest.mark.django_db
def test_an_event_lands_in_its_months_partition():
    CustomerFactory(external_id="part")
    MeterFactory(code="part_calls", aggregation="count", field="")
    now = datetime.now(UTC)
    ensure_partitions(months_ahead=1, months_back=0)  # the migration and the beat task do this too
    event = {
        "transaction_id": "p-now",
        "customer": "part",
        "code": "part_calls",
        "timestamp": now.isoformat(),
    }
    assert ingest_events(events=[event], source="api").accepted == 1
    assert _partition_of("p-now") == partition_name(date(now.year, now.month, 1))


@pytest.mark.postgres
@pytest.mark.django_db
def test_rows_waiting_in_default_move_into_a_new_month_partition():
    CustomerFactory(external_id="old")
    MeterFactory(code="old_calls", aggregation="count", field="")
    event = {
        "transaction_id": "p-2019",
        "customer": "old",
        "code": "old_calls",
        "timestamp": "2019-05-10T12:00:00Z",
    }
    assert ingest_events(events=[event], source="api").accepted == 1
    assert _partition_of("p-2019") == "billing_usageevent_default"
    result = ensure_partitions(months_ahead=0, months_back=0, today=date(2019, 5, 1))
    assert result.created == ["billing_usageevent_p2019_05"] and result.moved_rows == 1
    assert _partition_of("p-2019") == "billing_usageevent_p2019_05"
    assert UsageEvent.objects.filter(transaction_id="p-2019").count() == 1
