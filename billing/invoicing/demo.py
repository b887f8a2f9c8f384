"""Demo billing data (``manage.py seed_demo``, after the "catalog" and "usage" seeders).

About fifty customers: ten named ones with hand-picked contracts and the rest drawn (deterministically)
from the plan mix — token-priced ``ai-tokens``, the hybrid ``ai-enterprise`` (platform fee, commitment,
overage), ``api-growth`` and ``team-seats``, some with one-time onboarding — started 1–12 months ago
(dates relative to today), all activated; usage events for the token and API contracts; billing runs
up to today through ``billing_run_start``; most older invoices finalized and paid, one voided, one
credited; amendments (seat growth, an upgrade to the hybrid plan), two terminations, a coupon and a
goodwill credit (each approved by the demo approver: maker-checker), prepaid credits (the goodwill one
partly used and expired: its unused part reverses the concession) and late usage billed as an adjustment. The
latest period's invoices stay drafts for the review queue.

Everything goes through the real services (customers, contracts, ingestion, runs, lifecycle), so the
demo shows what the product does. Idempotent: if the first demo customer exists, nothing is added."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
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


def _more_customers() -> list[tuple[str, str, str, str, str]]:
    out = []
    for index, name in enumerate(MORE_CUSTOMERS):
        slug = _slug(name)
        tz, tax = REGIONS[index % len(REGIONS)]
        out.append((slug, name, tz, tax, f"{slug}.example"))
    return out


def _months_back(first: date, k: int, day: int = 1) -> date:
    index = first.year * 12 + (first.month - 1) - k
    return date(index // 12, index % 12 + 1, day)


def _add_months(d: date, n: int) -> date:
    index = d.year * 12 + (d.month - 1) + n
    return date(index // 12, index % 12 + 1, min(d.day, 28))


AI = {"key": "ai", "product": "tokens", "plan": "ai-tokens"}
HYBRID = {"key": "ai", "product": "tokens", "plan": "ai-enterprise"}
API = {"key": "api", "product": "api", "plan": "api-growth"}


def _seats(n: int) -> dict:
    return {"key": "seats", "product": "seats", "plan": "team-seats", "quantity": str(n)}


def _spec(customer, start, months, lines, anchor="calendar", **extra) -> dict:
    return {"customer": customer, "start": start, "months": months, "lines": lines, "anchor": anchor, **extra}


def _contracts(m0: date) -> list[dict]:
    """The demo contracts, dated relative to the first day of the current month ``m0``."""
    c = _spec
    named = [
        c("northwind", _months_back(m0, 10), 24, [AI, {**ONBOARDING, "amount": "2500.00"}], tokens=1.0),
        c("globex", _months_back(m0, 9, 15), 24, [API], calls=220),
        c("initech", _months_back(m0, 8), 12, [_seats(12)]),
        c("umbrella", _months_back(m0, 7, 10), 24, [AI], anchor="anniversary", tokens=0.6),
        c("hooli", _months_back(m0, 9), 36, [API, _seats(40)], calls=600),
        c("sakura", _months_back(m0, 6), 12, [_seats(8), AI], tokens=1.5),
        c("stark", _months_back(m0, 9), 12, [_seats(25), {**ONBOARDING, "amount": "4000.00"}]),
        c("wayne", _months_back(m0, 12), 24, [API], calls=150),
        c("cyberdyne", _months_back(m0, 7), 12, [AI], tokens=0.1),
        c("vandelay", _months_back(m0, 6, 20), 12, [_seats(5), API], anchor="anniversary", calls=120),
    ]
    return named + [_drawn_contract(index, ext, m0) for index, (ext, *_rest) in enumerate(_more_customers())]


def _drawn_contract(index: int, ext: str, m0: date) -> dict:
    """One generated contract: the plan mix in turn; start 1–12 months ago; term, size and usage drawn
    from a generator seeded by the customer, so every run of the seeder draws the same book."""
    rng = random.Random(f"demo-contract/{ext}")
    kind = MIX[index % len(MIX)]
    start = _months_back(m0, rng.randint(1, 12), rng.choice((1, 1, 1, 5, 15)))
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


def _extra_contracts(m0: date) -> list[dict]:
    """Contracts for the customers the usage seeder made (if they are there), in their currencies."""
    from revops.contracts.models import Customer

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
            out.append(_spec(ext, _months_back(m0, 6 + index), 12, lines))
    return out


# --- usage -----------------------------------------------------------------------------------------


def _events(spec: dict, customer, *, until: datetime, api_from: date) -> list[dict]:
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


def _ingest(events: list[dict], *, received_at: datetime) -> int:
    from billing.usage.ingest import MAX_BATCH, ingest_events

    accepted = 0
    for start in range(0, len(events), MAX_BATCH):
        result = ingest_events(events=events[start : start + MAX_BATCH], source="demo", now=received_at)
        accepted += result.accepted
    return accepted


# --- billing ---------------------------------------------------------------------------------------


def _run(as_of: date, actor):
    """A billing run through the real entry point; when no worker is there to take it (tasks are
    queued, not eager), the seeder works it in-process with the same services the tasks call."""
    from billing.invoicing.runs import billing_run_plan, billing_run_start, billing_run_work
    from billing.models import BillingRun

    run = billing_run_start(as_of=as_of, actor=actor)
    run.refresh_from_db()
    if run.status not in (BillingRun.Status.COMPLETED, BillingRun.Status.FAILED):
        billing_run_plan(run_id=run.pk)
        billing_run_work(run_id=run.pk)
        run.refresh_from_db()
    return run


def _finalize(drafts, *, actor, now=None) -> int:
    from billing.invoicing.lifecycle import invoice_finalize

    count = 0
    for invoice in drafts:
        invoice_finalize(invoice=invoice, actor=actor, now=now, issue_date=invoice.billing_date)
        count += 1
    return count


def seed_billing() -> str:
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from billing.catalog.demo import seed_catalog
    from billing.contracts.services import (
        contract_activate,
        contract_amend,
        contract_create,
        contract_terminate,
    )
    from billing.invoicing.coupons import coupon_apply, coupon_request
    from billing.invoicing.credits import credit_grant_request, credits_expire, goodwill_credit_request
    from billing.invoicing.lifecycle import credit_note_create, invoice_void, payment_record
    from billing.models import Coupon, Invoice, InvoiceLine
    from compliance.approvals import approval_decide
    from revops.contracts.models import Contract, Customer
    from revops.contracts.services.customers import customer_create

    if Customer.objects.filter(external_id=MARKER).exists():
        return "nothing new (demo billing data already there)"
    actor = get_user_model().objects.filter(username="finance").first() or "seed_demo"
    today = timezone.localdate()
    m0 = today.replace(day=1)
    real_now = timezone.now()
    received = real_now - timedelta(minutes=60)  # usage "arrived" an hour ago …
    finalize_now = real_now - timedelta(minutes=30)  # … so invoices finalized "half an hour ago" bill it
    report: list[str] = []

    # 1. Customers, contracts (activated), a coupon and a prepaid credit: one transaction.
    specs = _contracts(m0)
    with transaction.atomic():
        seed_catalog()  # normally done by the "catalog" seeder already; idempotent
        customers = list(CUSTOMERS) + _more_customers()
        for ext, name, tz, tax, domain in customers:
            customer_create(
                external_id=ext,
                name=name,
                currency="USD",
                timezone=tz,
                tax_rate=Decimal(tax),
                email=f"billing@{domain}",
                actor=actor,
            )
        specs += _extra_contracts(m0)
        contracts: dict[str, Contract] = {}
        # The money levers go through maker-checker: finance (or pricing) asks, the approver signs off.
        approver = get_user_model().objects.get(username="approver")
        for spec in specs:
            customer = Customer.objects.get(external_id=spec["customer"])
            contract = contract_create(
                customer=customer.external_id,
                currency=customer.currency,
                start_date=spec["start"],
                end_date=_add_months(spec["start"], spec["months"]).replace(day=spec["start"].day),
                billing_anchor=spec["anchor"],
                lines=spec["lines"],
                actor=actor,
            )
            contract = contract_activate(contract=contract, actor=actor)
            if contract.override_approval is not None:  # custom-priced lines (onboarding, platform)
                approval_decide(
                    approval=contract.override_approval,
                    user=approver,
                    approve=True,
                    comment="Custom price agreed in the order form",
                )
                contract = Contract.objects.get(pk=contract.pk)
            contracts[spec["customer"]] = contract
        coupon = Coupon.objects.filter(code="launch-20").first()
        if coupon is None:
            request = coupon_request(
                code="launch-20",
                changes={
                    "name": "Launch offer",
                    "kind": Coupon.Kind.PERCENT,
                    "value": "20",
                    "duration": Coupon.Duration.REPEATING,
                    "duration_periods": 3,
                },
                actor=actor,
            )
            approval_decide(approval=request, user=approver, approve=True, comment="Launch campaign")
            coupon = Coupon.objects.get(code="launch-20")
        cyberdyne = contracts["cyberdyne"]
        coupon_apply(coupon=coupon, contract=cyberdyne, applied_from=cyberdyne.start_date, actor=actor)
        vandelay = contracts["vandelay"]
        prepaid = credit_grant_request(  # cash received: approved against the receipt
            customer=vandelay.customer,
            contract=vandelay,
            amount=Decimal("1000.00"),
            granted_on=vandelay.start_date,
            expires_on=_add_months(vandelay.start_date, 12),
            reason="Prepaid commit",
            kind="purchased",
            payment_reference="WIRE-VANDELAY-0001",
            actor=actor,
        )
        approval_decide(
            approval=prepaid, user=approver, approve=True, comment="Wire WIRE-VANDELAY-0001 received"
        )
        initech = contracts["initech"]
        goodwill = goodwill_credit_request(  # drawn by two invoices, the rest expires unused
            customer=initech.customer,
            contract=initech,
            amount=Decimal("1000.00"),
            granted_on=_months_back(m0, 3),
            expires_on=_months_back(m0, 1),
            reason="Goodwill credit for the migration delay (60 days)",
            actor=actor,
        )
        approval_decide(approval=goodwill, user=approver, approve=True, comment="Agreed with the CFO")
    report.append(
        f"{len(customers)} customers, {len(contracts)} contracts (activated), coupon, prepaid credits"
    )

    # 2. Usage for the token and API contracts, received an hour ago.
    api_from = _months_back(m0, 2)
    events: list[dict] = []
    for spec in specs:
        if spec.get("tokens") or spec.get("calls"):
            customer = contracts[spec["customer"]].customer
            events += _events(spec, customer, until=received - timedelta(minutes=5), api_from=api_from)
    report.append(f"{_ingest(events, received_at=received)} usage events")

    # 3. Bill up to the start of last month; finalize it all; pay most of it.
    last_month = _months_back(m0, 1)
    _run(last_month, actor)
    drafts = Invoice.objects.filter(status=Invoice.Status.DRAFT).order_by("billing_date", "id")
    finalized = _finalize(list(drafts), actor=actor, now=finalize_now)
    unpaid_recent = {"hooli", "stark", "globex"}
    void_target = Invoice.objects.filter(
        contract=contracts["stark"], status=Invoice.Status.FINALIZED, billing_date=_months_back(m0, 3)
    ).first()
    paid = 0
    for invoice in (
        Invoice.objects.filter(status=Invoice.Status.FINALIZED, total__gt=0)
        .select_related("customer")
        .order_by("billing_date", "id")
    ):
        recent = invoice.billing_date >= _months_back(m0, 2)
        if invoice == void_target or (recent and invoice.customer.external_id in unpaid_recent):
            continue
        if invoice.billing_date == last_month and invoice.pk % 2:
            continue
        paid_on = min(invoice.billing_date + timedelta(days=7 + invoice.pk % 19), today)
        payment_record(
            invoice=invoice,
            amount=invoice.balance_due,
            paid_on=paid_on,
            reference=f"WIRE-{invoice.number}",
            actor=actor,
        )
        paid += 1
    if void_target is not None:
        invoice_void(
            invoice=void_target,
            reason="Seats waived for the onboarding delay (agreed with the customer, ticket CS-1042)",
            actor=actor,
        )
    credited = (
        InvoiceLine.objects.filter(
            invoice__contract=contracts["northwind"],
            invoice__status=Invoice.Status.PAID,
            kind=InvoiceLine.Kind.FEE,
            amount__gt=0,
        )
        .order_by("invoice__billing_date")
        .first()
    )
    if credited is not None:
        credit_note_create(
            invoice=credited.invoice,
            lines=[{"invoice_line": credited.pk, "amount": min(credited.amount, Decimal("25.00"))}],
            reason=f"SLA credit: API outage on {credited.service_start + timedelta(days=11):%d %b %Y}",
            actor=actor,
        )
    report.append(f"{finalized} invoices finalized, {paid} paid, 1 voided, 1 credit note")

    # 4. Mid-period changes: more seats at Initech and at two other seat customers, a token customer
    #    upgrades to the hybrid plan from this month, Wayne and one more customer terminate.
    drawn = {spec["customer"]: (index, spec) for index, spec in enumerate(specs[len(CUSTOMERS) :])}
    earlier = [ext for ext, (_i, spec) in drawn.items() if spec["start"] < last_month]
    seat_growth = [ext for ext in earlier if MIX[drawn[ext][0] % len(MIX)] == "seats"][:2]
    upgrade = next(ext for ext in earlier if MIX[drawn[ext][0] % len(MIX)] == "ai")
    leaver = next(ext for ext in earlier if MIX[drawn[ext][0] % len(MIX)] == "api+seats")
    amendments = [("initech", last_month.replace(day=15), [{"line": "seats", "quantity": "20"}])]
    for n, ext in enumerate(seat_growth):
        quantity = int(contracts[ext].lines.get(key="seats").quantity) + 5 * (n + 1)
        amendments.append(
            (ext, last_month.replace(day=10 + n), [{"line": "seats", "quantity": str(quantity)}])
        )
    amendments.append((upgrade, m0, [{"line": "ai", "plan": "ai-enterprise"}]))
    for ext, effective, changes in amendments:
        with transaction.atomic():
            contract_amend(contract=contracts[ext], effective_date=effective, changes=changes, actor=actor)
    for ext, effective in (("wayne", last_month.replace(day=20)), (leaver, last_month.replace(day=25))):
        with transaction.atomic():
            contract_terminate(contract=contracts[ext], effective_date=effective, actor=actor)
    report.append(f"{len(amendments)} amendments, 2 terminations")

    # 5. A few token events for a finalized period arrive late: billed as an adjustment next time.
    zone = ZoneInfo(contracts["northwind"].customer.timezone)
    late_day = datetime.combine(_months_back(m0, 2).replace(day=12), time(15), tzinfo=zone)
    late = [
        {
            "transaction_id": f"billing-demo-northwind-late-{n}",
            "customer": "northwind",
            "code": "llm_tokens",
            "timestamp": (late_day + timedelta(minutes=7 * n)).astimezone(UTC).isoformat(),
            "properties": {"model": "gpt-4o", "token_type": "output", "tokens": 400_000 + 25_000 * n},
        }
        for n in range(6)
    ]
    _ingest(late, received_at=real_now - timedelta(minutes=20))

    # 6. Bill up to today; finalize what is older than this month; leave this month's drafts.
    run = _run(today, actor)
    older = Invoice.objects.filter(status=Invoice.Status.DRAFT, billing_date__lt=m0).order_by(
        "billing_date", "id"
    )
    finalized = _finalize(list(older), actor=actor)
    drafts_left = Invoice.objects.filter(status=Invoice.Status.DRAFT).count()
    report.append(
        f"run #{run.pk} as of {today}: {run.invoices_created} invoices; {finalized} more finalized, "
        f"{drafts_left} drafts left for review"
    )
    # 7. Credits that expired unused leave the liability for revenue (what the daily beat task does).
    expired = credits_expire(on=today)
    report.append(f"{len(expired)} expired credit grant{'s' if len(expired) != 1 else ''} released")
    return "; ".join(report)
