"""Demo usage (``manage.py seed_demo``): two meters, 30 days of events per customer through the real
ingestion service, and two quarantined events so the quarantine page has something to show.

Idempotent: transaction_ids are derived from customer, meter, date and sequence, so running it again
only adds the days that are new since the last run (everything else is reported as duplicates)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

from django.utils import timezone

DAYS = 30
DEMO_CUSTOMERS = (
    ("acme", "Acme Analytics", "USD", "UTC"),
    ("tokyo-kk", "Tokyo Robotics KK", "JPY", "Asia/Tokyo"),
    ("berlin-gmbh", "Berlin Data GmbH", "EUR", "Europe/Berlin"),
)
ENDPOINTS = ("/v1/search", "/v1/orders", "/v1/users")
MODELS = ("gpt-large", "gpt-small")


def _customers():
    """The three demo customers, created through the customer service (so they belong to the default
    legal entity and can be invoiced); existing ones are reused."""
    from revops.parties.models import Customer
    from revops.parties.services.customers import customer_create

    out = []
    for ext, name, currency, tz in DEMO_CUSTOMERS:
        customer = Customer.objects.filter(external_id=ext).first()
        if customer is None:
            customer = customer_create(
                external_id=ext, name=name, currency=currency, timezone=tz, actor="seed_demo"
            )
        out.append(customer)
    return out


def _meters():
    from billing.models import Meter

    calls, _ = Meter.objects.get_or_create(
        code="api_calls",
        defaults={"name": "API calls", "aggregation": "count", "field": "", "group_by": ["endpoint"]},
    )
    tokens, _ = Meter.objects.get_or_create(
        code="llm_tokens",
        defaults={
            "name": "LLM tokens",
            "aggregation": "sum",
            "field": "tokens",
            "group_by": ["model", "token_type"],
        },
    )
    return calls, tokens


def demo_events(customers, now: datetime) -> list[dict]:
    events = []
    first = now.date() - timedelta(days=DAYS - 1)
    for customer in customers:
        for offset in range(DAYS):
            day = first + timedelta(days=offset)
            rng = random.Random(f"{customer.external_id}/{day.isoformat()}")
            start = datetime.combine(day, time.min, tzinfo=UTC)
            weekday_boost = 1.0 if day.weekday() < 5 else 0.4
            for code, count in (
                ("api_calls", int(rng.randint(20, 60) * weekday_boost)),
                ("llm_tokens", rng.randint(6, 16)),
            ):
                for n in range(count):
                    stamp = start + timedelta(seconds=rng.randint(0, 86_399))
                    if code == "api_calls":
                        properties = {
                            "endpoint": rng.choice(ENDPOINTS),
                            "status": rng.choice((200, 200, 200, 404)),
                        }
                    else:
                        properties = {
                            "tokens": rng.randint(100, 5000),
                            "model": rng.choice(MODELS),
                            "token_type": rng.choice(("input", "output")),
                        }
                    if stamp > now:
                        continue
                    events.append(
                        {
                            "transaction_id": f"demo-{customer.external_id}-{code}-{day.isoformat()}-{n}",
                            "customer": customer.external_id,
                            "code": code,
                            "timestamp": stamp.isoformat(),
                            "properties": properties,
                        }
                    )
    return events


def seed_usage() -> str:
    from billing.models import EventKey, QuarantinedEvent
    from billing.usage.ingest import MAX_BATCH, ingest_events

    customers = _customers()
    _meters()
    now = timezone.now()
    events = demo_events(customers, now)
    accepted = duplicates = 0
    for start in range(0, len(events), MAX_BATCH):
        result = ingest_events(events=events[start : start + MAX_BATCH], source="demo")
        accepted += result.accepted
        duplicates += result.duplicates
    bad = [
        {
            "transaction_id": f"demo-quarantine-{n}",
            "customer": "cus_not_yet_created",
            "code": "api_calls",
            "timestamp": (now - timedelta(hours=n)).isoformat(),
            "properties": {"endpoint": "/v1/search"},
        }
        for n in (1, 2)
    ]
    known = set(
        QuarantinedEvent.objects.filter(transaction_id__startswith="demo-quarantine-").values_list(
            "transaction_id", flat=True
        )
    )
    known |= set(
        EventKey.objects.filter(transaction_id__startswith="demo-quarantine-").values_list("pk", flat=True)
    )
    bad = [e for e in bad if e["transaction_id"] not in known]
    quarantined = len(ingest_events(events=bad, source="demo").rejected) if bad else 0
    return f"{accepted} usage events added ({duplicates} already there), {quarantined} quarantined"
