"""Auto-finalization after a grace period (issue 15 §1): a draft finalizes itself when its grace period
(the customer's own, else the organization's; none by default) has ended since it was created, with
the usage that arrived late billed first; a draft a control holds stays a draft and is reported."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import transaction

from billing.billing_settings import billing_settings_current, billing_settings_update
from billing.invoicing.auto_finalize import ACTOR, auto_finalize_due_drafts, drafts_held
from billing.invoicing.build import invoice_build
from billing.models import BillingSettings, Invoice
from revops.core.audit.models import AuditEvent
from revops.core.models import Job
from revops.errors import Conflict, ValidationFailed
from revops.parties.services.customers import customer_update
from tests.billing.factories import ContractFactory
from tests.builders import day, send_events
from tests.revops.factories import ApprovalFactory, CustomerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog")]

BUILT_AT = datetime(2026, 4, 1, 6, tzinfo=UTC)  # the billing run's "now": its usage cut-off


def draft_with_late_usage(customer=None):
    """A March usage draft built on 1 April from 1,100 API calls (1.00 past the 1,000 free), then 100
    more March calls received on 2 April — after the run's cut-off, so not on the draft yet."""
    contract = ContractFactory(
        customer=customer or CustomerFactory(),
        lines=[{"key": "sub", "product": "platform", "plan": "hybrid", "billing": "usage"}],
        start_date=date(2026, 3, 1),
    )
    calls = [
        {"code": "api_calls", "timestamp": day(date(2026, 3, 3)), "transaction_id": f"{contract.pk}-a{i}"}
        for i in range(1100)
    ]
    send_events(contract.customer, calls, received_at=datetime(2026, 3, 31, tzinfo=UTC))
    with transaction.atomic():
        invoice = invoice_build(contract_id=contract.pk, billing_date=date(2026, 4, 1), now=BUILT_AT)
    assert invoice.lines.get(kind="usage").amount == Decimal("1.00")
    send_events(
        contract.customer,
        [
            {
                "code": "api_calls",
                "timestamp": day(date(2026, 3, 30)),
                "transaction_id": f"{contract.pk}-b{i}",
            }
            for i in range(100)
        ],
        received_at=datetime(2026, 4, 2, tzinfo=UTC),
    )
    return invoice


def grace(hours):
    with transaction.atomic():
        return billing_settings_update(actor="test", auto_finalize_grace_hours=hours, reason="test")


def after(invoice, hours: float) -> datetime:
    return invoice.created_at + timedelta(hours=hours)


def test_the_default_is_no_auto_finalization_at_all():
    invoice = draft_with_late_usage()
    assert billing_settings_current().auto_finalize_grace_hours is None
    done = auto_finalize_due_drafts(now=after(invoice, 24 * 365 * 5))
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.DRAFT and invoice.number is None
    assert (done.due, done.finalized, done.job_id) == (0, [], None)
    assert not Job.objects.filter(kind="auto_finalize").exists()


def test_a_draft_inside_its_grace_period_stays_a_draft():
    invoice = draft_with_late_usage()
    grace(24)
    done = auto_finalize_due_drafts(now=after(invoice, 23.9))
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.DRAFT and done.due == 0
    assert invoice.lines.get(kind="usage").amount == Decimal("1.00")  # not even refreshed


def test_when_the_grace_ends_the_draft_finalizes_with_the_late_usage_billed():
    invoice = draft_with_late_usage()
    grace(24)
    done = auto_finalize_due_drafts(now=after(invoice, 24))
    invoice.refresh_from_db()
    assert done.finalized == [invoice.pk] and done.held == []
    assert invoice.status == Invoice.Status.FINALIZED and invoice.number
    usage = invoice.lines.get(kind="usage")
    assert (usage.amount, usage.event_count) == (Decimal("2.00"), 1200)  # 1,200 calls: 200 × 0.01
    assert invoice.total == Decimal("2.00")
    finalized = AuditEvent.objects.get(action="invoice.finalized", object_id=str(invoice.pk))
    assert finalized.actor_label == ACTOR and finalized.actor_id is None
    refreshed = AuditEvent.objects.filter(action="invoice.refreshed", object_id=str(invoice.pk))
    assert refreshed.filter(actor_label=ACTOR).exists()
    job = Job.objects.get(pk=done.job_id)
    assert (job.kind, job.status, job.result["finalized"]) == ("auto_finalize", "completed", 1)


def test_a_customers_own_grace_period_beats_the_organizations():
    quick = draft_with_late_usage(CustomerFactory(auto_finalize_grace_hours=1))
    slow = draft_with_late_usage(CustomerFactory(auto_finalize_grace_hours=48))
    plain = draft_with_late_usage()
    grace(24)
    now = max(quick.created_at, slow.created_at, plain.created_at) + timedelta(hours=2)
    done = auto_finalize_due_drafts(now=now)
    assert done.finalized == [quick.pk]  # 1 h of its own, though the organization says 24 h
    assert Invoice.objects.get(pk=slow.pk).status == "draft"  # 48 h of its own
    assert Invoice.objects.get(pk=plain.pk).status == "draft"  # the organization's 24 h
    done = auto_finalize_due_drafts(now=now + timedelta(hours=23))
    assert done.finalized == [plain.pk]
    assert Invoice.objects.get(pk=slow.pk).status == "draft"


