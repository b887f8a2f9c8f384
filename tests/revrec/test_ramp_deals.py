"""Ramp deals (issue 17 §5, accounting.md §5a), golden to the cent.

A three-year platform deal billed yearly in advance at 100,000 / 120,000 / 150,000 is one contract: the
transaction price is 370,000, allocated once, recognized straight-line over the 1,095 days of the term
(123,333.33 / 123,333.34 / 123,333.33) — not as invoiced. The lower early invoices leave a contract
asset (unbilled receivable) of 23,333.33 at the end of year 1 and 26,666.67 at the end of year 2, which
the higher invoices reverse (ASC 606-10-32-28/29 and 606-10-45-3; IFRS 15.73–75, 15.105–107).

And a plan-less monthly line whose step falls mid-month: the February period is prorated by days on
each side of the step (two invoice lines), as billing prorates any part period (§3)."""

from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Sum

from billing.models import Invoice, InvoiceLine
from revrec.models import JournalEntry, JournalLine

pytestmark = pytest.mark.django_db(transaction=True)

ZERO = Decimal(0)
D = Decimal
ANNUAL = {
    "code": "platform-annual",
    "name": "Platform (annual)",
    "currency": "USD",
    "interval": "year",
    "effective_from": "2020-01-01",
    "charges": [
        {
            "code": "platform",
            "product": "platform",
            "model": "flat",
            "timing": "in_advance",
            "properties": {"amount": "120000.00"},
        }
    ],
}
RAMP = [
    {"from": "2025-01-01", "unit_price": "100000.00"},
    {"from": "2026-01-01", "unit_price": "120000.00"},
    {"from": "2027-01-01", "unit_price": "150000.00"},
]
# The approved schedule: 370,000 × days elapsed ÷ 1,095, cumulative rounding (§5).
MONTHS_2025 = [
    "10474.89", "9461.18", "10474.89", "10136.99", "10474.88", "10136.99",
    "10474.88", "10474.89", "10136.99", "10474.88", "10136.99", "10474.88",
]  # fmt: skip
MONTHS_2026 = [
    "10474.89", "9461.19", "10474.88", "10136.99", "10474.88", "10136.99",
    "10474.89", "10474.88", "10136.99", "10474.88", "10136.99", "10474.89",
]  # fmt: skip
MONTHS_2027 = [
    "10474.88", "9461.19", "10474.89", "10136.98", "10474.89", "10136.98",
    "10474.89", "10474.89", "10136.98", "10474.89", "10136.98", "10474.89",
]  # fmt: skip
PERIODS = [f"{y}-{m:02d}" for y in (2025, 2026, 2027) for m in range(1, 13)]


def entry_lines(entry) -> dict[str, tuple[Decimal, Decimal]]:
    """{account role: (debit, credit)} of one journal entry."""
    out: dict[str, tuple[Decimal, Decimal]] = {}
    for ln in entry.lines.select_related("account"):
        role = "revenue" if ln.account.role == "revenue_sub" else ln.account.role
        d, c = out.get(role, (ZERO, ZERO))
        out[role] = (d + ln.debit, c + ln.credit)
    return out


def balance(role: str, *, through: str, contract_id: int) -> Decimal:
    roles = ["revenue", "revenue_sub"] if role == "revenue" else [role]
    totals = JournalLine.objects.filter(
        account__role__in=roles, entry__period__lte=through, entry__contract_id=contract_id
    ).aggregate(d=Sum("debit"), c=Sum("credit"))
    return (totals["d"] or ZERO) - (totals["c"] or ZERO)


@pytest.fixture
def ramp_deal(catalog, scenario):
    scenario.plan(ANNUAL).approve_as("approver", kind="price_version_publish")
    scenario.customer("initrode", name="Initrode Global")
    scenario.contract(
        "2025-01-01",
        "2028-01-01",
        [{"key": "platform", "product": "platform", "plan": "platform-annual", "ramp": RAMP}],
        approved_by="approver",
    )
    return scenario


