"""Finalization runs (issue 15 §1): many drafts finalized as a job, in batches, one transaction per batch,
gapless numbers in billing-date order, failures parked, idempotent. In-process tasks (the commits of a
transactional test run them); real workers on PostgreSQL are in test_finalization_workers.py."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.db import transaction
from django.db.models import Count

from billing.invoicing import finalization
from billing.invoicing.build import invoice_build
from billing.invoicing.finalization import finalization_start, finalization_work
from billing.invoicing.lifecycle import invoice_finalize
from billing.models import FinalizationItem, FinalizationRun, Invoice
from revops.core.audit.models import AuditEvent
from revops.core.models import Job, OutboxEvent
from revops.errors import ValidationFailed
from revrec.models import JournalEntry
from tests.billing.factories import ContractFactory
from tests.builders import NOW
from tests.revops.factories import ApprovalFactory, CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _drafts(
    n: int, *, price: str = "10.00", start: date = date(2026, 4, 1), prefix: str = "fin"
) -> list[Invoice]:
    """``n`` drafts, one per customer, billed on ``start`` (the same billing date: ordered by id)."""
    out = []
    for i in range(n):
        customer = CustomerFactory(external_id=f"{prefix}-{i:03d}", name=f"{prefix.title()} {i}")
        contract = ContractFactory(
            lines=[{"key": "svc", "product": "platform", "unit_price": price}],
            start_date=start,
            customer=customer,
        )
        with transaction.atomic():
            out.append(invoice_build(contract_id=contract.pk, billing_date=start, now=NOW))
    return out


def _run(**kwargs) -> FinalizationRun:
    return FinalizationRun.objects.get(pk=finalization_start(**kwargs).pk)


def _events(action: str, invoice: Invoice) -> int:
    return AuditEvent.objects.filter(
        action=action, object_id=str(invoice.pk), object_type="billing.invoice"
    ).count()


def test_a_run_finalizes_its_drafts_in_batches_with_gapless_numbers_in_billing_date_order(catalog, settings):
    settings.FINALIZATION_BATCH_SIZE = 2
    later = _drafts(2, start=date(2026, 5, 1), prefix="may")  # built first, billed later
    earlier = _drafts(3, start=date(2026, 4, 1), prefix="apr")
    run = _run(invoice_ids=[i.pk for i in later + earlier])
    assert run.status == "completed" and (run.finalized, run.failed, run.skipped) == (5, 0, 0)
    job = Job.objects.get(pk=run.job_id)
    assert job.status == "completed" and job.progress_done == job.progress_total == 5
    assert job.result == {"finalized": 5, "failed": 0, "skipped": 0}
    # Three transactions of at most two drafts (the items of a batch share its finish time).
    batches = run.items.values("finished_at").annotate(n=Count("id")).order_by("finished_at")
    assert [b["n"] for b in batches] == [2, 2, 1]
    ordered = Invoice.objects.filter(pk__in=[i.pk for i in later + earlier]).order_by("billing_date", "id")
    assert [i.sequence for i in ordered] == [1, 2, 3, 4, 5]
    assert [i.number for i in ordered] == [f"INV-{n:06d}" for n in range(1, 6)]
    for invoice in ordered:
        assert invoice.status == "finalized" and invoice.issue_date and invoice.due_date
        assert _events("invoice.finalized", invoice) == 1
        assert _events("invoice.refreshed", invoice) == 0  # no usage arrived since rating: not rebuilt
        assert OutboxEvent.objects.filter(topic="invoice.finalized", object_id=str(invoice.pk)).count() == 1
        assert JournalEntry.objects.filter(source_key=f"invoice:{invoice.pk}").count() == 1
        assert invoice.pdf_sha256  # rendered by the task queued after each batch's commit


def test_start_returns_at_once_and_queues_the_plan_after_commit(catalog):
    drafts = _drafts(2)
    with mock.patch("revops.core.enqueue.enqueue") as sent:
        run = finalization_start(invoice_ids=[d.pk for d in drafts], actor="test")
    sent.assert_called_once_with("billing.plan_finalization_run", run.pk, countdown=None)
    assert FinalizationRun.objects.get(pk=run.pk).status == "queued"
    assert not Invoice.objects.exclude(status="draft").exists()
    assert AuditEvent.objects.filter(action="invoice_finalization.started", object_id=str(run.pk)).exists()


def test_a_failing_draft_is_parked_with_its_error_and_leaves_no_gap(catalog, settings):
    settings.FINALIZATION_BATCH_SIZE = 10
    drafts = _drafts(4)
    bad = drafts[1]
    from revrec.services.postings import invoices as postings

    real = postings.post_invoices
    calls = []

    def post(invoices):
        calls.append(len(invoices))
        entries = real(invoices)
        if bad.pk in entries:  # after the posting: the batch's announcement fails, rolled back
            raise RuntimeError("ledger refused the entry")
        return entries

    with mock.patch.object(postings, "post_invoices", side_effect=post):
        run = _run(invoice_ids=[d.pk for d in drafts])
    # The batch posted together, failed, and was done again one draft at a time.
    assert calls == [4, 1, 1, 1, 1]
    assert (run.finalized, run.failed) == (3, 1)
    item = run.items.get(invoice=bad)
    assert item.status == "failed" and "ledger refused the entry" in item.error
    bad.refresh_from_db()
    assert bad.status == "draft" and bad.number is None and bad.sequence is None
    assert not JournalEntry.objects.filter(source_key=f"invoice:{bad.pk}").exists()
    assert not OutboxEvent.objects.filter(topic="invoice.finalized", object_id=str(bad.pk)).exists()
    assert _events("invoice.finalized", bad) == 0
    numbers = sorted(Invoice.objects.exclude(status="draft").values_list("sequence", flat=True))
    assert numbers == [1, 2, 3]
    # Fixed, the parked draft is finalized by the next run and takes the next number.
    again = _run(invoice_ids=[bad.pk])
    bad.refresh_from_db()
    assert again.finalized == 1 and bad.sequence == 4


def _statements(ids: list[int]) -> int:
    """The statements finalizing ``ids`` takes in one batch (the documents' rendering held back)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with mock.patch("revops.core.enqueue.enqueue"):
        run = finalization_start(invoice_ids=ids, actor="test")
        finalization.finalization_plan(run_id=run.pk)
        with CaptureQueriesContext(connection) as queries:
            assert finalization_work(run_id=run.pk) == len(ids)
    return len(queries.captured_queries)


def test_a_batch_takes_as_many_statements_for_many_drafts_as_for_few(catalog, settings):
    """Set-based: numbers, the invoices' rows, the postings, the outbox and audit events and the items
    are written with one statement per kind for the whole batch — no savepoint, save or query per
    draft — so the shared locks (counter, period, chain head) are held for a few statements."""
    settings.FINALIZATION_BATCH_SIZE = 20
    _statements([d.pk for d in _drafts(1, prefix="first")])  # the counter, the period: created once
    few = _statements([d.pk for d in _drafts(2, prefix="few")])
    many = _statements([d.pk for d in _drafts(7, prefix="many")])
    assert many == few
    assert sorted(Invoice.objects.values_list("sequence", flat=True)) == list(range(1, 11))
    assert JournalEntry.objects.filter(source_key__startswith="invoice:").count() == 10
    assert OutboxEvent.objects.filter(topic="invoice.finalized").count() == 10
    assert AuditEvent.objects.filter(action="invoice.finalized").count() == 10


def test_a_failure_while_re_rating_parks_the_draft(catalog):
    drafts = _drafts(3)
    real = finalization.batch.draft_rerate

    def rerate(*, invoice, **kw):
        if invoice.pk == drafts[0].pk:
            raise RuntimeError("price lookup failed")
        return real(invoice=invoice, **kw)

    every = mock.patch.object(
        finalization.batch, "_to_rerate", side_effect=lambda drafts: {d.pk for d in drafts}
    )
    with every, mock.patch.object(finalization.batch, "draft_rerate", side_effect=rerate):
        run = _run(invoice_ids=[d.pk for d in drafts])
    assert (run.finalized, run.failed) == (2, 1)
    assert "price lookup failed" in run.items.get(invoice=drafts[0]).error
    assert sorted(Invoice.objects.exclude(status="draft").values_list("sequence", flat=True)) == [1, 2]


def test_late_usage_is_re_rated_before_numbering_and_a_draft_with_nothing_new_is_not_rebuilt(catalog):
    from datetime import UTC, datetime

    from billing.models import PlanVersion
    from tests.builders import day, send_events

    PlanVersion.objects.update(published_at=datetime(2026, 1, 1, tzinfo=UTC))  # a catalog long published
    customers, drafts = [], []
    for name in ("late", "quiet"):
        customer = CustomerFactory(external_id=name, name=name.title())
        contract = ContractFactory(
            lines=[{"key": "sub", "product": "platform", "plan": "hybrid"}],
            start_date=date(2026, 4, 1),
            customer=customer,
        )
        with transaction.atomic():
            drafts.append(
                invoice_build(
                    contract_id=contract.pk,
                    billing_date=date(2026, 5, 1),
                    now=datetime(2026, 5, 2, tzinfo=UTC),
                )
            )
        customers.append(customer)
    late, quiet = drafts
    before = {d.pk: (d.total, list(d.lines.values_list("pk", flat=True))) for d in drafts}
    # April usage of the first customer received after its draft was rated.
    send_events(
        customers[0],
        [{"code": "api_calls", "timestamp": day(date(2026, 4, 20)), "properties": {"endpoint": "/v1/x"}}],
        received_at=datetime(2026, 5, 3, tzinfo=UTC),
    )
    run = _run(invoice_ids=[late.pk, quiet.pk])
    assert run.finalized == 2
    late.refresh_from_db(), quiet.refresh_from_db()
    assert late.lines.filter(kind="usage", quantity__gt=0).exists()  # the late event is billed on it
    assert _events("invoice.refreshed", late) == 1 and _events("invoice.refreshed", quiet) == 0
    assert list(quiet.lines.values_list("pk", flat=True)) == before[quiet.pk][1]  # the very same lines
    assert quiet.total == before[quiet.pk][0]


def test_a_re_delivered_task_or_plan_repeats_nothing(catalog):
    drafts = _drafts(3)
    run = _run(invoice_ids=[d.pk for d in drafts])
    finalization.finalization_plan(run_id=run.pk)  # a duplicate plan task: the run is complete
    assert finalization_work(run_id=run.pk) == 0  # a duplicate work task: nothing pending
    assert run.items.count() == 3
    for draft in drafts:
        assert _events("invoice.finalized", draft) == 1
        assert JournalEntry.objects.filter(source_key=f"invoice:{draft.pk}").count() == 1
    assert sorted(Invoice.objects.values_list("sequence", flat=True)) == [1, 2, 3]


def test_an_invoice_finalized_meanwhile_is_skipped_with_its_reason(catalog):
    drafts = _drafts(2)
    with transaction.atomic():
        done = invoice_finalize(invoice=drafts[0], now=NOW)
    run = _run(invoice_ids=[d.pk for d in drafts])
    assert (run.finalized, run.failed, run.skipped) == (1, 0, 1)
    assert run.items.get(invoice=drafts[0]).error == f"Already finalized as {done.number}."
    assert _events("invoice.finalized", drafts[0]) == 1


def test_a_zero_total_draft_is_finalized_as_paid(catalog):
    (free,) = _drafts(1, price="0.00")
    run = _run(invoice_ids=[free.pk])
    free.refresh_from_db()
    assert run.finalized == 1 and free.status == "paid" and free.paid_at
    assert OutboxEvent.objects.filter(topic="invoice.paid", object_id=str(free.pk)).exists()


def test_a_filter_selects_the_matching_drafts_only(catalog):
    april = _drafts(2, prefix="apr")
    may = _drafts(2, start=date(2026, 5, 1), prefix="may")
    run = _run(
        filters={"status": "draft", "billing_date_from": "2026-05-01", "billing_date_to": "2026-05-31"}
    )
    assert run.finalized == 2
    assert set(Invoice.objects.exclude(status="draft").values_list("pk", flat=True)) == {i.pk for i in may}
    one = _run(filters={"customer": "apr-001"})
    assert one.finalized == 1 and Invoice.objects.get(pk=april[1].pk).status == "finalized"
    assert Invoice.objects.get(pk=april[0].pk).status == "draft"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"invoice_ids": []}, "ids"),
        ({"invoice_ids": [0, "x"]}, "ids[0]"),
        ({"invoice_ids": [987654]}, "ids[0]"),
        ({"filters": {"status": "finalized"}}, "filter.status"),
        ({"filters": {"colour": "red"}}, "filter.colour"),
        ({"filters": {"billing_date_from": "2026-13-01"}}, "filter.billing_date_from"),
        ({"filters": {"customer": "nobody"}}, "filter.customer"),
        ({"invoice_ids": [1], "filters": {}}, "filter"),
    ],
)
def test_bad_ids_and_filters_are_refused_naming_the_field(catalog, kwargs, field):
    with pytest.raises(ValidationFailed) as caught:
        finalization_start(**kwargs)
    fields = [e.field for e in caught.value.errors] or [caught.value.field]
    assert field in fields, (fields, caught.value.detail)
    assert not FinalizationRun.objects.exists()


