"""Trials (issue 17 §2, accounting.md §12): golden figures for a free trial converting mid-month and a
priced trial crossing a month end — invoices, schedule lines and journal entries exact to the cent, the
deferred-revenue rollforward tied at each month end — and that no free-trial day is billed or
recognized; the conversion due step (idempotent, with its webhooks), cancellation during the trial and
the input rules."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum

from billing.contracts.models import Contract, ContractTrial
from billing.contracts.services.due import contracts_apply_due
from billing.models import Invoice, InvoiceLine
from revops.core.models import OutboxEvent
from revrec.models import JournalEntry, JournalLine, ScheduleLine

D = Decimal
ZERO = D(0)


def _contract(scenario, start: str, end: str, lines: list[dict], **trial) -> int:
    body = {"customer": scenario.customer_ref, "currency": "USD", "start_date": start, "end_date": end}
    scenario.id = scenario.post("contracts", {**body, "lines": lines, **trial}, status=201)["id"]
    scenario.post(f"contracts/{scenario.id}/activate")
    return scenario.id


def _invoices(contract_id: int) -> list[tuple[date, str, date, date, Decimal]]:
    return [
        (ln.invoice.billing_date, ln.contract_line.key, ln.service_start, ln.service_end, ln.amount)
        for ln in InvoiceLine.objects.filter(invoice__contract_id=contract_id)
        .select_related("invoice", "contract_line")
        .order_by("invoice__billing_date", "id")
    ]


def _schedule(contract_id: int) -> dict[str, dict[str, Decimal]]:
    out: dict[str, dict[str, Decimal]] = {}
    for ln in ScheduleLine.objects.filter(
        schedule__obligation__contract_id=contract_id, schedule__status="approved"
    ).select_related("schedule__obligation"):
        out.setdefault(ln.schedule.obligation.key, {})[ln.period] = ln.amount
    return out


def _entries(contract_id: int, source: str) -> list[dict[str, tuple[Decimal, Decimal]]]:
    """Each entry of SOURCE as {account code: (debit, credit)}, in date order."""
    out = []
    for entry in JournalEntry.objects.filter(contract_id=contract_id, source=source).order_by("date", "id"):
        lines: dict[str, tuple[Decimal, Decimal]] = {}
        for ln in entry.lines.select_related("account"):
            d, c = lines.get(ln.account.code, (ZERO, ZERO))
            lines[ln.account.code] = (d + ln.debit, c + ln.credit)
        out.append(lines)
    return out


def _balance(contract_id: int, roles: list[str], through: str) -> Decimal:
    totals = JournalLine.objects.filter(
        entry__contract_id=contract_id, account__role__in=roles, entry__period__lte=through
    ).aggregate(d=Sum("debit"), c=Sum("credit"))
    return (totals["d"] or ZERO) - (totals["c"] or ZERO)


def _rollforward_ties(contract_id: int, period: str) -> tuple[Decimal, Decimal]:
    """(billed − recognized, deferred − unbilled) through PERIOD's end: equal when it ties."""
    billed = sum(
        (
            i.subtotal
            for i in Invoice.objects.filter(contract_id=contract_id, status__in=["finalized", "paid"])
            if i.billing_date.strftime("%Y-%m") <= period
        ),
        ZERO,
    )
    recognized = -_balance(contract_id, ["revenue", "revenue_sub"], period)
    deferred = -_balance(contract_id, ["deferred"], period)
    unbilled = _balance(contract_id, ["unbilled"], period)
    return billed - recognized, deferred - unbilled


@pytest.fixture
def trialist(catalog, scenario):
    return scenario.customer("trialist", name="Trialist Inc")


