"""Renewals (issue 17 §1; accounting.md §11): the policy on create/read/change, the notice rule, the
daily step (idempotent, first in DUE_STEPS, run by a billing run's planning), renewals that wait for an
approver, and golden invoices and revenue across a renewal — termed with a 5 % uplift, and evergreen
monthly — exact to the cent, with the deferred-revenue rollforward tied at every month end."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum

from billing.contracts.models import Contract, ContractRenewal, ContractVersion
from billing.contracts.renewals import add_months, renewal_outlook
from billing.contracts.services import due
from billing.contracts.services.renewals import contracts_renew_due, renewal_decline, renewal_policy_set
from billing.models import Invoice
from revops.core.approvals.models import Approval
from revops.core.audit.models import AuditEvent
from revops.core.models import OutboxEvent
from revops.errors import Conflict
from revrec.models import JournalLine, PerformanceObligation

ZERO = Decimal(0)
SEATS = {"key": "seats", "product": "seats", "plan": "seat-monthly", "quantity": "10"}


@pytest.fixture
def seat_plan(catalog):
    """A per-seat plan: 10.00 a seat a month, in advance (the list price renewals compare with)."""
    from billing.catalog.services import plan_create
    from tests.builders import approve_price_versions

    with transaction.atomic():
        plan_create(
            code="seat-monthly",
            name="Seats monthly",
            currency="USD",
            interval="month",
            effective_from=date(2020, 1, 1),
            charges=[
                {
                    "code": "seat",
                    "product": "seats",
                    "model": "standard",
                    "timing": "in_advance",
                    "properties": {"unit_amount": "10.00"},
                }
            ],
        )
        approve_price_versions()
    return "seat-monthly"


def _contract(scenario, start: str, end: str, renewal: dict, lines=None) -> Contract:
    body = {
        "customer": scenario.customer_ref,
        "currency": "USD",
        "start_date": start,
        "end_date": end,
        "lines": lines or [SEATS],
        "renewal": renewal,
    }
    created = scenario.post("contracts", body, status=201)
    scenario.id = created["id"]
    scenario.post(f"contracts/{scenario.id}/activate")
    scenario.approve_as("approver")
    return Contract.objects.get(pk=scenario.id)


def _balance(roles, *, through: str, contract) -> Decimal:
    totals = JournalLine.objects.filter(
        account__role__in=roles, entry__period__lte=through, entry__contract=contract
    ).aggregate(d=Sum("debit"), c=Sum("credit"))
    return (totals["d"] or ZERO) - (totals["c"] or ZERO)


def _rollforward_ties(contract, periods) -> None:
    """billed − recognized == deferred − unbilled at every month end (accounting.md §11)."""
    for period in periods:
        recognized = -_balance(["revenue", "revenue_sub"], through=period, contract=contract)
        deferred = -_balance(["deferred"], through=period, contract=contract)
        unbilled = _balance(["unbilled"], through=period, contract=contract)
        invoiced = sum(
            (
                i.subtotal
                for i in Invoice.objects.filter(contract=contract, status__in=["finalized", "paid"])
                if i.billing_date.strftime("%Y-%m") <= period
            ),
            ZERO,
        )
        assert invoiced - recognized == deferred - unbilled, (
            period,
            invoiced,
            recognized,
            deferred,
            unbilled,
        )


def _invoices(contract) -> list[tuple[str, str, str, Decimal]]:
    out = []
    for invoice in Invoice.objects.filter(contract=contract).order_by("billing_date"):
        for line in invoice.lines.order_by("service_start", "id"):
            out.append((str(line.service_start), str(line.service_end), line.contract_line.key, line.amount))
    return out


# --- policy, notice ---------------------------------------------------------------------------------


def test_policy_on_create_read_and_change_with_the_notice_rule(scenario, seat_plan):
    scenario.customer("acme")
    contract = _contract(
        scenario,
        "2026-01-01",
        "2027-01-01",
        {"policy": "termed", "term_months": 12, "notice_days": 30, "uplift_percent": "5.00"},
    )
    body = scenario.get(f"contracts/{contract.pk}")["renewal"]
    assert body["policy"] == "termed" and body["term_months"] == 12 and body["notice_days"] == 30
    assert body["uplift_percent"] == "5.00" and body["uplift_to_list"] is False
    assert body["renews_on"] == "2027-01-01" and body["next_term_end"] == "2028-01-01"
    assert body["notice_deadline"] == "2026-12-02" and body["renewals"] == []

    outlook = renewal_outlook(contract, today=date(2026, 12, 2))
    assert outlook.will_renew and outlook.notice_open
    assert not renewal_outlook(contract, today=date(2026, 12, 3)).notice_open
    # Notice of non-renewal one day late: refused, nothing changes; on time: the policy becomes none.
    with pytest.raises(Conflict, match="2026-12-02"):
        renewal_decline(contract=contract, today=date(2026, 12, 3))
    assert Contract.objects.get(pk=contract.pk).renewal_policy.policy == "termed"
    renewal_decline(contract=contract, today=date(2026, 12, 2), actor=scenario.finance.user)
    assert not renewal_outlook(Contract.objects.get(pk=contract.pk)).will_renew
    event = AuditEvent.objects.filter(action="contract.renewal_policy_changed").latest("id")
    assert event.changes["policy"] == {"from": "termed", "to": "none"}

    # The API: a bad renewal object is a 400 naming the field; PUT changes the policy.
    bad = scenario.as_("finance").put(
        f"/api/v1/contracts/{contract.pk}/renewal", {"policy": "termed"}, format="json"
    )
    assert bad.status_code == 400 and "renewal.term_months" in bad.content.decode()
    ok = scenario.as_("finance").put(
        f"/api/v1/contracts/{contract.pk}/renewal", {"policy": "evergreen", "notice_days": 10}, format="json"
    )
    assert ok.status_code == 200, ok.content
    assert (
        ok.json()["renewal"]["policy"] == "evergreen"
        and ok.json()["renewal"]["next_term_end"] == "2027-02-01"
    )


def test_renewals_run_first_in_the_due_work():
    assert due.DUE_STEPS[0] == "billing.contracts.services.renewals.contracts_renew_due"


# --- golden: termed with a 5 % uplift ---------------------------------------------------------------


def test_termed_renewal_with_uplift_invoices_and_revenue_to_the_cent(scenario, seat_plan):
    """Jan–Mar 2026 at 10 seats × 10.00, renewing on 1 April for three months at +5 % (10.50): the
    1 April billing run renews first, then bills the new line. Revenue: the first term's obligation
    keeps its 300.00; the renewal is a new obligation of 315.00 allocated on its own."""
    scenario.customer("acme")
    contract = _contract(
        scenario,
        "2026-01-01",
        "2026-04-01",
        {"policy": "termed", "term_months": 3, "notice_days": 30, "uplift_percent": "5.00"},
    )
    scenario.bill("2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01")
    contract.refresh_from_db()
    assert contract.end_date == date(2026, 7, 1) and contract.version == 2
    renewal = ContractRenewal.objects.get(contract=contract)
    assert (renewal.sequence, renewal.status, renewal.term_start, renewal.term_end) == (
        1,
        "applied",
        date(2026, 4, 1),
        date(2026, 7, 1),
    )
    assert renewal.term_price == Decimal("315.00")
    assert renewal.lines == [
        {"renews": "seats", "key": "seats-r1", "root": "seats", "unit_price": {"from": None, "to": "10.5"}}
    ]
    version = ContractVersion.objects.get(contract=contract, version=2)
    assert version.kind == "renewal" and version.effective_date == date(2026, 4, 1)
    # The schedules of the renewal wait for an approver like any contract's; approve them.
    scenario.approve_as("approver")
    scenario.bill("2026-05-01", "2026-06-01").finalize()
    assert _invoices(contract) == [
        ("2026-01-01", "2026-02-01", "seats", Decimal("100.00")),
        ("2026-02-01", "2026-03-01", "seats", Decimal("100.00")),
        ("2026-03-01", "2026-04-01", "seats", Decimal("100.00")),
        ("2026-04-01", "2026-05-01", "seats-r1", Decimal("105.00")),
        ("2026-05-01", "2026-06-01", "seats-r1", Decimal("105.00")),
        ("2026-06-01", "2026-07-01", "seats-r1", Decimal("105.00")),
    ]
    pos = {po.key: po for po in PerformanceObligation.objects.filter(contract=contract, variable=False)}
    assert {k: (po.allocated_amount, po.start, po.end, po.contract_version) for k, po in pos.items()} == {
        "seats": (Decimal("300.00"), date(2026, 1, 1), date(2026, 4, 1), 1),
        "seats-r1": (Decimal("315.00"), date(2026, 4, 1), date(2026, 7, 1), 2),
    }
    assert scenario.schedule() == {
        # cumulative rounding (accounting.md §5): 300 × 31/90 = 103.33; × 59/90 = 196.67; 300.00
        "seats": {"2026-01": Decimal("103.33"), "2026-02": Decimal("93.34"), "2026-03": Decimal("103.33")},
        # 315 × 30/91 = 103.85; × 61/91 = 211.15; 315.00
        "seats-r1": {
            "2026-04": Decimal("103.85"),
            "2026-05": Decimal("107.30"),
            "2026-06": Decimal("103.85"),
        },
    }
    periods = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    scenario.recognize(*periods)
    recognized = {
        p: -_balance(["revenue", "revenue_sub"], through=p, contract=contract)
        + _balance(["revenue", "revenue_sub"], through=_prev(p), contract=contract)
        for p in periods
    }
    assert recognized == {
        "2026-01": Decimal("103.33"),
        "2026-02": Decimal("93.34"),
        "2026-03": Decimal("103.33"),
        "2026-04": Decimal("103.85"),
        "2026-05": Decimal("107.30"),
        "2026-06": Decimal("103.85"),
    }
    _rollforward_ties(contract, periods)
    assert -_balance(["deferred"], through="2026-06", contract=contract) == ZERO
    # The renewal is audited and announced once.
    assert AuditEvent.objects.filter(action="contract.renewed", object_id=str(contract.pk)).count() == 1
    assert OutboxEvent.objects.filter(topic="contract.renewed", object_id=str(contract.pk)).count() == 1


def _prev(period: str) -> str:
    year, month = int(period[:4]), int(period[5:])
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


# --- golden: evergreen monthly ----------------------------------------------------------------------


def test_evergreen_monthly_renews_each_month_once(scenario, seat_plan):
    scenario.customer("acme")
    contract = _contract(scenario, "2026-01-01", "2026-02-01", {"policy": "evergreen"})
    scenario.bill("2026-01-01", "2026-02-01")
    scenario.approve_as("approver")
    scenario.bill("2026-03-01")
    scenario.approve_as("approver")
    # Running the step again on any date up to the term's end changes nothing.
    assert contracts_renew_due(as_of=date(2026, 3, 1)) == 0
    assert contracts_renew_due(as_of=date(2026, 3, 31)) == 0
    scenario.finalize()
    contract.refresh_from_db()
    assert contract.end_date == date(2026, 4, 1) and contract.version == 3
    assert list(
        ContractRenewal.objects.filter(contract=contract).values_list("term_start", "term_end", "status")
    ) == [
        (date(2026, 2, 1), date(2026, 3, 1), "applied"),
        (date(2026, 3, 1), date(2026, 4, 1), "applied"),
    ]
    assert _invoices(contract) == [
        ("2026-01-01", "2026-02-01", "seats", Decimal("100.00")),
        ("2026-02-01", "2026-03-01", "seats-r1", Decimal("100.00")),
        ("2026-03-01", "2026-04-01", "seats-r2", Decimal("100.00")),
    ]
    assert scenario.schedule() == {
        "seats": {"2026-01": Decimal("100.00")},
        "seats-r1": {"2026-02": Decimal("100.00")},
        "seats-r2": {"2026-03": Decimal("100.00")},
    }
    periods = ["2026-01", "2026-02", "2026-03"]
    scenario.recognize(*periods)
    assert -_balance(["revenue", "revenue_sub"], through="2026-03", contract=contract) == Decimal("300.00")
    _rollforward_ties(contract, periods)


def test_a_catch_up_renews_an_evergreen_contract_once_per_interval(scenario, seat_plan):
    scenario.customer("acme")
    contract = _contract(scenario, "2026-01-01", "2026-02-01", {"policy": "evergreen"})
    assert contracts_renew_due(as_of=date(2026, 4, 15)) == 3
    assert contracts_renew_due(as_of=date(2026, 4, 15)) == 0
    contract.refresh_from_db()
    assert contract.end_date == date(2026, 5, 1)
    assert list(contract.lines.order_by("id").values_list("key", "service_start", "service_end")) == [
        ("seats", None, date(2026, 2, 1)),
        ("seats-r1", date(2026, 2, 1), date(2026, 3, 1)),
        ("seats-r2", date(2026, 3, 1), date(2026, 4, 1)),
        ("seats-r3", date(2026, 4, 1), None),
    ]


# --- approval -----------------------------------------------------------------------------------------


def test_a_renewal_below_list_waits_for_an_approver_and_renews_only_when_approved(scenario, seat_plan):
    """6.00 a seat is 40 % below the 10.00 list (beyond the 20 % threshold): the renewal waits."""
    scenario.customer("acme")
    contract = _contract(
        scenario,
        "2026-01-01",
        "2026-04-01",
        {"policy": "termed", "term_months": 3},
        lines=[{**SEATS, "unit_price": "6.00"}],
    )
    assert contracts_renew_due(as_of=date(2026, 4, 1)) == 1
    assert contracts_renew_due(as_of=date(2026, 4, 2)) == 0  # asked once, not again
    contract.refresh_from_db()
    assert contract.end_date == date(2026, 4, 1) and contract.version == 1  # nothing renewed yet
    renewal = ContractRenewal.objects.get(contract=contract)
    assert renewal.status == "pending_approval" and renewal.reasons[0]["reason"] == "below_list"
    approval = Approval.objects.get(kind="contract_renewal", status="pending")
    assert approval.payload["lines"][0]["unit_price"] == "6"
    assert OutboxEvent.objects.filter(topic="contract.renewal_pending_approval").count() == 1
    assert not OutboxEvent.objects.filter(topic="contract.renewed").exists()
    scenario.post(f"approvals/{approval.pk}/approve", {"comment": "agreed"}, role="approver")
    contract.refresh_from_db()
    assert contract.end_date == date(2026, 7, 1) and contract.version == 2
    assert ContractRenewal.objects.get(contract=contract).status == "applied"
    assert PerformanceObligation.objects.get(contract=contract, key="seats-r1").allocated_amount == Decimal(
        "180.00"
    )


def test_a_rejected_renewal_leaves_the_contract_ending_with_its_term(scenario, seat_plan):
    scenario.customer("acme")
    contract = _contract(
        scenario, "2026-01-01", "2026-04-01", {"policy": "termed", "term_months": 6}
    )  # a term change (3 → 6 months) needs an approver
    assert contracts_renew_due(as_of=date(2026, 4, 1)) == 1
    renewal = ContractRenewal.objects.get(contract=contract)
    assert renewal.reasons == [{"reason": "term_change", "from_months": 3, "to_months": 6}]
    approval = Approval.objects.get(kind="contract_renewal", status="pending")
    scenario.post(f"approvals/{approval.pk}/reject", {"comment": "customer leaves"}, role="approver")
    contract.refresh_from_db()
    assert contract.end_date == date(2026, 4, 1) and contract.version == 1
    assert ContractRenewal.objects.get(contract=contract).status == "rejected"
    assert contracts_renew_due(as_of=date(2026, 5, 1)) == 0


def test_a_billing_run_renews_before_it_plans(scenario, seat_plan):
    scenario.customer("acme")
    contract = _contract(scenario, "2026-01-01", "2026-02-01", {"policy": "termed", "term_months": 1})
    scenario.bill("2026-02-01")
    lines = Invoice.objects.get(contract=contract, billing_date=date(2026, 2, 1)).lines
    assert list(lines.values_list("contract_line__key", flat=True)) == ["seats-r1"]


def test_add_months_keeps_the_anchor_day():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 2, 28), 1, anchor_day=31) == date(2026, 3, 31)
    assert add_months(date(2026, 11, 1), 3) == date(2027, 2, 1)


def test_setting_a_policy_on_a_terminated_contract_is_refused(scenario, seat_plan):
    scenario.customer("acme")
    contract = _contract(scenario, "2026-01-01", "2026-04-01", {"policy": "evergreen"})
    scenario.post(f"contracts/{contract.pk}/terminate", {"effective_date": "2026-02-01"})
    with pytest.raises(Conflict):
        renewal_policy_set(contract=contract, renewal={"policy": "evergreen"})
    assert contracts_renew_due(as_of=date(2026, 4, 1)) == 0


# --- the contract page --------------------------------------------------------------------------------


def test_contract_page_shows_the_renewal_and_the_form_asks_before_it_changes_the_policy(
    scenario, seat_plan, ui_for
):
    scenario.customer("acme")
    contract = _contract(
        scenario,
        "2026-01-01",
        "2026-02-01",
        {"policy": "termed", "term_months": 1, "notice_days": 5, "uplift_percent": "5.00"},
    )
    contract_renewed = contracts_renew_due(as_of=date(2026, 2, 1))
    assert contract_renewed == 1
    ui = ui_for("finance")
    page = ui.get(f"/contracts/{contract.pk}/").content.decode()
    assert 'id="renewal"' in page and "Auto-renews for a term" in page
    assert "Renewal 1 (termed): new term 1 Feb 2026 – 1 Mar 2026" in page
    assert "Line seats-r1 renews seats, unit price plan price → 10.50" in page
    # Stopping renewal: the consequence first, nothing changed; then confirmed, audited.
    form = {"policy": "none", "notice_days": "5", "uplift_percent": "0"}
    asked = ui.post(f"/contracts/{contract.pk}/renewal/", form)
    assert asked.status_code == 200 and "will not renew" in asked.content.decode()
    assert Contract.objects.get(pk=contract.pk).renewal_policy.policy == "termed"
    # The term ended on 1 March 2026 minus 5 days' notice: long past (today is later) — refused.
    refused = ui.post(f"/contracts/{contract.pk}/renewal/", {**form, "confirm": "1"}, follow=True)
    assert "had to be given by 2026-02-24" in refused.content.decode()
    assert Contract.objects.get(pk=contract.pk).renewal_policy.policy == "termed"
    # A termed policy without its term is refused before any confirmation.
    bad = ui.post(f"/contracts/{contract.pk}/renewal/", {"policy": "termed", "notice_days": "5"}, follow=True)
    assert "needs 1–120 months" in bad.content.decode() and "will not renew" not in bad.content.decode()
