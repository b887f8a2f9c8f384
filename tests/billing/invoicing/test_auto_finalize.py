"""Auto-finalization after a grace period (issue 15 §1): a draft finalizes itself when its grace period
(the customer's own, else the organization's; none by default) has ended since it was created — handed
to the finalization job, which bills the usage that arrived late first; a draft a control holds stays
a draft and is reported. The job's tasks run in-process when the pass's transaction commits."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.billing_settings import billing_settings_current, billing_settings_update
from billing.invoicing import auto_finalize
from billing.invoicing.auto_finalize import ACTOR, drafts_held
from billing.invoicing.build import invoice_build
from billing.models import BillingSettings, FinalizationRun, Invoice
from revops.core.audit.models import AuditEvent
from revops.errors import Conflict, ValidationFailed
from revops.parties.services.customers import customer_update
from tests.billing.factories import ContractFactory
from tests.builders import day, send_events
from tests.revops.factories import ApprovalFactory, CustomerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalog")]

BUILT_AT = datetime(2026, 4, 1, 6, tzinfo=UTC)  # the billing run's "now": its usage cut-off


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def auto_finalize_due_drafts(*, now, commit=True):
    """A pass; with ``commit`` the finalization run it starts runs to the end, as after its commit."""
    from django.test import TestCase

    if not commit:
        return auto_finalize.auto_finalize_due_drafts(now=now)
    with TestCase.captureOnCommitCallbacks(execute=True):
        return auto_finalize.auto_finalize_due_drafts(now=now)


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
    assert (done.due, done.submitted, done.run_id) == (0, [], None)
    assert not FinalizationRun.objects.exists()


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
    assert done.submitted == [invoice.pk] and done.held == []
    assert invoice.status == Invoice.Status.FINALIZED and invoice.number
    usage = invoice.lines.get(kind="usage")
    assert (usage.amount, usage.event_count) == (Decimal("2.00"), 1200)  # 1,200 calls: 200 × 0.01
    assert invoice.total == Decimal("2.00")
    finalized = AuditEvent.objects.get(action="invoice.finalized", object_id=str(invoice.pk))
    assert finalized.actor_label == ACTOR and finalized.actor_id is None
    refreshed = AuditEvent.objects.filter(action="invoice.refreshed", object_id=str(invoice.pk))
    assert refreshed.filter(actor_label=ACTOR).exists()
    run = FinalizationRun.objects.get(pk=done.run_id)
    assert (run.trigger, run.status, run.invoice_ids, run.finalized) == (
        "auto_finalize",
        "completed",
        [invoice.pk],
        1,
    )
    started = AuditEvent.objects.get(action="invoice_finalization.started", object_id=str(run.pk))
    assert started.actor_label == ACTOR


def test_a_customers_own_grace_period_beats_the_organizations():
    quick = draft_with_late_usage(CustomerFactory(auto_finalize_grace_hours=1))
    slow = draft_with_late_usage(CustomerFactory(auto_finalize_grace_hours=48))
    plain = draft_with_late_usage()
    grace(24)
    now = max(quick.created_at, slow.created_at, plain.created_at) + timedelta(hours=2)
    done = auto_finalize_due_drafts(now=now)
    assert done.submitted == [quick.pk]  # 1 h of its own, though the organization says 24 h
    assert Invoice.objects.get(pk=slow.pk).status == "draft"  # 48 h of its own
    assert Invoice.objects.get(pk=plain.pk).status == "draft"  # the organization's 24 h
    assert Invoice.objects.get(pk=quick.pk).status == "finalized"
    done = auto_finalize_due_drafts(now=now + timedelta(hours=23))
    assert done.submitted == [plain.pk]
    assert Invoice.objects.get(pk=plain.pk).status == "finalized"
    assert Invoice.objects.get(pk=slow.pk).status == "draft"


def test_zero_finalizes_at_the_next_pass_even_with_the_organization_off():
    invoice = draft_with_late_usage(CustomerFactory(auto_finalize_grace_hours=0))
    other = draft_with_late_usage()
    done = auto_finalize_due_drafts(now=after(invoice, 0))
    assert done.submitted == [invoice.pk]
    assert Invoice.objects.get(pk=invoice.pk).status == "finalized"
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
    assert first.submitted == [invoice.pk] and second.submitted == [] and second.due == 0
    assert (invoice.number, invoice.sequence) == (number, sequence)
    assert AuditEvent.objects.filter(action="invoice.finalized", object_id=str(invoice.pk)).count() == 1
    assert FinalizationRun.objects.count() == 1  # a pass with nothing to do starts nothing


def test_a_pass_while_the_last_run_is_unfinished_starts_nothing_and_the_run_finalizes_once():
    invoice = draft_with_late_usage()
    grace(1)
    now = after(invoice, 2)
    first = auto_finalize_due_drafts(now=now, commit=False)  # its run not planned yet (no commit)
    assert first.submitted == [invoice.pk]
    second = auto_finalize_due_drafts(now=now, commit=False)
    assert second.waiting_for == first.run_id and second.submitted == [] and second.run_id is None
    assert FinalizationRun.objects.count() == 1
    from billing.invoicing.finalization import finalization_plan_and_fan_out, finalization_work

    for _ in range(2):  # the plan and a worker delivered twice
        finalization_plan_and_fan_out(run_id=first.run_id)
        finalization_work(run_id=first.run_id)
    invoice.refresh_from_db()
    assert invoice.status == "finalized"
    assert AuditEvent.objects.filter(action="invoice.finalized", object_id=str(invoice.pk)).count() == 1
    assert auto_finalize_due_drafts(now=now).due == 0


def test_the_beat_task_is_registered_and_scheduled():
    from billing.invoicing.tasks import auto_finalize_drafts

    assert auto_finalize_drafts.name == "billing.auto_finalize_drafts"
    assert "billing.invoicing.tasks" in settings.CELERY_IMPORTS
    entry = settings.CELERY_BEAT_SCHEDULE["billing-auto-finalize-drafts"]
    assert entry["task"] == "billing.auto_finalize_drafts"
    invoice = draft_with_late_usage(CustomerFactory(auto_finalize_grace_hours=0))
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
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
    assert done.submitted == [free.pk]
    assert done.held == [{"invoice": held.pk, "reason": "Its contract waits for an approval."}]
    assert Invoice.objects.get(pk=held.pk).status == "draft"
    assert Invoice.objects.get(pk=free.pk).status == "finalized"
    approval.status = "rejected"
    approval.save(update_fields=["status"])
    assert auto_finalize_due_drafts(now=now).submitted == [held.pk]
    assert Invoice.objects.get(pk=held.pk).status == "finalized"


def test_a_draft_the_finalization_refuses_is_held_with_the_reason_then_tried_again():
    from unittest import mock

    invoice = draft_with_late_usage()
    grace(0)
    now = timezone.now()
    refusal = ValidationFailed("The accounting period is closed.")
    with mock.patch("billing.invoicing.finalization.batch.finalize_draw_credits", side_effect=refusal):
        first = auto_finalize_due_drafts(now=now)
    assert first.submitted == [invoice.pk]
    assert FinalizationRun.objects.get(pk=first.run_id).failed == 1
    assert Invoice.objects.get(pk=invoice.pk).status == "draft"
    reason = "Finalization was refused: The accounting period is closed."
    second = auto_finalize_due_drafts(now=timezone.now())
    assert second.submitted == [] and second.held == [{"invoice": invoice.pk, "reason": reason}]
    assert [i.pk for i in drafts_held(now=timezone.now())] == [invoice.pk]
    later = auto_finalize_due_drafts(now=timezone.now() + auto_finalize.PARKED_RETRY)
    assert later.submitted == [invoice.pk]
    assert Invoice.objects.get(pk=invoice.pk).status == "finalized"


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


@pytest.mark.postgres
def test_two_passes_at_the_same_moment_start_one_run():
    """While one pass holds the pass lock (deciding, its run not yet recorded), another does nothing."""
    import threading

    from django.db import connection

    invoice = draft_with_late_usage(CustomerFactory(auto_finalize_grace_hours=0))
    holding, release = threading.Event(), threading.Event()

    def other_pass():
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [auto_finalize.PASS_LOCK_KEY])
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=other_pass)
    thread.start()
    try:
        assert holding.wait(30)
        blocked = auto_finalize_due_drafts(now=after(invoice, 0))
    finally:
        release.set()
        thread.join()
    assert blocked.busy and blocked.run_id is None and not FinalizationRun.objects.exists()
    done = auto_finalize_due_drafts(now=after(invoice, 0))
    assert done.submitted == [invoice.pk]
    assert Invoice.objects.get(pk=invoice.pk).status == "finalized"