def test_free_trial_converting_mid_month_golden(trialist):
    """310.00 a month over 2026 with a 14-day free trial: paid from 15 January. Billing: 310 × 17/31 =
    170.00 for 15–31 January, then 310.00 a month. Price 170.00 + 11 × 310.00 = 3,580.00 over the 351
    days from 15 January, cumulative rounding: January 3,580 × 17/351 = 173.39, February
    3,580 × 45/351 = 458.97 − 173.39 = 285.58."""
    s = trialist
    cid = _contract(
        s,
        "2026-01-01",
        "2027-01-01",
        [{"key": "platform", "product": "platform", "unit_price": "310.00"}],
        trial_days=14,
    )
    contract = s.get(f"contracts/{cid}")
    assert contract["transaction_price"] == "3580.00"
    assert contract["trials"] == [
        {
            "line": None,
            "trial_line": None,
            "days": 14,
            "price": None,
            "starts_on": "2026-01-01",
            "converts_on": "2026-01-15",
            "status": "trialing",
            "decided_on": None,
        }
    ]
    assert contract["lines"][0]["service_start"] == "2026-01-15"
    s.approve_as("approver")
    s.bill("2026-01-01", "2026-01-12")
    assert _invoices(cid) == []  # nothing billed during the trial
    assert OutboxEvent.objects.filter(topic="contract.trial_ending", object_id=str(cid)).count() == 1
    s.bill("2026-01-15").finalize().recognize("2026-01")
    assert ContractTrial.objects.get(contract_id=cid).status == "converted"
    s.bill("2026-02-01").finalize().recognize("2026-02")
    assert _invoices(cid) == [
        (date(2026, 1, 15), "platform", date(2026, 1, 15), date(2026, 2, 1), D("170.00")),
        (date(2026, 2, 1), "platform", date(2026, 2, 1), date(2026, 3, 1), D("310.00")),
    ]
    sched = _schedule(cid)["platform"]
    assert sched["2026-01"] == D("173.39") and sched["2026-02"] == D("285.58")
    assert sum(sched.values()) == D("3580.00")
    assert ScheduleLine.objects.filter(schedule__obligation__contract_id=cid).order_by(
        "start"
    ).first().start == (date(2026, 1, 15))
    # Invoice 15 Jan: Dr AR 170.00 / Cr deferred 170.00; January's revenue 173.39 uses the 170.00 deferred
    # and 3.39 unbilled; February's invoice first settles the 3.39 unbilled.
    assert _entries(cid, "invoice") == [
        {"1100": (D("170.00"), ZERO), "2100": (ZERO, D("170.00"))},
        {"1100": (D("310.00"), ZERO), "1200": (ZERO, D("3.39")), "2100": (ZERO, D("306.61"))},
    ]
    revenue = _entries(cid, "recognition")
    assert [{k: v for k, v in e.items() if not k.startswith("4")} for e in revenue] == [
        {"2100": (D("170.00"), ZERO), "1200": (D("3.39"), ZERO)},
        {"2100": (D("285.58"), ZERO)},
    ]
    assert [sum((c for k, (_, c) in e.items() if k.startswith("4")), ZERO) for e in revenue] == [
        D("173.39"),
        D("285.58"),
    ]
    for period in ("2026-01", "2026-02"):
        left, right = _rollforward_ties(cid, period)
        assert left == right, period
    # Idempotent: the due steps change nothing more, and converted once.
    with transaction.atomic():
        assert set(contracts_apply_due(as_of=date(2026, 2, 1)).values()) == {0}
    assert OutboxEvent.objects.filter(topic="contract.trial_converted", object_id=str(cid)).count() == 1