def test_zero_finalizes_at_the_next_pass_even_with_the_organization_off():
    invoice = draft_with_late_usage(CustomerFactory(auto_finalize_grace_hours=0))
    other = draft_with_late_usage()
    done = auto_finalize_due_drafts(now=after(invoice, 0))
    assert done.finalized == [invoice.pk]
    assert Invoice.objects.get(pk=other.pk).status == "draft"


def test_the_beat_firing_twice_finalizes_once():
    invoice = draft_with_late_usage()
    grace(1)
    now = after(invoice, 2)
    first = auto_finalize_due_drafts(now=now)
    invoice.refresh_from_db()
    number, sequence = invoice.number, invoice.sequence
    second = auto_finalize_due_drafts(now=now)
    invoice.refresh_from_db()
    assert first.finalized == [invoice.pk] and second.finalized == [] and second.due == 0
    assert (invoice.number, invoice.sequence) == (number, sequence)
    assert AuditEvent.objects.filter(action="invoice.finalized", object_id=str(invoice.pk)).count() == 1
    assert Job.objects.filter(kind="auto_finalize").count() == 1  # a pass with nothing to do records nothing


def test_the_beat_task_is_registered_and_scheduled():
    from billing.invoicing.tasks import auto_finalize_drafts

    assert auto_finalize_drafts.name == "billing.auto_finalize_drafts"
    assert "billing.invoicing.tasks" in settings.CELERY_IMPORTS
    entry = settings.CELERY_BEAT_SCHEDULE["billing-auto-finalize-drafts"]
    assert entry["task"] == "billing.auto_finalize_drafts"
    invoice = draft_with_late_usage(CustomerFactory(auto_finalize_grace_hours=0))
    assert auto_finalize_drafts() == 1
    assert Invoice.objects.get(pk=invoice.pk).status == "finalized"
    assert auto_finalize_drafts() == 0


def test_a_draft_whose_contract_awaits_an_approval_is_held_and_reported():
    held = draft_with_late_usage()
    free = draft_with_late_usage()
    grace(1)
    with transaction.atomic():
        approval = ApprovalFactory(kind="price_override", obj=held.contract, payload={"action": "amend"})
    now = max(held.created_at, free.created_at) + timedelta(hours=2)
    assert list(drafts_held(now=now)) == [held]
    done = auto_finalize_due_drafts(now=now)
    assert done.finalized == [free.pk]
    assert done.held == [{"invoice": held.pk, "reason": "Its contract waits for an approval."}]
    assert Invoice.objects.get(pk=held.pk).status == "draft"
    assert Job.objects.get(pk=done.job_id).result["held"] == done.held
    approval.status = "rejected"
    approval.save(update_fields=["status"])
    assert auto_finalize_due_drafts(now=now).finalized == [held.pk]


def test_the_organizations_grace_period_is_versioned_and_audited():
    first = grace(24)
    assert (first.version, first.auto_finalize_grace_hours) == (1, 24)
    assert grace(24) == first  # nothing changed: no new version, no event
    second = grace(None)
    assert (second.version, second.auto_finalize_grace_hours) == (2, None)
    assert list(BillingSettings.objects.values_list("version", "auto_finalize_grace_hours")) == [
        (2, None),
        (1, 24),
    ]
    events = AuditEvent.objects.filter(action="billing_settings.changed").order_by("seq")
    assert [e.changes["auto_finalize_grace_hours"] for e in events] == [
        {"from": None, "to": 24},
        {"from": 24, "to": None},
    ]
    with pytest.raises(Conflict), transaction.atomic():
        billing_settings_update(actor="test", auto_finalize_grace_hours=5, expected_version=1)
    with pytest.raises(ValidationFailed), transaction.atomic():
        billing_settings_update(actor="test", auto_finalize_grace_hours=365 * 24 + 1)


def test_a_customers_grace_period_is_checked_and_audited():
    customer = CustomerFactory()
    with transaction.atomic():
        customer_update(customer=customer, actor="test", auto_finalize_grace_hours=72)
    event = AuditEvent.objects.filter(action="customer.updated", object_id=str(customer.pk)).get()
    assert event.changes == {"auto_finalize_grace_hours": {"from": None, "to": 72}}
    for bad in (-1, 365 * 24 + 1, "3"):
        with pytest.raises(ValidationFailed), transaction.atomic():
            customer_update(customer=customer, actor="test", auto_finalize_grace_hours=bad)