def test_amounts_stay_decimal_and_credits_are_drawn_per_invoice(catalog):
    from tests.builders import approved_credit_grant

    (draft,) = _drafts(1, price="10.00")
    approved_credit_grant(customer=draft.customer, amount="4.00", granted_on=date(2026, 1, 1))
    run = _run(invoice_ids=[draft.pk])
    draft.refresh_from_db()
    assert run.finalized == 1
    assert draft.credits_applied == Decimal("4.00") and draft.total == Decimal("6.00")


def test_resume_sends_the_workers_of_a_run_left_with_pending_items(catalog, settings):
    drafts = _drafts(3)
    with mock.patch("revops.core.enqueue.enqueue"):
        run = finalization_start(invoice_ids=[d.pk for d in drafts])  # the broker lost every message
    finalization.finalization_plan(run_id=run.pk)
    assert FinalizationItem.objects.filter(run=run, status="pending").count() == 3
    from revops.core.services.jobs import runs_resume_stalled

    assert runs_resume_stalled(stall_seconds=0) == 1
    run.refresh_from_db()
    assert run.status == "completed" and run.finalized == 3


@pytest.mark.parametrize("by", ["ids", "filter"])
def test_a_draft_whose_contract_awaits_an_approval_is_parked_by_every_run(catalog, by):
    """The job itself holds such a draft — read after the batch locked the drafts, so an approval
    requested after the run started (here: in the same transaction, before any worker ran) is honoured,
    whatever started the run (queue, API ids or filter, month end)."""
    held, free = _drafts(2)
    with transaction.atomic():
        run = finalization_start(**({"invoice_ids": [held.pk, free.pk]} if by == "ids" else {"filters": {}}))
        approval = ApprovalFactory(kind="price_override", obj=held.contract, payload={"action": "amend"})
    run.refresh_from_db()
    assert run.status == "completed" and (run.finalized, run.failed, run.skipped) == (1, 1, 0)
    held.refresh_from_db(), free.refresh_from_db()
    assert held.status == "draft" and not held.number and free.status == "finalized"
    item = run.items.get(invoice=held)
    assert item.status == "failed"
    assert item.error == f"Contract {held.contract.number} awaits approval #{approval.pk}: it stays a draft."
    assert _events("invoice.finalized", held) == 0
    # Once decided, the next run finalizes it.
    approval.status = "rejected"
    approval.save(update_fields=["status"])
    assert _run(invoice_ids=[held.pk]).finalized == 1