def test_a_ramp_is_one_contract_with_one_transaction_price_allocated_once(ramp_deal):
    body = ramp_deal.get(f"contracts/{ramp_deal.id}")
    assert body["transaction_price"] == "370000.00"
    assert body["lines"][0]["ramp"] == [
        {"from": "2025-01-01", "unit_price": "100000"},
        {"from": "2026-01-01", "unit_price": "120000"},
        {"from": "2027-01-01", "unit_price": "150000"},
    ]
    assert body["lines"][0]["unit_price"] is None  # priced by its steps
    assert ramp_deal.allocations() == {"platform": D("370000.00")}
    schedule = ramp_deal.schedule()["platform"]
    assert [str(schedule[p]) for p in PERIODS] == MONTHS_2025 + MONTHS_2026 + MONTHS_2027
    assert sum(schedule.values()) == D("370000.00")
    # Straight line: each year earns its days' share, whatever it bills.
    for year, expected in (("2025", "123333.33"), ("2026", "123333.34"), ("2027", "123333.33")):
        assert sum(v for p, v in schedule.items() if p.startswith(year)) == D(expected)


def test_invoices_step_with_the_ramp_and_revenue_does_not(ramp_deal):
    # In time order: each year's invoice is finalized on its date, then that year's revenue runs.
    for year in ("2025", "2026", "2027"):
        ramp_deal.bill(f"{year}-01-01").finalize()
        ramp_deal.recognize(*[p for p in PERIODS if p.startswith(year)])
    invoices = Invoice.objects.filter(contract_id=ramp_deal.id).order_by("billing_date")
    assert [(i.billing_date, i.total) for i in invoices] == [
        (date(2025, 1, 1), D("100000.00")),
        (date(2026, 1, 1), D("120000.00")),
        (date(2027, 1, 1), D("150000.00")),
    ]
    lines = InvoiceLine.objects.filter(invoice__contract_id=ramp_deal.id).order_by("service_start")
    assert [(ln.service_start, ln.service_end, ln.amount) for ln in lines] == [
        (date(2025, 1, 1), date(2026, 1, 1), D("100000.00")),
        (date(2026, 1, 1), date(2027, 1, 1), D("120000.00")),
        (date(2027, 1, 1), date(2028, 1, 1), D("150000.00")),
    ]
    cid = ramp_deal.id

    # Journal entries, to the cent.
    first = JournalEntry.objects.get(source="invoice", source_id=str(invoices[0].pk))
    assert entry_lines(first) == {"ar": (D("100000.00"), ZERO), "deferred": (ZERO, D("100000.00"))}
    january = JournalEntry.objects.get(source="recognition", contract_id=cid, period="2025-01")
    assert entry_lines(january) == {"deferred": (D("10474.89"), ZERO), "revenue": (ZERO, D("10474.89"))}
    # October 2025: the 100,000 billed runs out — the rest of the month's revenue is a contract asset.
    october = JournalEntry.objects.get(source="recognition", contract_id=cid, period="2025-10")
    assert entry_lines(october) == {
        "deferred": (D("7753.42"), ZERO),
        "unbilled": (D("2721.46"), ZERO),
        "revenue": (ZERO, D("10474.88")),
    }
    # Year 2's invoice first reverses the contract asset, the rest is deferred revenue.
    second = JournalEntry.objects.get(source="invoice", source_id=str(invoices[1].pk))
    assert entry_lines(second) == {
        "ar": (D("120000.00"), ZERO),
        "unbilled": (ZERO, D("23333.33")),
        "deferred": (ZERO, D("96666.67")),
    }
    third = JournalEntry.objects.get(source="invoice", source_id=str(invoices[2].pk))
    assert entry_lines(third) == {
        "ar": (D("150000.00"), ZERO),
        "unbilled": (ZERO, D("26666.67")),
        "deferred": (ZERO, D("123333.33")),
    }

    # The balance sheet at each step end: a contract asset, reversed by the term's end.
    for through, unbilled, deferred in (
        ("2025-12", "23333.33", "0.00"),
        ("2026-12", "26666.67", "0.00"),
        ("2027-12", "0.00", "0.00"),
    ):
        assert balance("unbilled", through=through, contract_id=cid) == D(unbilled)
        assert -balance("deferred", through=through, contract_id=cid) == D(deferred)

    # The deferred-revenue rollforward ties at every month end: billed − recognized == deferred − unbilled.
    for period in PERIODS:
        billed = balance("ar", through=period, contract_id=cid)  # nothing paid: AR is what was billed
        recognized = -balance("revenue", through=period, contract_id=cid)
        deferred = -balance("deferred", through=period, contract_id=cid)
        unbilled = balance("unbilled", through=period, contract_id=cid)
        assert billed - recognized == deferred - unbilled, period
    assert -balance("revenue", through="2027-12", contract_id=cid) == D("370000.00")
    assert balance("ar", through="2027-12", contract_id=cid) == D("370000.00")

    # Invoices vs revenue per step, in the API (GET /contracts/{id}/schedule → ramps).
    ramps = ramp_deal.get(f"contracts/{cid}/schedule")["ramps"]
    assert len(ramps) == 1 and ramps[0]["line"] == "platform" and ramps[0]["allocated_amount"] == "370000.00"
    assert ramps[0]["billing_total"] == ramps[0]["revenue_total"] == "370000.00"
    steps = [
        (
            s["from"],
            s["to"],
            s["billing"],
            s["revenue"],
            s["difference"],
            s["balance_at_end"],
            s["position_at_end"],
            s["billed"],
            s["recognized"],
        )
        for s in ramps[0]["steps"]
    ]
    assert steps == [
        ("2025-01-01", "2026-01-01", "100000.00", "123333.33", "-23333.33", "-23333.33", "contract_asset",
         "100000.00", "123333.33"),
        ("2026-01-01", "2027-01-01", "120000.00", "123333.34", "-3333.34", "-26666.67", "contract_asset",
         "120000.00", "123333.34"),
        ("2027-01-01", "2028-01-01", "150000.00", "123333.33", "26666.67", "0.00", "none",
         "150000.00", "123333.33"),
    ]  # fmt: skip


