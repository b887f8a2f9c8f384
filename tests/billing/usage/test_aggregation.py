"""Meter aggregation in SQL against hand-computed values. No marker: the same tests run on SQLite
(make test) and on PostgreSQL (the CI run of tests/billing/usage)."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing.usage.aggregation import (
    local_bounds,
    usage_daily,
    usage_events,
    usage_fingerprint,
    usage_total,
)
from billing.usage.ingest import ingest_events
from tests.billing.factories import MeterFactory
from tests.revops.factories import CustomerFactory

pytestmark = pytest.mark.django_db

MARCH = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
T1 = datetime(2026, 4, 2, tzinfo=UTC)  # first delivery
T2 = datetime(2026, 4, 10, tzinfo=UTC)  # a late delivery, after an invoice's watermark
FILTERS = {"region": ["eu", "us"]}

# (transaction_id suffix, timestamp, properties). Inside March and the meter filter: B-1, a-1, é-1, Z.
ON_TIME = [
    ("B-1", "2026-03-01T00:00:00Z", {"region": "eu", "model": "a", "tokens": 10, "user": "ann"}),
    ("a-1", "2026-03-05T12:00:00+02:00", {"region": "us", "model": "b", "tokens": "5.5", "user": "bob"}),
    ("é-1", "2026-03-10T08:00:00Z", {"region": "eu", "model": "a", "tokens": 7, "user": "ann"}),
    ("x-asia", "2026-03-15T00:00:00Z", {"region": "asia", "model": "a", "tokens": 100, "user": "zed"}),
    ("x-none", "2026-03-20T00:00:00Z", {"model": "b", "tokens": 1000, "user": "yan"}),
    ("x-april", "2026-04-01T00:00:00Z", {"region": "eu", "model": "a", "tokens": 50, "user": "ann"}),
    ("x-feb", "2026-02-28T23:59:59Z", {"region": "eu", "model": "a", "tokens": 60, "user": "ann"}),
]
LATE = [("Z", "2026-03-31T23:59:59Z", {"region": "us", "model": "a", "tokens": 3, "user": "cid"})]
COUNTED = ["B-1", "Z", "a-1", "é-1"]  # code-point order


@pytest.fixture
def setup():
    customer = CustomerFactory(external_id="agg", timezone="UTC")
    meters = {
        agg: MeterFactory(
            code=f"m_{agg}",
            aggregation=agg,
            field="" if agg == "count" else ("user" if agg == "unique_count" else "tokens"),
            filters=FILTERS,
        )
        for agg in ("count", "sum", "max", "unique_count", "latest")
    }
    for rows, when in ((ON_TIME, T1), (LATE, T2)):
        events = [
            {
                "transaction_id": f"{code}:{tid}",
                "customer": "agg",
                "code": m.code,
                "timestamp": ts,
                "properties": p,
            }
            for code, m in meters.items()
            for tid, ts, p in rows
        ]
        result = ingest_events(events=events, source="api", now=when)
        assert result.rejected == [] and result.accepted == len(events)
    return customer, meters


EXPECTED = {  # over March, meter filter region in (eu, us)
    "count": (Decimal(4), {"a": Decimal(3), "b": Decimal(1)}, Decimal(3)),
    "sum": (Decimal("25.5"), {"a": Decimal(20), "b": Decimal("5.5")}, Decimal(20)),
    "max": (Decimal(10), {"a": Decimal(10), "b": Decimal("5.5")}, Decimal(10)),
    "unique_count": (Decimal(3), {"a": Decimal(2), "b": Decimal(1)}, Decimal(2)),
    "latest": (Decimal(3), {"a": Decimal(3), "b": Decimal("5.5")}, Decimal(3)),
}


@pytest.mark.parametrize("agg", list(EXPECTED))
def test_every_aggregation_with_filters_match_and_group_by(setup, agg):
    customer, meters = setup
    total, by_model, model_a = EXPECTED[agg]
    meter = meters[agg]
    assert usage_total(customer=customer, meter=meter, start=MARCH[0], end=MARCH[1]) == total
    groups = usage_total(customer=customer, meter=meter, start=MARCH[0], end=MARCH[1], group_by=["model"])
    assert {g["key"]["model"]: g["total"] for g in groups} == by_model
    matched = usage_total(customer=customer, meter=meter, start=MARCH[0], end=MARCH[1], match={"model": "a"})
    assert matched == model_a


def test_group_by_two_properties_and_a_missing_one(setup):
    customer, meters = setup
    groups = usage_total(
        customer=customer, meter=meters["sum"], start=MARCH[0], end=MARCH[1], group_by=["model", "user"]
    )
    assert [(g["key"], g["total"]) for g in groups] == [
        ({"model": "a", "user": "ann"}, Decimal(17)),
        ({"model": "a", "user": "cid"}, Decimal(3)),
        ({"model": "b", "user": "bob"}, Decimal("5.5")),
    ]
    nobody = usage_total(
        customer=customer, meter=meters["sum"], start=MARCH[0], end=MARCH[1], group_by=["tier"]
    )
    assert nobody == [{"key": {"tier": None}, "total": Decimal("25.5")}]


def test_match_compares_json_values_exactly(setup):
    customer, meters = setup
    kw = {"customer": customer, "meter": meters["sum"], "start": MARCH[0], "end": MARCH[1]}
    assert usage_total(**kw, match={"model": "a", "user": "ann"}) == Decimal(17)
    assert usage_total(**kw, match={"model": "c"}) == 0
    assert usage_total(**kw, match={"tokens": "10"}) == 0  # the string "10" is not the number 10
    assert usage_total(**kw, match={"tokens": 10}) == Decimal(10)


@pytest.mark.parametrize("agg", list(EXPECTED))
def test_an_empty_period_is_zero(setup, agg):
    customer, meters = setup
    empty = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC))
    assert usage_total(customer=customer, meter=meters[agg], start=empty[0], end=empty[1]) == 0
    assert (
        usage_total(customer=customer, meter=meters[agg], start=empty[0], end=empty[1], group_by=["m"]) == []
    )


def test_received_windows_split_on_time_and_late_events(setup):
    customer, meters = setup
    kw = {"customer": customer, "meter": meters["sum"], "start": MARCH[0], "end": MARCH[1]}
    watermark = datetime(2026, 4, 5, tzinfo=UTC)  # the March invoice line was rated up to here
    on_invoice = usage_total(**kw, received_through=watermark)
    late = usage_total(**kw, received_after=watermark)
    assert (on_invoice, late) == (Decimal("22.5"), Decimal(3))
    assert on_invoice + late == usage_total(**kw)  # each event covered exactly once
    assert usage_fingerprint(**kw, received_after=watermark)[0] == 1
    assert usage_total(**kw, received_through=watermark, received_after=watermark) == 0


def test_latest_ties_go_to_the_later_event(setup):
    customer, meters = setup
    ingest_events(
        events=[
            {
                "transaction_id": f"tie-{n}",
                "customer": "agg",
                "code": "m_latest",
                "timestamp": "2026-03-31T23:59:59Z",
                "properties": {"region": "eu", "tokens": n},
            }
            for n in (41, 42)
        ],
        source="api",
        now=T2,
    )
    assert usage_total(customer=customer, meter=meters["latest"], start=MARCH[0], end=MARCH[1]) == 42


def test_fingerprint_is_the_sha256_of_the_sorted_ids_on_every_backend(setup):
    customer, meters = setup
    count, digest = usage_fingerprint(customer=customer, meter=meters["sum"], start=MARCH[0], end=MARCH[1])
    ids = sorted(f"sum:{t}" for t in COUNTED)
    assert ids == [f"sum:{t}" for t in COUNTED]
    assert count == 4
    assert digest == hashlib.sha256("\n".join(ids).encode()).hexdigest()
    # a constant computed once: the same set gives the same digest on SQLite and PostgreSQL
    assert digest == hashlib.sha256("sum:B-1\nsum:Z\nsum:a-1\nsum:é-1".encode()).hexdigest()
    empty = usage_fingerprint(customer=customer, meter=meters["sum"], start=MARCH[0], end=MARCH[0])
    assert empty == (0, hashlib.sha256(b"").hexdigest())


def test_events_stream_in_timestamp_order(setup):
    customer, meters = setup
    rows = list(usage_events(customer=customer, meter=meters["sum"], start=MARCH[0], end=MARCH[1]))
    assert [r[1]["tokens"] for r in rows] == [10, "5.5", 7, 3]
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)


def test_daily_values_per_local_date(setup):
    customer, meters = setup
    days = usage_daily(
        customer=customer, meter=meters["sum"], start_date=date(2026, 3, 1), end_date=date(2026, 4, 1)
    )
    assert len(days) == 31
    values = {d: v for d, v in days if v}
    assert values == {
        date(2026, 3, 1): Decimal(10),
        date(2026, 3, 5): Decimal("5.5"),
        date(2026, 3, 10): Decimal(7),
        date(2026, 3, 31): Decimal(3),
    }


def test_local_bounds_convert_local_dates_to_utc_instants():
    assert local_bounds(date(2026, 4, 1), date(2026, 5, 1), "Asia/Tokyo") == (
        datetime(2026, 3, 31, 15, 0, tzinfo=UTC),
        datetime(2026, 4, 30, 15, 0, tzinfo=UTC),
    )
    # Berlin switches to summer time on 29 March 2026: that day has 23 hours
    start, end = local_bounds(date(2026, 3, 29), date(2026, 3, 30), "Europe/Berlin")
    assert (end - start).total_seconds() == 23 * 3600


def test_tokyo_usage_lands_in_the_period_of_its_local_date(api_for):
    tokyo = CustomerFactory(external_id="tokyo", timezone="Asia/Tokyo")
    meter = MeterFactory(code="calls", aggregation="count", field="")
    event = {
        "transaction_id": "jp-1",
        "customer": "tokyo",
        "code": "calls",
        "timestamp": "2026-03-31T16:30:00Z",
    }
    assert ingest_events(events=[event], source="api").accepted == 1
    april = local_bounds(date(2026, 4, 1), date(2026, 5, 1), tokyo.timezone)
    march = local_bounds(date(2026, 3, 1), date(2026, 4, 1), tokyo.timezone)
    assert usage_total(customer=tokyo, meter=meter, start=april[0], end=april[1]) == 1
    assert usage_total(customer=tokyo, meter=meter, start=march[0], end=march[1]) == 0

    api = api_for("auditor")
    body = api.get("/api/v1/customers/tokyo/usage?meter=calls&start=2026-04-01&end=2026-05-01").json()
    assert body["total"] == "1"
    assert body["days"][0] == {"date": "2026-04-01", "value": "1"}
    assert sum(int(d["value"]) for d in body["days"]) == 1 and len(body["days"]) == 30
    march_body = api.get(
        f"/api/v1/customers/{tokyo.pk}/usage?meter=calls&start=2026-03-01&end=2026-04-01"
    ).json()
    assert march_body["total"] == "0" and all(d["value"] == "0" for d in march_body["days"])


def test_usage_endpoint_shape_and_groups(setup, api_for):
    body = (
        api_for("finance")
        .get(
            "/api/v1/customers/agg/usage",
            {"meter": "m_sum", "start": "2026-03-01", "end": "2026-04-01", "group_by": "model"},
        )
        .json()
    )
    assert set(body) == {"meter", "start", "end", "total", "days", "groups"}
    assert (body["meter"], body["start"], body["end"], body["total"]) == (
        "m_sum",
        "2026-03-01",
        "2026-04-01",
        "25.5",
    )
    assert body["groups"] == [{"key": {"model": "a"}, "total": "20"}, {"key": {"model": "b"}, "total": "5.5"}]
    assert {"date": "2026-03-05", "value": "5.5"} in body["days"]
    no_groups = (
        api_for("finance")
        .get("/api/v1/customers/agg/usage", {"meter": "m_sum", "start": "2026-03-01", "end": "2026-04-01"})
        .json()
    )
    assert "groups" not in no_groups


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start": "2026-03-01", "end": "2026-04-01"}, "meter"),
        ({"meter": "nope", "start": "2026-03-01", "end": "2026-04-01"}, "meter"),
        ({"meter": "m_sum", "start": "March", "end": "2026-04-01"}, "start"),
        ({"meter": "m_sum", "start": "2026-04-01", "end": "2026-04-01"}, "end"),
        ({"meter": "m_sum", "start": "2024-01-01", "end": "2026-04-01"}, "end"),
    ],
)
def test_usage_endpoint_validation_problems(setup, api_for, query, field):
    response = api_for("finance").get("/api/v1/customers/agg/usage", query)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field


def test_usage_for_an_unknown_customer_is_404(api_for):
    response = api_for("finance").get(
        "/api/v1/customers/nobody/usage?meter=x&start=2026-01-01&end=2026-02-01"
    )
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"