def test_a_batch_copies_the_issuer_and_bill_to_details_onto_each_invoice(catalog):
    """What the document prints is fixed at finalization, read from the rows the batch has loaded."""
    from revops.parties.services.customers import customer_update

    drafts = _drafts(2, prefix="snap")
    LegalEntity = type(drafts[0].legal_entity)
    LegalEntity.objects.filter(pk=drafts[0].legal_entity_id).update(address="1 Issuer Way", tax_id="US 1")
    assert _run(invoice_ids=[d.pk for d in drafts]).finalized == 2
    customer_update(customer=drafts[0].customer, name="Renamed Later", address="Elsewhere 9")
    for draft in drafts:
        invoice = Invoice.objects.get(pk=draft.pk)
        assert (invoice.bill_to_name, invoice.bill_to_external_id) == (
            draft.customer.name,
            draft.customer.external_id,
        )
        assert (
            invoice.bill_to_address == draft.customer.address
            and invoice.bill_to_email == draft.customer.email
        )
        assert (invoice.issuer_name, invoice.issuer_address, invoice.issuer_tax_id) == (
            draft.legal_entity.name,
            "1 Issuer Way",
            "US 1",
        )


class _MidnightAtTheCounter:
    """A clock that passes midnight the moment a document counter is locked: the issue date must be the
    one read after (a higher number never carries an earlier date)."""

    def __init__(self):
        from django.utils import timezone

        from billing.invoicing.numbering import counter_lock

        self.real_localdate, self.real_lock = timezone.localdate, counter_lock
        self.today = timezone.localdate()
        self.locked = False

    def localdate(self, *args, **kwargs):
        if args or kwargs:
            return self.real_localdate(*args, **kwargs)
        return self.today + timedelta(days=1) if self.locked else self.today

    def counter_lock(self, **kwargs):
        counter = self.real_lock(**kwargs)
        self.locked = True
        return counter

    def __enter__(self):
        self.patches = [
            mock.patch("django.utils.timezone.localdate", self.localdate),
            mock.patch("billing.invoicing.lifecycle.counter_lock", self.counter_lock),
            mock.patch("billing.invoicing.finalization.batch.counter_lock", self.counter_lock),
        ]
        for patch in self.patches:
            patch.start()
        return self

    def __exit__(self, *exc):
        for patch in self.patches:
            patch.stop()


def test_single_finalize_reads_the_issue_date_once_the_counter_is_held(catalog):
    (draft,) = _drafts(1)
    with _MidnightAtTheCounter() as clock:
        invoice = invoice_finalize(invoice=draft, now=NOW)
    assert invoice.issue_date == clock.today + timedelta(days=1)


def test_a_batch_reads_the_issue_date_once_the_counters_are_held(catalog):
    drafts = _drafts(2)
    with _MidnightAtTheCounter() as clock:
        _run(invoice_ids=[d.pk for d in drafts])
    dates = set(Invoice.objects.filter(pk__in=[d.pk for d in drafts]).values_list("issue_date", flat=True))
    assert dates == {clock.today + timedelta(days=1)}
