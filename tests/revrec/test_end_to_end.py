"""Billing feeds revenue (issue 6 acceptance): a contract with a subscription, a usage charge and a
one-time service → invoices → revenue runs for three periods → the deferred revenue rollforward ties
out and the trial balance balances."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum

from billing.models import Invoice
from revrec.models import JournalEntry, JournalLine, PerformanceObligation, RevenueSchedule
from tests.builders import day

pytestmark = pytest.mark.django_db(transaction=True)

ZERO = Decimal(0)


def balance(role: str, *, through: str | None = None, contract=None) -> Decimal:
    qs = JournalLine.objects.filter(
        account__role__in=[role] if role != "revenue" else ["revenue", "revenue_sub"]
    )
    if through:
        qs = qs.filter(entry__period__lte=through)
    if contract is not None:
        qs = qs.filter(entry__contract=contract)
    totals = qs.aggregate(d=Sum("debit"), c=Sum("credit"))
    return (totals["d"] or ZERO) - (totals["c"] or ZERO)


@pytest.fixture
def world(catalog, scenario):
    """Given the shared catalog, customer E2E (tax 10%) and an activated contract: the hybrid plan's
    platform fee and API usage plus a 1,200.00 one-time setup; its schedules wait for an approver."""
    return scenario.customer("e2e", name="E2E Ltd", tax_rate="10").contract(
        "2026-01-01",
        "2027-01-01",
        [
            {"key": "platform", "product": "platform", "plan": "hybrid"},
            {"key": "setup", "product": "onboarding", "amount": "1200.00", "billing": "one_time"},
        ],
    )


def test_pos_allocation_and_schedules_follow_activation(world):
    finance, approver = world.finance, world.approver
    body = finance.get(f"/api/v1/contracts/{world.id}").json()
    pos = {
        po["line_keys"][0] + ("-usage" if po["variable"] else ""): po
        for po in body["performance_obligations"]
    }
    # 12 x 100.00 + 1,200.00 one-time: SSPs default to contract prices, so allocation = price.
    assert pos["platform"]["allocated_amount"] == "1200.00" and pos["setup"]["allocated_amount"] == "1200.00"
    assert pos["platform-usage"]["variable"] is True
    pending = finance.get("/api/v1/schedules?status=pending_approval").json()["results"]
    assert len(pending) == 2
    assert sum(Decimal(p["amount"]) for p in pending) == Decimal("2400.00")
    # The preparer (finance) cannot approve; an approver can.
    own = finance.post(f"/api/v1/schedules/{pending[0]['id']}/approve", {"comment": "mine"}, format="json")
    assert own.status_code == 403  # finance is not an approver at all
    ok = approver.post(f"/api/v1/schedules/{pending[0]['id']}/approve", {"comment": "checked"}, format="json")
    assert ok.status_code == 200 and ok.json()["status"] == "approved"


def test_requester_approving_own_schedule_gets_409(api_for, catalog, django_capture_on_commit_callbacks):
    """The maker never checks: not even a finance user who also holds the approver role (under a
    recorded segregation-of-duties exception) may approve the schedule their own activation made. The
    admin role prepares and decides nothing (403)."""
    from django.contrib.auth.models import Group

    from revops.core.services.roles import sod_exception_record

    approver = api_for("approver")
    admin = api_for("admin")
    maker = api_for("finance", username="maker")
    with transaction.atomic():
        sod_exception_record(user=maker.user, reason="Two-person team, signed off by the CFO", actor="cli")
        maker.user.groups.add(Group.objects.get(name="approver"))
    maker.post("/api/v1/customers", {"external_id": "self", "name": "Self", "currency": "USD"}, format="json")
    contract = maker.post(
        "/api/v1/contracts",
        {
            "customer": "self",
            "currency": "USD",
            "start_date": "2026-01-01",
            "end_date": "2026-07-01",
            "lines": [{"key": "svc", "product": "platform", "unit_price": "10.00"}],
        },
        format="json",
    ).json()
    with django_capture_on_commit_callbacks(execute=True):
        maker.post(f"/api/v1/contracts/{contract['id']}/activate")
    sched = maker.get("/api/v1/schedules?status=pending_approval").json()["results"][0]
    response = maker.post(f"/api/v1/schedules/{sched['id']}/approve", {}, format="json")
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/self-approval"
    assert admin.post(f"/api/v1/schedules/{sched['id']}/approve", {}, format="json").status_code == 403
    assert approver.post(f"/api/v1/schedules/{sched['id']}/approve", {}, format="json").status_code == 200


def test_end_to_end_rollforward_ties_out_and_trial_balance_balances(
    world, django_capture_on_commit_callbacks
):
    finance, approver = world.finance, world.approver
    for sched in finance.get("/api/v1/schedules?status=pending_approval").json()["results"]:
        assert (
            approver.post(
                f"/api/v1/schedules/{sched['id']}/approve", {"comment": "ok"}, format="json"
            ).status_code
            == 200
        )
    world.usage(
        [
            {"code": "api_calls", "timestamp": day(date(2026, m, 10)), "transaction_id": f"u{m}-{i}"}
            for m in (1, 2, 3)
            for i in range(1000 + 500 * m)
        ],
        received_at=datetime(2026, 4, 1, tzinfo=UTC),
    ).bill("2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01")
    for invoice in Invoice.objects.filter(status="draft").order_by("billing_date"):
        assert finance.post(f"/api/v1/invoices/{invoice.pk}/finalize").status_code == 200
    for period in ("2026-01", "2026-02", "2026-03"):
        with django_capture_on_commit_callbacks(execute=True):
            response = finance.post("/api/v1/revenue-runs", {"period": period}, format="json")
        assert response.status_code == 202
        assert finance.get(f"/api/v1/revenue-runs/{response.json()['id']}").json()["status"] == "completed"
    # Every entry balances; so does the trial balance.
    for entry in JournalEntry.objects.all():
        totals = entry.lines.aggregate(d=Sum("debit"), c=Sum("credit"))
        assert totals["d"] == totals["c"], entry.memo
    all_lines = JournalLine.objects.aggregate(d=Sum("debit"), c=Sum("credit"))
    assert all_lines["d"] == all_lines["c"]
    # Recognized: Jan-Mar ratable platform fee (31+28+31 days of 1,200/365) + setup (point in time, Jan)
    # + usage of Jan-Mar (500, 1000, 1500 paid calls x 0.01) = 5.00 + 10.00 + 15.00.
    recognized = -balance("revenue")
    platform = Decimal("1200.00") * 90 / 365
    assert recognized == (Decimal("1200.00") + platform.quantize(Decimal("0.01")) + Decimal("30.00"))
    # Deferred rollforward per contract: opening (0) + billed - recognized = closing.
    invoices = Invoice.objects.filter(status__in=["finalized", "paid"])
    billed = sum((i.subtotal for i in invoices), ZERO)
    closing_deferred = -balance("deferred")
    unbilled = balance("unbilled")
    assert billed - recognized == closing_deferred - unbilled
    # Recognized-to-date never exceeds the allocation of a fixed PO (invariant 5).
    for po in PerformanceObligation.objects.filter(variable=False):
        earned = -(
            JournalLine.objects.filter(obligation=po, account__role__in=["revenue", "revenue_sub"]).aggregate(
                s=Sum("credit")
            )["s"]
            or ZERO
        )
        assert -earned <= po.allocated_amount
    # Σ schedule lines of each PO = its allocation (invariant 2).
    for sched in RevenueSchedule.objects.filter(status="approved"):
        assert sum(ln.amount for ln in sched.lines.all()) == sched.obligation.allocated_amount
    # Running a period again posts nothing new.
    before = JournalEntry.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        finance.post("/api/v1/revenue-runs", {"period": "2026-03"}, format="json")
    assert JournalEntry.objects.count() == before


def _granted_and_drawn(world, amount: str, *, expires_on=None, reason: str = ""):
    """Grant ``amount`` of prepaid credit on 1 January 2026, then finalize the contract's 1 January
    invoice (issued 2 January), which draws on it. Returns (contract, grant, invoice)."""
    from billing.contracts.models import Contract
    from billing.invoicing.build import invoice_build
    from billing.invoicing.lifecycle import invoice_finalize
    from tests.builders import NOW, approved_credit_grant

    finance = world.finance
    contract = Contract.objects.get(pk=world.id)
    grant = approved_credit_grant(
        customer=contract.customer,
        contract=contract,
        amount=Decimal(amount),
        granted_on=date(2026, 1, 1),
        expires_on=expires_on,
        reason=reason,
        actor=finance.user,
    )
    invoice = invoice_build(contract_id=contract.pk, billing_date=date(2026, 1, 1), now=NOW)
    invoice = invoice_finalize(invoice=invoice, now=NOW, issue_date=date(2026, 1, 2))
    return contract, grant, invoice


def test_prepaid_credits_are_a_liability_from_the_grant_and_drawn_down_by_invoices(world):
    """Granting prepaid credits posts Dr cash / Cr prepaid customer credits on the grant date; an
    invoice that draws on them debits the liability, so its credit balance is what is left to draw."""
    contract, grant, invoice = _granted_and_drawn(world, "250.00", reason="Prepaid commit")
    entry = JournalEntry.objects.get(source="credit_grant", source_id=str(grant.pk))
    assert entry.date == date(2026, 1, 1) and entry.contract_id == contract.pk
    assert balance("cash") == Decimal("250.00")
    assert invoice.credits_applied > 0
    assert balance("credits") == invoice.credits_applied - Decimal("250.00")
    posted = JournalLine.objects.filter(entry__source="invoice", account__role="credits")
    assert posted.aggregate(d=Sum("debit"))["d"] == invoice.credits_applied
    # Every entry balances, the grant's too.
    assert (
        balance("cash")
        + balance("ar")
        + balance("credits")
        + balance("tax")
        + balance("deferred")
        + balance("unbilled")
        + balance("revenue")
        == 0
    )


def test_unused_prepaid_credits_are_released_to_revenue_when_they_expire(world):
    """Breakage: what is left of a grant on its expiry date leaves the prepaid-credits liability for
    revenue, once; a draw returned to the expired grant later (a voided invoice) is released next time."""
    from billing.invoicing.credits import credits_expire
    from billing.models import CreditApplication, CreditExpiry
    from revops.core.audit.models import AuditEvent

    _contract, grant, invoice = _granted_and_drawn(world, "2000.00", expires_on=date(2026, 3, 1))
    used = invoice.credits_applied
    assert 0 < used < Decimal("2000.00")

    assert credits_expire(on=date(2026, 2, 28)) == []  # not expired yet
    (expiry,) = credits_expire(on=date(2026, 3, 1))
    assert expiry.amount == Decimal("2000.00") - used and expiry.expired_on == date(2026, 3, 1)
    entry = JournalEntry.objects.get(source="credit_expiry", source_id=str(expiry.pk))
    assert entry.date == date(2026, 3, 1)
    released = entry.lines.get(credit__gt=0)
    assert (released.account.code, released.credit) == ("4800", expiry.amount)  # breakage revenue
    assert balance("credits") == 0  # granted − drawn − expired
    assert AuditEvent.objects.filter(action="credit_grant.expired", object_id=str(grant.pk)).count() == 1
    assert credits_expire(on=date(2026, 3, 5)) == []  # nothing left: nothing released twice

    # A draw returned to the grant after it expired — the reversal row a void of a partly credited
    # invoice writes — is released by the next call.
    CreditApplication.objects.create(grant=grant, invoice=invoice, amount=-Decimal("10.00"))
    (again,) = credits_expire(on=date(2026, 3, 5))
    assert again.amount == Decimal("10.00") and again.expired_on == date(2026, 3, 1)
    assert CreditExpiry.objects.filter(grant=grant).count() == 2
    assert JournalEntry.objects.filter(source="credit_expiry").count() == 2


def test_the_prepaid_credits_control_passes_through_grant_draw_and_expiry(world):
    from billing.invoicing.credits import credits_expire
    from compliance.services.exceptions import compliance_run

    def control() -> str:
        return compliance_run(codes=["prepaid_credits_tie_out"]).results["prepaid_credits_tie_out"]["status"]

    _contract, _grant, invoice = _granted_and_drawn(world, "3000.00", expires_on=date(2026, 2, 1))
    assert invoice.credits_applied > 0 and control() == "pass"
    assert credits_expire(on=date(2026, 2, 1)) and control() == "pass"
    # Breakage is not contract revenue: the contract's deferred-revenue roll-forward still ties.
    run = compliance_run(codes=["deferred_rollforward"])
    assert run.results["deferred_rollforward"]["status"] == "pass", run.results