def test_no_free_trial_day_is_billed_or_recognized(trialist):
    """A line-level free trial on one line of two: the trialed line's invoices and revenue start on its
    conversion day, the other line's do not move."""
    s = trialist
    cid = _contract(
        s,
        "2026-03-01",
        "2026-07-01",
        [
            {"key": "platform", "product": "platform", "unit_price": "100.00"},
            {"key": "seats", "product": "seats", "unit_price": "30.00", "trial_days": 20},
        ],
    )
    s.approve_as("approver")
    s.bill("2026-03-01", "2026-03-21", "2026-04-01").finalize().recognize("2026-03", "2026-04")
    # Seats: paid from 21 March, 30 × 11/31 = 10.65, then 30.00 a month: 100.65 over the 102 days
    # from 21 March; March earns 100.65 × 11/102 = 10.85. The platform bills and earns from 1 March.
    assert [row for row in _invoices(cid) if row[1] == "seats"] == [
        (date(2026, 3, 21), "seats", date(2026, 3, 21), date(2026, 4, 1), D("10.65")),
        (date(2026, 4, 1), "seats", date(2026, 4, 1), date(2026, 5, 1), D("30.00")),
    ]
    assert [row[2] for row in _invoices(cid) if row[1] == "platform"] == [date(2026, 3, 1), date(2026, 4, 1)]
    lines = ScheduleLine.objects.filter(
        schedule__obligation__key="seats", schedule__obligation__contract_id=cid
    )
    assert min(ln.start for ln in lines) == date(2026, 3, 21)
    assert _schedule(cid)["seats"]["2026-03"] == D("10.85")
    assert sum(_schedule(cid)["seats"].values()) == D("100.65")


def test_priced_trial_is_its_own_contract_golden(trialist):
    """14 days at 50.00 from 25 January, then 310.00 a month to 1 July; the book's SSP of the platform
    (400.00) differs from its price, yet the trial keeps exactly its 50.00 (allocated on its own, §12):
    25.00 in January (7 of 14 days), 25.00 in February. Paid from 8 February: 310 × 21/28 = 232.50,
    then 4 × 310.00 = 1,472.50 over 143 days; February 1,472.50 × 21/143 = 216.24."""
    s = trialist
    s.ssp("platform", "400.00", "2025-01-01")
    cid = _contract(
        s,
        "2026-01-25",
        "2026-07-01",
        [
            {
                "key": "platform",
                "product": "platform",
                "unit_price": "310.00",
                "trial_days": 14,
                "trial_price": "50.00",
            }
        ],
    )
    s.approve_as("approver")
    assert s.allocations() == {"platform": D("1472.50"), "platform-trial": D("50.00")}
    s.bill("2026-01-25", "2026-02-08", "2026-03-01").finalize().recognize("2026-01", "2026-02")
    assert _invoices(cid) == [
        (date(2026, 1, 25), "platform-trial", date(2026, 1, 25), date(2026, 2, 8), D("50.00")),
        (date(2026, 2, 8), "platform", date(2026, 2, 8), date(2026, 3, 1), D("232.50")),
        (date(2026, 3, 1), "platform", date(2026, 3, 1), date(2026, 4, 1), D("310.00")),
    ]
    sched = _schedule(cid)
    assert sched["platform-trial"] == {"2026-01": D("25.00"), "2026-02": D("25.00")}
    assert sched["platform"]["2026-02"] == D("216.24")
    assert "2026-01" not in sched["platform"] or sched["platform"]["2026-01"] == ZERO
    assert _entries(cid, "invoice")[0] == {"1100": (D("50.00"), ZERO), "2100": (ZERO, D("50.00"))}
    revenue = _entries(cid, "recognition")
    assert revenue[0]["2100"] == (D("25.00"), ZERO)
    for period in ("2026-01", "2026-02"):
        left, right = _rollforward_ties(cid, period)
        assert left == right, period


def test_cancel_during_the_trial_never_bills_the_paid_period(trialist):
    from billing.contracts.services.trials import contract_trial_cancel

    s = trialist
    cid = _contract(
        s,
        "2026-01-01",
        "2027-01-01",
        [{"key": "platform", "product": "platform", "unit_price": "310.00"}],
        trial_days=14,
    )
    s.approve_as("approver")
    with transaction.atomic(), s.settle():
        contract_trial_cancel(
            contract=Contract.objects.get(pk=cid), actor=s.finance.user, today=date(2026, 1, 10)
        )
    contract = s.get(f"contracts/{cid}")
    assert contract["status"] == "terminated" and contract["terminated_on"] == "2026-01-15"
    assert contract["trials"][0]["status"] == "canceled"
    assert OutboxEvent.objects.filter(topic="contract.trial_canceled", object_id=str(cid)).count() == 1
    s.approve_as("approver")  # the termination's modification
    s.bill("2026-01-15", "2026-02-01").finalize().recognize("2026-01", "2026-02")
    assert _invoices(cid) == []
    assert -_balance(cid, ["revenue", "revenue_sub"], "2026-12") == ZERO
    with transaction.atomic():
        assert set(contracts_apply_due(as_of=date(2026, 1, 15)).values()) == {0}  # never converts