def test_a_period_across_a_step_is_prorated_by_days_on_each_side(catalog, scenario):
    """1,000.00 a month from 1 January, 1,500.00 from 15 February: February (28 days) bills 14 days at
    each price — 500.00 + 750.00 — as two lines; the term bills 3,750.00, recognized by days over the
    90 days of the term (1,291.67 / 1,166.66 / 1,291.67)."""
    scenario.customer("ramp-mid", name="Mid Ramp")
    scenario.contract(
        "2026-01-01",
        "2026-04-01",
        [
            {
                "key": "svc",
                "product": "platform",
                "ramp": [
                    {"from": "2026-01-01", "unit_price": "1000.00"},
                    {"from": "2026-02-15", "unit_price": "1500.00"},
                ],
            }
        ],
        approved_by="approver",
    )
    cid = scenario.id
    assert scenario.get(f"contracts/{cid}")["transaction_price"] == "3750.00"
    scenario.bill("2026-01-01", "2026-02-01", "2026-03-01").finalize()
    lines = InvoiceLine.objects.filter(invoice__contract_id=cid).order_by("service_start")
    assert [(ln.service_start, ln.service_end, ln.unit_amount, ln.amount) for ln in lines] == [
        (date(2026, 1, 1), date(2026, 2, 1), D("1000.00"), D("1000.00")),
        (date(2026, 2, 1), date(2026, 2, 15), D("1000.00"), D("500.00")),
        (date(2026, 2, 15), date(2026, 3, 1), D("1500.00"), D("750.00")),
        (date(2026, 3, 1), date(2026, 4, 1), D("1500.00"), D("1500.00")),
    ]
    assert scenario.schedule()["svc"] == {
        "2026-01": D("1291.67"),
        "2026-02": D("1166.66"),
        "2026-03": D("1291.67"),
    }
    scenario.recognize("2026-01", "2026-02", "2026-03")
    steps = scenario.get(f"contracts/{cid}/schedule")["ramps"][0]["steps"]
    # Step 1: January + 14 of February's 28 days of revenue (583.33, rounded once at the step's start).
    assert [(s["billing"], s["revenue"], s["balance_at_end"], s["position_at_end"]) for s in steps] == [
        ("1500.00", "1875.00", "-375.00", "contract_asset"),
        ("2250.00", "1875.00", "0.00", "none"),
    ]
    for period in ("2026-01", "2026-02", "2026-03"):
        billed = balance("ar", through=period, contract_id=cid)
        recognized = -balance("revenue", through=period, contract_id=cid)
        deferred = -balance("deferred", through=period, contract_id=cid)
        unbilled = balance("unbilled", through=period, contract_id=cid)
        assert billed - recognized == deferred - unbilled, period
    assert balance("unbilled", through="2026-01", contract_id=cid) == D("291.67")
