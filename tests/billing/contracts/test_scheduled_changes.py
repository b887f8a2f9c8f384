"""Cancellation and scheduled changes (issue 17 §4, accounting.md §10b), golden to the cent, through the
API: cancel now (prorated credit), at the end of the period (no credit, nothing billed after), at the
end of the term; an upgrade scheduled for a date applies itself on that date through the amendment
service (proration on the invoice, the revenue modification of accounting.md §10); a withdrawn change
never applies; one that can no longer apply is failed with its reason; the due step is idempotent; the
deferred-revenue rollforward ties at every month end."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Sum

from billing.contracts.models import Contract, ContractRenewal, ContractVersion, ScheduledChange
from billing.contracts.services import due, scheduled
from billing.models import Invoice, InvoiceLine, PendingCharge
from revops.core.audit.models import AuditEvent
from revops.core.models import OutboxEvent
from revrec.models import JournalLine

ZERO = Decimal(0)
C = Decimal("0.01")


@pytest.fixture
def on(monkeypatch):
    """Pin the business day a cancellation or a schedule is measured from."""

    def pin(day: date):
        monkeypatch.setattr(scheduled, "today", lambda: day)

    return pin


@pytest.fixture
def world(scenario, catalog):
    """2026 contract at 31.00 a month (platform, billed monthly in advance), schedules approved,
    January to March billed, finalized and recognized."""
    scenario.customer("sc", name="Sched Co")
    scenario.contract(
        "2026-01-01",
        "2027-01-01",
        [{"key": "svc", "product": "platform", "unit_price": "31.00"}],
        approved_by="approver",
    )
    scenario.bill("2026-01-01", "2026-02-01", "2026-03-01").finalize().recognize(
        "2026-01", "2026-02", "2026-03"
    )
    return scenario


def _invoices(contract_id) -> list[tuple[date, list[tuple[str, Decimal, date, date]]]]:
    out = []
    for invoice in Invoice.objects.filter(contract_id=contract_id).order_by("billing_date", "id"):
        lines = [
            (line.kind, line.amount, line.service_start, line.service_end)
            for line in InvoiceLine.objects.filter(invoice=invoice).order_by("id")
        ]
        out.append((invoice.billing_date, lines))
    return out


def _balance(roles, *, through: str, contract_id) -> Decimal:
    totals = JournalLine.objects.filter(
        account__role__in=roles, entry__period__lte=through, entry__contract_id=contract_id
    ).aggregate(d=Sum("debit"), c=Sum("credit"))
    return (totals["d"] or ZERO) - (totals["c"] or ZERO)


def _recognized(period: str, contract_id) -> Decimal:
    totals = JournalLine.objects.filter(
        account__role__in=["revenue", "revenue_sub"], entry__period=period, entry__contract_id=contract_id
    ).aggregate(d=Sum("debit"), c=Sum("credit"))
    return (totals["c"] or ZERO) - (totals["d"] or ZERO)


def _ties(contract_id, periods):
    """billed − recognized == deferred − unbilled at every month end (accounting.md §7.4)."""
    for period in periods:
        year, month = map(int, period.split("-"))
        end = date(year + (month == 12), month % 12 + 1, 1)
        billed = (
            Invoice.objects.filter(
                contract_id=contract_id, status__in=["finalized", "paid"], billing_date__lt=end
            ).aggregate(s=Sum("subtotal"))["s"]
            or ZERO
        )
        recognized = -_balance(["revenue", "revenue_sub"], through=period, contract_id=contract_id)
        deferred = -_balance(["deferred"], through=period, contract_id=contract_id)
        unbilled = _balance(["unbilled"], through=period, contract_id=contract_id)
        assert billed - recognized == deferred - unbilled, (period, billed, recognized, deferred, unbilled)


def _topics(contract_id) -> list[str]:
    return list(
        OutboxEvent.objects.filter(object_type="contracts.contract", object_id=str(contract_id))
        .filter(topic__startswith="contract.")
        .exclude(topic__in=["contract.activated"])
        .order_by("id")
        .values_list("topic", flat=True)
    )


def test_cancel_now_mid_period_credits_the_unused_days(world, on):
    world.bill("2026-04-01").finalize()
    on(date(2026, 4, 16))
    contract = world.post(f"contracts/{world.id}/cancel", {"at": "now"})
    assert (contract["status"], contract["terminated_on"], contract["version"]) == (
        "terminated",
        "2026-04-16",
        2,
    )
    assert contract["scheduled_changes"] == []
    # April was billed in advance (31.00): the 15 unused days of 30 are credited, 15.50.
    credit = PendingCharge.objects.get(contract_id=world.id)
    assert (credit.amount, credit.service_start, credit.service_end) == (
        Decimal("-15.50"),
        date(2026, 4, 16),
        date(2026, 5, 1),
    )
    world.bill("2026-04-20", "2026-05-01", "2026-06-01").finalize()
    invoices = _invoices(world.id)
    assert [i[0] for i in invoices] == [date(2026, m, 1) for m in (1, 2, 3, 4)] + [date(2026, 4, 16)]
    assert invoices[-1][1] == [("proration", Decimal("-15.50"), date(2026, 4, 16), date(2026, 5, 1))]
    assert Contract.objects.get(pk=world.id).transaction_price == Decimal("108.50")  # 3 × 31 + 15.50
    # Revenue: the termination is a contract modification (§10), decided by an approver.
    world.approve_as("approver")
    world.recognize("2026-04", "2026-05")
    recognized = {
        p: _recognized(p, world.id) for p in ("2026-01", "2026-02", "2026-03", "2026-04", "2026-05")
    }
    assert recognized == {
        "2026-01": Decimal("31.59"),  # 372 × 31/365
        "2026-02": Decimal("28.54"),
        "2026-03": Decimal("31.60"),
        "2026-04": Decimal("16.77"),  # 108.50 − 91.73 recognized through March: the rest, up to 15 April
        "2026-05": ZERO,
    }
    assert sum(recognized.values()) == Decimal("108.50")
    _ties(world.id, ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05"])
    event = AuditEvent.objects.get(action="contract.canceled", object_id=str(world.id))
    assert event.changes["credit"] == "-15.50" and event.changes["at"] == "now"
    assert _topics(world.id) == ["contract.terminated", "contract.canceled"]


def test_cancel_at_period_end_credits_nothing_and_bills_nothing_after(world, on):
    world.bill("2026-04-01").finalize()
    on(date(2026, 4, 16))
    contract = world.post(f"contracts/{world.id}/cancel", {"at": "period_end"})
    assert contract["status"] == "active" and contract["terminated_on"] is None
    [cancel] = contract["scheduled_changes"]
    assert {k: cancel[k] for k in ("kind", "at", "effective_date", "status", "reason", "version")} == {
        "kind": "cancellation",
        "at": "period_end",
        "effective_date": "2026-05-01",
        "status": "scheduled",
        "reason": None,
        "version": None,
    }
    # A second one is refused while the first waits (409 problem naming it).
    again = world.as_("finance").post(
        f"/api/v1/contracts/{world.id}/cancel", {"at": "term_end"}, format="json"
    )
    assert again.status_code == 409 and "withdraw it first" in again.json()["detail"]
    # The billing run of 1 May applies the cancellation first: nothing is billed for May.
    world.bill("2026-05-01", "2026-06-01").finalize()
    contract = world.get(f"contracts/{world.id}")
    assert (contract["status"], contract["terminated_on"]) == ("terminated", "2026-05-01")
    assert contract["scheduled_changes"][0]["status"] == "applied"
    assert contract["scheduled_changes"][0]["version"] == 2
    assert not PendingCharge.objects.filter(contract_id=world.id).exists()  # no credit
    assert [i[0] for i in _invoices(world.id)] == [date(2026, m, 1) for m in (1, 2, 3, 4)]
    assert Contract.objects.get(pk=world.id).transaction_price == Decimal("124.00")  # 4 × 31
    world.approve_as("approver")
    world.recognize("2026-04", "2026-05", "2026-06")
    recognized = {p: _recognized(p, world.id) for p in ("2026-04", "2026-05", "2026-06")}
    # April is served as agreed: 372 × 120/365 = 122.30 through April, 30.57 of it in April. The
    # modification is dated 1 May (the first day not served): the price falls to 124.00, and the 1.70
    # that nothing remaining can absorb is recognized at once in May, its period (§10); nothing after.
    assert recognized == {"2026-04": Decimal("30.57"), "2026-05": Decimal("1.70"), "2026-06": ZERO}
    assert sum(recognized.values()) + Decimal("91.73") == Decimal("124.00")
    _ties(world.id, ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"])
    assert _topics(world.id) == ["contract.cancel_scheduled", "contract.terminated", "contract.canceled"]
    canceled = OutboxEvent.objects.get(topic="contract.canceled", object_id=str(world.id))
    assert canceled.payload["at"] == "period_end" and canceled.payload["credit"] == "0"


def test_cancel_at_term_end_lets_the_contract_expire_without_renewing(world, on):
    on(date(2026, 6, 10))
    contract = world.post(f"contracts/{world.id}/cancel", {"at": "term_end"})
    assert contract["scheduled_changes"][0]["effective_date"] == "2027-01-01"
    assert scheduled.scheduled_changes_apply_due(as_of=date(2026, 12, 31)) == 0
    assert scheduled.scheduled_changes_apply_due(as_of=date(2027, 1, 1)) == 1
    contract = world.get(f"contracts/{world.id}")
    assert (contract["status"], contract["terminated_on"], contract["version"]) == ("expired", None, 1)
    assert contract["scheduled_changes"][0]["status"] == "applied"


def test_scheduled_upgrade_applies_on_its_date_with_proration_and_modification(world, on):
    world.bill("2026-04-01").finalize()
    on(date(2026, 4, 10))
    change = world.post(
        f"contracts/{world.id}/scheduled-changes",
        {"effective_date": "2026-04-16", "changes": [{"line": "svc", "quantity": "2"}]},
        status=201,
    )
    assert (change["kind"], change["status"], change["effective_date"]) == (
        "amendment",
        "scheduled",
        "2026-04-16",
    )
    assert world.get(f"contracts/{world.id}")["version"] == 1  # nothing applies before its date
    world.bill("2026-04-15")
    assert world.get(f"contracts/{world.id}")["version"] == 1
    # The run of 16 April applies it first, then bills the proration: −15.50 for the unused half of
    # April at 31.00, +31.00 for the same 15 days at 2 × 31.00.
    world.bill("2026-04-16").finalize()
    contract = world.get(f"contracts/{world.id}")
    assert contract["version"] == 2 and contract["transaction_price"] == "635.50"  # 108.50 + 2 × 31 × 8.5
    assert contract["scheduled_changes"][0]["status"] == "applied"
    assert contract["scheduled_changes"][0]["version"] == 2
    assert ContractVersion.objects.get(contract_id=world.id, version=2).effective_date == date(2026, 4, 16)
    invoices = _invoices(world.id)
    assert invoices[-1][0] == date(2026, 4, 16)
    assert sorted(invoices[-1][1]) == sorted(
        [
            ("proration", Decimal("-15.50"), date(2026, 4, 16), date(2026, 5, 1)),
            ("fee", Decimal("31.00"), date(2026, 4, 16), date(2026, 5, 1)),
        ]
    )
    # Revenue: the amendment's modification (§10) — a series, so prospective: what was satisfied
    # through 15 April stays, the rest of the new price is spread over 16 April – 31 December.
    modification = world.modification()
    assert modification["effective_date"] == "2026-04-16"
    assert modification["proposed_treatment"] == "prospective"
    row = modification["analysis"]["obligations"][0]
    assert (row["old_allocation"], row["new_allocation"]) == ("372.00", "635.50")
    world.approve_as("approver")
    world.bill("2026-05-01").finalize()
    world.recognize("2026-04", "2026-05")
    assert _invoices(world.id)[-1][1] == [("fee", Decimal("62.00"), date(2026, 5, 1), date(2026, 6, 1))]
    schedule = world.schedule()["svc"]
    assert sum(schedule.values()) == Decimal("635.50")
    # Satisfied through 15 April: 91.73 + April's 30.57 × 15/30 = 107.015; the remaining 528.485 over
    # the 260 days 16 April – 31 December: April 15.29 + 30.49, May 528.485 × 31/260.
    assert {p: schedule[p] for p in ("2026-03", "2026-04", "2026-05")} == {
        "2026-03": Decimal("31.60"),
        "2026-04": Decimal("45.78"),
        "2026-05": Decimal("63.01"),
    }
    _ties(world.id, ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05"])
    assert _topics(world.id) == [
        "contract.change_scheduled",
        "contract.amended",
        "contract.scheduled_change_applied",
    ]


def test_a_withdrawn_change_never_applies(world, on):
    on(date(2026, 4, 10))
    change = world.post(
        f"contracts/{world.id}/scheduled-changes",
        {"effective_date": "2026-05-01", "changes": [{"line": "svc", "quantity": "3"}]},
        status=201,
    )
    withdrawn = world.as_("finance").delete(f"/api/v1/contracts/{world.id}/scheduled-changes/{change['id']}")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    again = world.as_("finance").delete(f"/api/v1/contracts/{world.id}/scheduled-changes/{change['id']}")
    assert again.status_code == 409
    world.bill("2026-04-01", "2026-05-01")
    contract = world.get(f"contracts/{world.id}")
    assert contract["version"] == 1 and contract["scheduled_changes"][0]["status"] == "withdrawn"
    assert Invoice.objects.get(contract_id=world.id, billing_date=date(2026, 5, 1)).subtotal == Decimal(
        "31.00"
    )
    assert (
        AuditEvent.objects.filter(
            action="contract.scheduled_change_withdrawn", object_id=str(world.id)
        ).count()
        == 1
    )
    assert _topics(world.id) == ["contract.change_scheduled", "contract.scheduled_change_withdrawn"]


def test_the_due_step_is_idempotent(world, on):
    on(date(2026, 4, 10))
    world.post(
        f"contracts/{world.id}/scheduled-changes",
        {"effective_date": "2026-05-01", "changes": [{"line": "svc", "quantity": "3"}]},
        status=201,
    )
    with world.settle():
        assert scheduled.scheduled_changes_apply_due(as_of=date(2026, 5, 1)) == 1
    with world.settle():
        assert scheduled.scheduled_changes_apply_due(as_of=date(2026, 5, 1)) == 0
        assert scheduled.scheduled_changes_apply_due(as_of=date(2026, 6, 1), customers=["sc"]) == 0
    assert ContractVersion.objects.filter(contract_id=world.id, kind="amendment").count() == 1
    assert (
        AuditEvent.objects.filter(action="contract.scheduled_change_applied", object_id=str(world.id)).count()
        == 1
    )


def test_a_change_that_can_no_longer_apply_is_failed_with_its_reason(world, on):
    on(date(2026, 4, 10))
    change = world.post(
        f"contracts/{world.id}/scheduled-changes",
        {"effective_date": "2026-06-01", "changes": [{"line": "svc", "quantity": "3"}]},
        status=201,
    )
    world.post(f"contracts/{world.id}/cancel", {"at": "now"})
    world.bill("2026-06-01")
    [shown] = world.get(f"contracts/{world.id}")["scheduled_changes"]
    assert shown["id"] == change["id"] and shown["status"] == "failed"
    assert shown["reason"].startswith(
        f"{world.get(f'contracts/{world.id}')['number']} is terminated (since 2026-04-10)"
    )
    event = AuditEvent.objects.get(action="contract.scheduled_change_failed", object_id=str(world.id))
    assert event.changes["reason"] == shown["reason"]
    failed = OutboxEvent.objects.get(topic="contract.scheduled_change_failed", object_id=str(world.id))
    assert failed.payload["reason"] == shown["reason"]


def test_scheduling_is_validated_now_as_an_amendment_is(world, on):
    on(date(2026, 4, 10))
    finance = world.as_("finance")
    bad = finance.post(
        f"/api/v1/contracts/{world.id}/scheduled-changes",
        {"effective_date": "2026-05-01", "changes": [{"line": "nope", "quantity": "2"}]},
        format="json",
    )
    assert bad.status_code == 400 and bad["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in bad.json()["errors"]] == ["changes[0].line"]
    today = finance.post(
        f"/api/v1/contracts/{world.id}/scheduled-changes",
        {"effective_date": "2026-04-10", "changes": [{"line": "svc", "quantity": "2"}]},
        format="json",
    )
    assert today.status_code == 400 and today.json()["errors"][0]["field"] == "effective_date"
    unknown = finance.post(f"/api/v1/contracts/{world.id}/cancel", {"at": "tomorrow"}, format="json")
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "at"
    assert not ScheduledChange.objects.exists()


def test_a_scheduled_price_override_waits_for_its_approver_like_an_immediate_one(world, on):
    on(date(2026, 4, 10))
    # A downgrade cutting what the line pays by more than the threshold (31.00 → 20.00, −35 %).
    world.post(
        f"contracts/{world.id}/scheduled-changes",
        {"effective_date": "2026-05-01", "changes": [{"line": "svc", "unit_price": "20.00"}]},
        status=201,
    )
    world.bill("2026-05-01")
    [shown] = world.get(f"contracts/{world.id}")["scheduled_changes"]
    assert shown["status"] == "awaiting_approval" and shown["approval"]["status"] == "pending"
    assert world.get(f"contracts/{world.id}")["version"] == 1  # nothing applied before the approver
    approval = world.get("approvals?status=pending")["results"]
    [override] = [a for a in approval if a["kind"] == "price_override"]
    assert override["id"] == shown["approval"]["id"]
    # Requested in the name of whoever scheduled it (maker-checker: someone else decides).
    from revops.core.approvals.models import Approval

    assert Approval.objects.get(pk=override["id"]).requested_by == world.finance.user
    world.approve_as("approver", kind="price_override")
    contract = world.get(f"contracts/{world.id}")
    assert contract["version"] == 2
    assert contract["scheduled_changes"][0]["status"] == "applied"
    assert contract["scheduled_changes"][0]["version"] == 2
    assert ContractVersion.objects.get(contract_id=world.id, version=2).effective_date == date(2026, 5, 1)


def test_cancel_at_term_end_stops_an_auto_renewing_contract_from_renewing(scenario, catalog, on):
    """With the renewals of issue 17 §1: a termed contract canceled at its term's end is not renewed by
    the renewal step (which runs first on that day); it expires."""
    scenario.customer("rn", name="Renew Co")
    body = {
        "customer": "rn",
        "currency": "USD",
        "start_date": "2026-01-01",
        "end_date": "2027-01-01",
        "renewal": {"policy": "termed", "term_months": 12},
        "lines": [{"key": "svc", "product": "platform", "unit_price": "31.00"}],
    }
    contract_id = scenario.post("contracts", body, status=201)["id"]
    scenario.post(f"contracts/{contract_id}/activate")
    scenario.approve_as("approver")
    on(date(2026, 11, 20))
    scenario.post(f"contracts/{contract_id}/cancel", {"at": "term_end"})
    with scenario.settle():
        due.contracts_apply_due(as_of=date(2027, 1, 1))
    contract = scenario.get(f"contracts/{contract_id}")
    assert (contract["status"], contract["end_date"]) == ("expired", "2027-01-01")
    assert contract["scheduled_changes"][0]["status"] == "applied"
    assert not ContractRenewal.objects.filter(contract_id=contract_id).exists()