@pytest.mark.parametrize(
    ("trial", "line_trial", "field"),
    [
        ({"trial_price": "10.00"}, {}, "trial_price"),
        ({"trial_days": 400}, {}, "trial_days"),
        ({"trial_days": 31}, {}, "trial_days"),  # the contract ends first
        ({"trial_days": 5}, {"trial_days": 5}, "lines[0].trial_days"),
        ({}, {"trial_days": 5, "trial_price": "1.001"}, "lines[0].trial_price"),
    ],
)
def test_trial_input_is_checked(trialist, trial, line_trial, field):
    s = trialist
    body = {
        "customer": "trialist",
        "currency": "USD",
        "start_date": "2026-01-01",
        "end_date": "2026-02-01",
        "lines": [{"key": "platform", "product": "platform", "unit_price": "10.00", **line_trial}],
        **trial,
    }
    problem = s.post("contracts", body, status=400)
    assert field in {e["field"] for e in problem["errors"]}, problem
    assert not Contract.objects.exists()


def test_an_amendment_cannot_add_a_trial(trialist):
    s = trialist
    cid = _contract(
        s, "2026-01-01", "2027-01-01", [{"key": "platform", "product": "platform", "unit_price": "10.00"}]
    )
    change = {"add": {"key": "seats", "product": "seats", "unit_price": "5.00", "trial_days": 5}}
    problem = s.post(
        f"contracts/{cid}/amend", {"effective_date": "2026-03-01", "changes": [change]}, status=400
    )
    assert "changes[0].add.trial_days" in {e["field"] for e in problem["errors"]}


def test_contract_page_shows_the_trial_and_the_cancel_confirmation(trialist, client):
    from django.contrib.auth import get_user_model

    s = trialist
    today = date.today()
    cid = _contract(
        s,
        today.isoformat(),
        (today + timedelta(days=365)).isoformat(),
        [{"key": "platform", "product": "platform", "unit_price": "10.00"}],
        trial_days=30,
    )
    converts = today + timedelta(days=30)
    client.force_login(get_user_model().objects.get(pk=s.finance.user.pk))
    page = client.get(f"/contracts/{cid}/").content.decode()
    assert 'id="trial-badge"' in page and "In trial" in page
    assert f"Converts to paid on <strong>{converts.day} {converts:%b %Y}</strong>" in page
    confirm = client.post(f"/contracts/{cid}/trial/cancel/").content.decode()
    assert "the paid period is never billed" in confirm
    assert Contract.objects.get(pk=cid).status == "active"  # nothing done before the confirmation


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_conversion_is_once_under_duplicate_delivery_on_postgresql():
    """Two workers run the due steps for the same day at the same time (duplicate delivery of the
    daily task): each trial converts once, with one audit event and one webhook event."""
    import threading

    from django.db import connections

    from revops.core.audit.models import AuditEvent
    from tests.billing.factories import ContractFactory
    from tests.revops.factories import CustomerFactory

    ids = [
        ContractFactory(
            customer=CustomerFactory(external_id=f"dup-{n}", name=f"Dup {n}"),
            lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}],
            trial_days=14,
        ).pk
        for n in range(5)
    ]
    barrier = threading.Barrier(2)
    changed: list[int] = []

    def worker():
        try:
            barrier.wait()
            changed.append(sum(contracts_apply_due(as_of=date(2026, 1, 20)).values()))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(changed) == 2 and sum(changed) == 5
    assert set(ContractTrial.objects.values_list("status", flat=True)) == {"converted"}
    for cid in ids:
        assert OutboxEvent.objects.filter(topic="contract.trial_converted", object_id=str(cid)).count() == 1
        assert AuditEvent.objects.filter(action="contract.trial_converted", object_id=str(cid)).count() == 1
