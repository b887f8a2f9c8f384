"""The demo book: the customers, contracts and usage events ``seed_billing`` (billing.invoicing.demo)
creates, drawn deterministically and dated relative to today."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MARKER = "northwind"
ONBOARDING = {"key": "onboarding", "product": "onboarding", "billing": "one_time"}

# external id, name, time zone, tax rate, email domain
CUSTOMERS = (
    ("northwind", "Northwind Traders", "America/New_York", "8.875", "northwind.example"),
    ("globex", "Globex Corporation", "UTC", "0", "globex.example"),
    ("initech", "Initech", "America/Chicago", "8.875", "initech.example"),
    ("umbrella", "Umbrella Health", "Europe/London", "0", "umbrella.example"),
    ("hooli", "Hooli", "America/Los_Angeles", "8.875", "hooli.example"),
    ("sakura", "Sakura Systems KK", "Asia/Tokyo", "0", "sakura.example"),
    ("stark", "Stark Industries", "America/New_York", "8.875", "stark.example"),
    ("wayne", "Wayne Enterprises", "UTC", "0", "wayne.example"),
    ("cyberdyne", "Cyberdyne Systems", "Europe/Berlin", "19", "cyberdyne.example"),
    ("vandelay", "Vandelay Industries", "Europe/Berlin", "19", "vandelay.example"),
    ("initrode", "Initrode Global", "UTC", "0", "initrode.example"),
    ("piedpiper", "Pied Piper", "America/Los_Angeles", "8.875", "piedpiper.example"),
)

# The rest of the book: customers whose contracts are drawn (deterministically) from the plan mix.
MORE_CUSTOMERS = (
    "Aperture Science", "Black Mesa Research", "Soylent Foods", "Tyrell Corporation", "Oscorp",
    "Massive Dynamic", "Pied Piper", "Dunder Mifflin", "Gringotts Bank", "Monarch Solutions",
    "Blue Sun Corporation", "Virtucon", "Gekko & Co", "Prestige Worldwide", "Bluth Company",
    "Sterling Cooper", "Wonka Industries", "Nakatomi Trading", "Rekall", "Kruger Logistics",
    "Nordlicht AB", "Zenith Health", "Helios Energy", "Orbital Freight", "Lumen Analytics",
    "Quanta Labs", "Riverbend Media", "Silverline Insurance", "Tidewater Retail", "Aurora Mobility",
    "Cobalt Security", "Evergreen Foods", "Falcon Aerospace", "Granite Capital", "Harbor Logistics",
    "Ironclad Games", "Juniper Biotech",
)  # fmt: skip
REGIONS = (
    ("America/New_York", "8.875"),
    ("America/Chicago", "8.25"),
    ("America/Los_Angeles", "7.25"),
    ("Europe/London", "0"),
    ("Europe/Berlin", "19"),
    ("UTC", "0"),
    ("Asia/Singapore", "0"),
    ("Australia/Sydney", "0"),
)
# Plan mix of the generated contracts, in turn: token-priced, hybrid (commitment + overage), API,
# seats, seats with tokens, API with seats.
MIX = ("ai", "hybrid", "api", "seats", "seats+ai", "api+seats")

TOKEN_MODELS = (("gpt-4o", 1.0), ("gpt-4o-mini", 3.0))
ENDPOINTS = ("/v1/search", "/v1/orders", "/v1/users", "/v1/reports")


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in name.lower()).replace("--", "-").strip("-")


def more_customers() -> list[tuple[str, str, str, str, str]]:
    out = []
    for index, name in enumerate(MORE_CUSTOMERS):
        slug = _slug(name)
        tz, tax = REGIONS[index % len(REGIONS)]
        out.append((slug, name, tz, tax, f"{slug}.example"))
    return out


def months_back(first: date, k: int, day: int = 1) -> date:
    index = first.year * 12 + (first.month - 1) - k
    return date(index // 12, index % 12 + 1, day)


def add_months(d: date, n: int) -> date:
    index = d.year * 12 + (d.month - 1) + n
    return date(index // 12, index % 12 + 1, min(d.day, 28))


AI = {"key": "ai", "product": "tokens", "plan": "ai-tokens"}
HYBRID = {"key": "ai", "product": "tokens", "plan": "ai-enterprise"}
API = {"key": "api", "product": "api", "plan": "api-growth"}


def ramp_line(start: date) -> dict:
    """A three-year ramp deal on the annual platform plan: 100,000 / 120,000 / 150,000 a year, billed
    yearly in advance, one contract (issue 17 §5, accounting.md §5a)."""
    return {
        "key": "platform",
        "product": "platform",
        "plan": "platform-annual",
        "ramp": [
            {"from": start.isoformat(), "unit_price": "100000.00"},
            {"from": add_months(start, 12).isoformat(), "unit_price": "120000.00"},
            {"from": add_months(start, 24).isoformat(), "unit_price": "150000.00"},
        ],
    }


def _seats(n: int) -> dict:
    return {"key": "seats", "product": "seats", "plan": "team-seats", "quantity": str(n)}


def _spec(customer, start, months, lines, anchor="calendar", **extra) -> dict:
    return {"customer": customer, "start": start, "months": months, "lines": lines, "anchor": anchor, **extra}


def _trial_start(m0: date) -> date:
    """Twenty days before today (a day the end-of-term arithmetic can keep): the demo's free trial of
    30 days is still running and converts in about ten days."""
    from django.utils import timezone

    start = timezone.localdate() - timedelta(days=20)
    return start.replace(day=min(start.day, 28))


def demo_contracts(m0: date) -> list[dict]:
    """The demo contracts, dated relative to the first day of the current month ``m0``."""
    c = _spec
    named = [
        c("northwind", months_back(m0, 10), 24, [AI, {**ONBOARDING, "amount": "2500.00"}], tokens=1.0),
        c("globex", months_back(m0, 9, 15), 24, [API], calls=220),
        c("initech", months_back(m0, 8), 12, [_seats(12)]),
        c("umbrella", months_back(m0, 7, 10), 24, [AI], anchor="anniversary", tokens=0.6),
        c("hooli", months_back(m0, 9), 36, [API, _seats(40)], calls=600),
        c("sakura", months_back(m0, 6), 12, [_seats(8), AI], tokens=1.5),
        c("stark", months_back(m0, 9), 12, [_seats(25), {**ONBOARDING, "amount": "4000.00"}]),
        c("wayne", months_back(m0, 12), 24, [API], calls=150),
        c("cyberdyne", months_back(m0, 7), 12, [AI], tokens=0.1),
        c("vandelay", months_back(m0, 6, 20), 12, [_seats(5), API], anchor="anniversary", calls=120),
        c("initrode", months_back(m0, 12), 36, [ramp_line(months_back(m0, 12))]),
        c("piedpiper", _trial_start(m0), 12, [_seats(10)], trial_days=30),  # in its free trial today
    ]
    return named + [_drawn_contract(index, ext, m0) for index, (ext, *_rest) in enumerate(more_customers())]


def _drawn_contract(index: int, ext: str, m0: date) -> dict:
    """One generated contract: the plan mix in turn; start 1–12 months ago; term, size and usage drawn
    from a generator seeded by the customer, so every run of the seeder draws the same book."""
    rng = random.Random(f"demo-contract/{ext}")
    kind = MIX[index % len(MIX)]
    start = months_back(m0, rng.randint(1, 12), rng.choice((1, 1, 1, 5, 15)))
    months = rng.choice((12, 12, 24, 36))
    anchor = "anniversary" if start.day != 1 and rng.random() < 0.5 else "calendar"
    seats = _seats(rng.choice((5, 10, 15, 20, 30, 50)))
    tokens = round(rng.uniform(0.1, 1.6), 2)
    calls = rng.randint(20, 120)
    if kind == "ai":
        return _spec(ext, start, months, [AI], anchor, tokens=tokens)
    if kind == "hybrid":  # sized around the 5,000.00 commitment: some true up, some pay overage
        lines = [HYBRID, {**ONBOARDING, "amount": "7500.00"}]
        return _spec(ext, start, months, lines, anchor, tokens=round(rng.uniform(18, 40), 1))
    if kind == "api":
        return _spec(ext, start, months, [API], anchor, calls=calls)
    if kind == "seats":
        return _spec(ext, start, months, [seats], anchor)
    if kind == "seats+ai":
        return _spec(ext, start, months, [seats, AI], anchor, tokens=tokens)
    return _spec(ext, start, months, [API, seats], anchor, calls=calls)


def extra_contracts(m0: date) -> list[dict]:
    """Contracts for the customers the usage seeder made (if they are there), in their currencies."""
    from revops.parties.models import Customer

    out = []
    spec = {
        "acme": ("USD", [API]),
        "tokyo-kk": ("JPY", [{"key": "platform", "product": "platform", "unit_price": "65000"}]),
        "berlin-gmbh": (
            "EUR",
            [
                {"key": "platform", "product": "platform", "unit_price": "490.00"},
                {"key": "support", "product": "support", "unit_price": "150.00"},
            ],
        ),
    }
    for index, (ext, (currency, lines)) in enumerate(spec.items()):
        customer = Customer.objects.filter(external_id=ext, currency=currency).first()
        # Invoices are issued by the customer's legal entity: a customer created without one
        # (directly in the database) cannot be invoiced, so it gets no demo contract.
        if customer is not None and customer.legal_entity_id and not customer.contracts.exists():
            out.append(_spec(ext, months_back(m0, 6 + index), 12, lines))
    return out


# --- usage -----------------------------------------------------------------------------------------


def contract_events(spec: dict, customer, *, until: datetime, api_from: date) -> list[dict]:
    """Deterministic events for one contract: tokens every day of the term so far, API calls for the
    last three months (each call is one event; a full year of them would only slow the demo down)."""
    events: list[dict] = []
    zone = ZoneInfo(customer.timezone or "UTC")
    first = spec["start"]
    last = until.astimezone(zone).date()
    ext = customer.external_id
    day = first
    while day <= last:
        rng = random.Random(f"billing-demo/{ext}/{day.isoformat()}")
        start = datetime.combine(day, time.min, tzinfo=zone)
        weekday = 1.0 if day.weekday() < 5 else 0.4
        if spec.get("tokens"):
            scale = spec["tokens"]
            n = 0
            for model, volume in TOKEN_MODELS:
                for token_type, base in (("input", 600_000), ("output", 150_000)):
                    for _ in range(2):
                        stamp = start + timedelta(seconds=rng.randint(0, 86_399))
                        if stamp < until:
                            events.append(
                                {
                                    "transaction_id": f"billing-demo-{ext}-tok-{day.isoformat()}-{n}",
                                    "customer": ext,
                                    "code": "llm_tokens",
                                    "timestamp": stamp.isoformat(),
                                    "properties": {
                                        "model": model,
                                        "token_type": token_type,
                                        "tokens": int(
                                            base * volume * scale * weekday * rng.uniform(0.6, 1.4)
                                        ),
                                    },
                                }
                            )
                        n += 1
        if spec.get("calls") and day >= api_from:
            count = int(spec["calls"] * weekday * rng.uniform(0.8, 1.2))
            for n in range(count):
                stamp = start + timedelta(seconds=rng.randint(0, 86_399))
                if stamp < until:
                    events.append(
                        {
                            "transaction_id": f"billing-demo-{ext}-api-{day.isoformat()}-{n}",
                            "customer": ext,
                            "code": "api_calls",
                            "timestamp": stamp.isoformat(),
                            "properties": {
                                "endpoint": ENDPOINTS[rng.randrange(len(ENDPOINTS))],
                                "status": 200 if rng.random() < 0.97 else 500,
                            },
                        }
                    )
        day += timedelta(days=1)
    return events
