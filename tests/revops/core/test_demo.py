"""``seed_demo`` builds a year of realistic activity (issue 8 §7): about fifty customers on token,
hybrid, API and seat plans, amendments and terminations, late usage billed as an adjustment, revenue
posted month by month and a closed quarter; running it again adds nothing but the usage whose time
has come since."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

from billing.contracts.models import Contract, ContractLine, ContractVersion
from billing.models import BillingRun, CreditExpiry, Invoice, InvoiceLine, UsageEvent
from compliance.demo import _quarter_end
from compliance.models import CheckRun, ComplianceException
from revops.core.approvals.models import Approval
from revops.core.audit.models import AuditEvent
from revops.parties.models import Customer
from revrec.models import AccountingPeriod, JournalEntry, RevenueRun, RevenueSchedule
from revrec.reports.ramp import contract_ramps

pytestmark = pytest.mark.django_db(transaction=True)


def _counts() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (Customer, Contract, Invoice, UsageEvent, JournalEntry, RevenueRun, BillingRun, Approval)
    }


def test_quarter_end_is_the_last_complete_quarter():
    assert _quarter_end(date(2026, 11, 29)) == "2026-09"
    assert _quarter_end(date(2026, 10, 1)) == "2026-09"
    assert _quarter_end(date(2026, 9, 30)) == "2026-06"
    assert _quarter_end(date(2027, 2, 1)) == "2026-12"


def test_seed_demo_builds_a_year_with_a_closed_quarter_and_is_idempotent(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    first_run = timezone.now()
    call_command("seed_demo", "--quiet")
    today = timezone.localdate()

    # About fifty customers, each with a contract, on every kind of plan.
    assert 45 <= Customer.objects.count() <= 55
    assert Contract.objects.count() == Customer.objects.count()
    plans = set(Contract.objects.values_list("lines__plan__code", flat=True))
    assert {"ai-tokens", "ai-enterprise", "api-growth", "team-seats"} <= plans
    assert min(Contract.objects.values_list("start_date", flat=True)) <= date(today.year - 1, today.month, 1)

    # Amendments, terminations, a hybrid commitment trued up, late usage billed as an adjustment.
    assert ContractVersion.objects.filter(kind="amendment").count() >= 4
    assert Contract.objects.filter(status="terminated").count() == 2
    assert InvoiceLine.objects.filter(
        kind="true_up", invoice__contract__lines__plan__code="ai-enterprise"
    ).exists()
    assert InvoiceLine.objects.filter(kind="usage_adjustment").exists()
    assert UsageEvent.objects.count() > 100_000
    # Prepaid credits: a goodwill grant, approved by someone else, partly drawn and expired — its
    # grant and its unused rest post to goodwill credits (contra revenue), never to cash.
    expiry = CreditExpiry.objects.get()
    assert 0 < expiry.amount < expiry.grant.amount and expiry.grant.kind == "goodwill"
    released = JournalEntry.objects.get(source="credit_expiry", source_id=str(expiry.pk))
    assert {ln.account.code for ln in released.lines.all()} == {"2300", "4910"}
    granted = JournalEntry.objects.get(source="credit_grant", source_id=str(expiry.grant_id))
    assert {ln.account.code for ln in granted.lines.all()} == {"2300", "4910"}
    # The coupon and the goodwill credit went through maker-checker.
    for kind in ("coupon_change", "goodwill_credit"):
        levers = Approval.objects.filter(kind=kind, status="approved")
        assert levers.exists() and not levers.filter(decided_by_id=F("requested_by_id")).exists()

    # A year of invoices: most finalized or paid, this month's drafts left for review.
    assert Invoice.objects.filter(status__in=["finalized", "paid"]).count() > 300
    assert Invoice.objects.filter(status="draft").exists()
    assert Invoice.objects.filter(status="void").count() == 1

    # Revenue posted every month; schedules signed off by someone other than the requester.
    assert RevenueRun.objects.filter(status="completed").count() >= 12
    approved = Approval.objects.filter(kind="revenue_schedule", status="approved")
    assert approved.count() == RevenueSchedule.objects.filter(status="approved").count() > 40
    assert not approved.filter(decided_by_id=F("requested_by_id")).exists()
    assert Approval.objects.filter(status="pending").exists()  # the queue has work in it

    # The last complete quarter (and everything before it) is closed; later months are open.
    quarter_end = _quarter_end(today)
    closed = set(AccountingPeriod.objects.filter(status="closed").values_list("period", flat=True))
    year, month = map(int, quarter_end.split("-"))
    quarter = {f"{year}-{m:02d}" for m in (month - 2, month - 1, month)}
    assert quarter <= closed
    assert all(p <= quarter_end for p in closed)
    assert AuditEvent.objects.filter(action="period.closed").count() == len(closed)
    assert CheckRun.objects.exists()
    # A three-year ramp deal (issue 17 §5): its first year billed at 100,000, revenue straight-line, so
    # a contract asset at the first step's end.
    ramp = ContractLine.objects.get(contract__customer__external_id="initrode", key="platform")
    assert [step["unit_price"] for step in ramp.ramp] == ["100000.00", "120000.00", "150000.00"]
    first = contract_ramps(ramp.contract)[0]["steps"][0]
    assert first["billing"] == Decimal("100000.00") and first["position_at_end"] == "contract_asset"
    assert not ComplianceException.objects.filter(status="open").exists(), list(
        ComplianceException.objects.filter(status="open").values_list("explanation", flat=True)
    )

    # Again: nothing is added, except the usage seeder's events whose time came since the first run
    # (it keeps a rolling 30 days of usage up to "now"; it never repeats an event).
    before, last_event = _counts(), UsageEvent.objects.order_by("-id").values_list("id", flat=True).first()
    call_command("seed_demo", "--quiet")
    after = _counts()
    new_events = UsageEvent.objects.filter(id__gt=last_event)
    assert after == {**before, "UsageEvent": before["UsageEvent"] + new_events.count()}
    assert not new_events.filter(timestamp__lte=first_run).exists()
