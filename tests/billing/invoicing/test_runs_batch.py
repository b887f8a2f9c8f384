"""Billing-run batches: a worker claims up to BATCH_SIZE items with SKIP LOCKED and builds their
invoices in one transaction — contracts read, usage aggregated and fingerprinted, invoices written with
a few statements for the whole batch — and the batch commits entirely or not at all."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from unittest import mock

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from billing.catalog.selectors import meter_def
from billing.invoicing import runs
from billing.invoicing.build import batch as build
from billing.invoicing.build import invoices_build
from billing.invoicing.usage_source import PreparedUsage, SqlUsage
from billing.models import BillingClaim, BillingRun, BillingRunItem, Invoice, InvoiceLine, Meter
from revops.core.audit.models import AuditEvent
from revops.core.audit.verify import audit_verify_chain
from revops.core.models import Job
from tests.billing.factories import ContractFactory
from tests.builders import day, send_events
from tests.revops.factories import CustomerFactory

MARCH_DONE = datetime(2026, 4, 1, tzinfo=UTC)  # when the March events below were received


def _hybrid(n: int) -> list:
    """``n`` hybrid contracts from 1 March (fee in advance, API calls in arrears), with March calls."""
    contracts = []
    for k in range(n):
        contract = ContractFactory(
            lines=[{"key": "sub", "product": "platform", "plan": "hybrid"}], start_date=date(2026, 3, 1)
        )
        send_events(
            contract.customer,
            [
                {
                    "code": "api_calls",
                    "timestamp": day(date(2026, 3, 1 + i % 28), i % 24),
                    "properties": {"endpoint": f"/v1/{'xyz'[i % 3]}"},
                    "transaction_id": f"h{k}-{i}",
                }
                for i in range(20 + 7 * k)
            ],
            received_at=MARCH_DONE,
        )
        contracts.append(contract)
    return contracts


def _tokens(n: int) -> list:
    """``n`` token contracts (a sum meter, two filter groups and the default group, a minimum)."""
    contracts = []
    for k in range(n):
        contract = ContractFactory(
            lines=[{"key": "ai", "product": "tokens", "plan": "tokens", "billing": "usage"}],
            start_date=date(2026, 3, 1),
        )
        send_events(
            contract.customer,
            [
                {
                    "code": "llm_tokens",
                    "timestamp": day(date(2026, 3, 2 + i), 10),
                    "properties": {"model": model, "token_type": kind, "tokens": 1000 * (i + 1) + k},
                    "transaction_id": f"t{k}-{i}",
                }
                for i, (model, kind) in enumerate(
                    [("m1", "input"), ("m1", "output"), ("m2", "input"), ("m1", "input"), ("m2", "output")]
                )
            ],
            received_at=MARCH_DONE,
        )
        contracts.append(contract)
    return contracts


def _planned_run(as_of: date) -> BillingRun:
    """A planned run whose items nobody works on yet (the test works them in-process)."""
    with mock.patch.object(runs, "enqueue_on_commit"):
        run = runs.billing_run_start(as_of=as_of)
    runs.billing_run_plan(run_id=run.pk)
    return BillingRun.objects.get(pk=run.pk)


def _assert_usage_lines_match_sql_usage() -> int:
    """Every usage line's event count and hash, and the quantity of lines priced per unit, are what
    SqlUsage's own per-customer queries give for the line's recorded selection."""
    checked = 0
    for line in InvoiceLine.objects.filter(meter__isnull=False).select_related("invoice__customer", "meter"):
        usage = SqlUsage(line.invoice.customer, received_through=line.received_through)
        selection = {
            "match": line.event_match,
            "exclude": line.event_exclude,
            "start": line.usage_start,
            "end": line.usage_end,
        }
        definition = meter_def(line.meter)
        assert (line.event_count, line.event_hash) == usage.fingerprint(definition, **selection)
        assert line.quantity == usage.quantity(definition, **selection)
        checked += 1
    return checked


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_batch_builds_its_invoices_with_a_few_statements_for_all_of_them(catalog):
    contracts = _hybrid(12) + _tokens(8)
    run = _planned_run(date(2026, 4, 1))
    items = BillingRunItem.objects.filter(run=run).count()
    assert items == 12 * 2 + 8  # hybrid: 1 March and 1 April; tokens (usage only): 1 April
    with CaptureQueriesContext(connection) as queries:
        assert runs.billing_run_work(run_id=run.pk) == items
    # One item per invoice and transaction needed ~23 statements per invoice; a batch needs a few
    # statements per kind of record for all its invoices (two rounds here: each contract has two dates).
    assert len(queries) / items < 3, len(queries)
    assert Invoice.objects.count() == items
    assert BillingClaim.objects.count() == 12 * 3 + 8  # fee Mar, fee Apr, usage Mar; usage Mar
    assert set(BillingRunItem.objects.filter(run=run).values_list("status", flat=True)) == {"done"}
    assert Job.objects.get(pk=run.job_id).progress_done == items
    assert _assert_usage_lines_match_sql_usage() == 12 + 8 * 3
    april = Invoice.objects.get(contract=contracts[-1], billing_date=date(2026, 4, 1))
    assert [ln.kind for ln in april.lines.all()] == ["usage", "usage", "usage", "true_up"]
    assert audit_verify_chain().valid
    assert AuditEvent.objects.filter(action="invoice.drafted").count() == items


@pytest.mark.postgres
@pytest.mark.django_db
def test_prepared_usage_answers_what_sql_usage_answers_and_falls_back_for_the_rest(catalog):
    customers = [CustomerFactory(timezone=tz) for tz in ("UTC", "America/New_York", "Asia/Tokyo")]
    for k, customer in enumerate(customers):
        send_events(
            customer,
            [
                {
                    "code": "llm_tokens",
                    "timestamp": day(date(2026, 3, 1 + i), 23 if i % 2 else 0),
                    "properties": {
                        "model": "m1" if i % 3 else "m2",
                        "token_type": "input",
                        "tokens": 7 * i + k,
                    },
                    "transaction_id": f"p{k}-{i}",
                }
                for i in range(12)
            ]
            + [
                {
                    "code": "api_calls",
                    "timestamp": day(date(2026, 3, 1 + i), 12),
                    "properties": {"endpoint": "/v1/a" if i % 2 else "/v1/b"},
                    "transaction_id": f"q{k}-{i}",
                }
                for i in range(9 + k)
            ],
            received_at=MARCH_DONE,
        )
        # A late event (received after the watermark) is in neither answer.
        send_events(
            customer,
            [{"code": "api_calls", "timestamp": day(date(2026, 3, 3)), "transaction_id": f"late-{k}"}],
            received_at=datetime(2026, 4, 20, tzinfo=UTC),
        )
    tokens = meter_def(Meter.objects.get(code="llm_tokens"))
    calls = meter_def(Meter.objects.get(code="api_calls"))
    watermark = datetime(2026, 4, 10, tzinfo=UTC)
    windows = [
        (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)),
        (datetime(2026, 3, 4, 15, tzinfo=UTC), datetime(2026, 3, 9, tzinfo=UTC)),
    ]
    selections = [
        (tokens, None, []),
        (tokens, {"model": "m1"}, []),
        (tokens, None, [{"model": "m1"}]),
        (calls, None, []),
        (calls, {"endpoint": "/v1/a"}, [{"endpoint": "/v1/b"}]),
    ]
    questions = [
        (c.pk, meter, match, exclude, start, end)
        for c in customers
        for meter, match, exclude in selections
        for start, end in windows
    ]
    prepared = PreparedUsage(received_through=watermark)
    assert prepared.prefetch(questions) == len(selections)  # one query per meter and filter group
    for customer in customers:
        source, reference = prepared.source(customer), SqlUsage(customer, received_through=watermark)
        for meter, match, exclude in selections:
            for start, end in windows:
                kw = {"match": match, "exclude": exclude, "start": start, "end": end}
                with CaptureQueriesContext(connection) as queries:
                    answer = (
                        source.quantity(meter, **kw),
                        source.fingerprint(meter, **{**kw, "match": match or {}}),
                    )
                assert not queries.captured_queries
                assert answer == (reference.quantity(meter, **kw), reference.fingerprint(meter, **kw))
                assert isinstance(answer[0], Decimal)
    assert prepared.misses == 0
    # A question that was not prepared is answered by SqlUsage's own query: slower, never different.
    other = {"match": {"model": "m2"}, "exclude": [], "start": windows[0][0], "end": windows[0][1]}
    source = prepared.source(customers[1])
    assert source.quantity(tokens, **other) == SqlUsage(customers[1], received_through=watermark).quantity(
        tokens, **other
    )
    assert prepared.misses == 1


@pytest.mark.django_db(transaction=True)
def test_a_batch_commits_entirely_or_not_at_all(catalog):
    """A worker killed in the middle of a batch: nothing of the batch was committed (its invoices,
    claims, audit events and items roll back together), so running again bills each item once."""
    contracts = _hybrid(6)
    run = _planned_run(date(2026, 4, 1))
    events_before = AuditEvent.objects.count()

    class Killed(BaseException):
        pass

    with mock.patch.object(runs, "job_advance", side_effect=Killed), pytest.raises(Killed):
        runs.billing_run_work(run_id=run.pk)  # dies after writing the invoices, before committing
    assert not Invoice.objects.exists() and not BillingClaim.objects.exists()
    assert AuditEvent.objects.count() == events_before
    assert set(BillingRunItem.objects.filter(run=run).values_list("status", flat=True)) == {"pending"}
    assert runs.billing_run_work(run_id=run.pk) == 12
    assert Invoice.objects.count() == 12
    for contract in contracts:
        assert sorted(Invoice.objects.filter(contract=contract).values_list("billing_date", flat=True)) == [
            date(2026, 3, 1),
            date(2026, 4, 1),
        ]
    assert BillingRun.objects.get(pk=run.pk).status == BillingRun.Status.COMPLETED
    assert audit_verify_chain().valid


@pytest.mark.django_db(transaction=True)
def test_a_database_error_in_a_batch_builds_its_items_one_at_a_time_and_parks_only_the_bad_one(catalog):
    good = [
        ContractFactory(
            lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}], start_date=date(2026, 3, 1)
        )
        for _ in range(3)
    ]
    bad = ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}], start_date=date(2026, 3, 1)
    )
    run = _planned_run(date(2026, 3, 1))
    real = build.write_drafts

    def conflict(drafts, **kwargs):
        real(drafts, **kwargs)  # the statements ran: the savepoint must undo them
        if any(d.invoice.contract_id == bad.pk for d in drafts):
            raise IntegrityError("duplicate key value violates unique constraint")

    with mock.patch.object(build, "write_drafts", side_effect=conflict):
        assert runs.billing_run_work(run_id=run.pk) == 4
    statuses = dict(BillingRunItem.objects.filter(run=run).values_list("contract_id", "status"))
    assert statuses == {**{c.pk: "done" for c in good}, bad.pk: "failed"}
    assert "IntegrityError: duplicate key" in BillingRunItem.objects.get(run=run, contract=bad).error
    assert not Invoice.objects.filter(contract=bad).exists()
    assert not BillingClaim.objects.filter(contract_line__contract=bad).exists()
    assert Invoice.objects.filter(contract__in=good).count() == 3
    assert AuditEvent.objects.filter(action="invoice.drafted").count() == 3
    assert audit_verify_chain().valid


@pytest.mark.django_db(transaction=True)
def test_a_pricing_error_parks_its_item_and_the_rest_of_the_batch_is_built(catalog):
    good = ContractFactory(
        lines=[{"key": "sub", "product": "platform", "plan": "hybrid"}], start_date=date(2026, 3, 1)
    )
    bad = ContractFactory(
        lines=[{"key": "sub", "product": "platform", "plan": "hybrid"}], start_date=date(2026, 3, 1)
    )
    run = _planned_run(date(2026, 3, 1))
    real = build._draft

    def explode(ctx, due, **kwargs):
        if due.contract.pk == bad.pk:
            raise ValueError("no price")
        return real(ctx, due, **kwargs)

    with mock.patch.object(build, "_draft", side_effect=explode):
        runs.billing_run_work(run_id=run.pk)
    assert BillingRunItem.objects.get(run=run, contract=bad).error == "ValueError: no price"
    assert BillingRunItem.objects.get(run=run, contract=good).status == "done"
    assert Invoice.objects.filter(contract=good).get().total == Decimal("100.00")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_claim_disjoint_batches(catalog, settings):
    for _ in range(6):
        ContractFactory(
            lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}], start_date=date(2026, 3, 1)
        )
    run = _planned_run(date(2026, 3, 1))
    claimed, holding, release = {}, threading.Event(), threading.Event()

    def other_worker():
        try:
            with transaction.atomic():
                claimed["other"] = [i.pk for i in runs._claim_batch(run, 4)]
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert holding.wait(30)
        with transaction.atomic():
            mine = [i.pk for i in runs._claim_batch(run, 4)]
    finally:
        release.set()
        thread.join(30)
    assert len(claimed["other"]) == 4 and len(mine) == 2
    assert not set(mine) & set(claimed["other"])
    # And whole batches work concurrently without waiting for each other's items.
    settings.BILLING_RUN_BATCH_SIZE = 2
    assert runs.billing_run_work(run_id=run.pk) == 6
    assert Invoice.objects.count() == 6


@pytest.mark.django_db
def test_invoices_build_takes_one_date_per_contract(catalog):
    contract = ContractFactory(lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}])
    with pytest.raises(ValueError, match="at most one billing date per contract"):
        invoices_build([(contract.pk, date(2026, 1, 1)), (contract.pk, date(2026, 2, 1))])


@pytest.mark.django_db(transaction=True)
def test_a_batch_tops_up_an_existing_draft_and_recomputes_its_coupon(catalog):
    """The rarer paths, inside batches: a draft that gets new items for its date (its discount is
    replaced by one on the new base) and a repeating coupon whose one period is used up."""
    from billing.contracts.models import ContractLine
    from billing.models import Coupon, CouponRedemption
    from revops.parties.models import Product

    contracts = [
        ContractFactory(
            lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}], start_date=date(2026, 3, 1)
        )
        for _ in range(3)
    ]
    coupon = Coupon.objects.create(
        code="ten", name="Ten", kind="percent", value=Decimal(10), duration="repeating", duration_periods=1
    )
    CouponRedemption.objects.create(coupon=coupon, contract=contracts[0], applied_from=date(2026, 3, 1))

    def work(as_of):
        run = _planned_run(as_of)
        runs.billing_run_work(run_id=run.pk)
        return run

    def lines(contract, on):
        invoice = Invoice.objects.get(contract=contract, billing_date=on)
        return [(ln.kind, ln.amount, ln.position) for ln in invoice.lines.all()], invoice

    work(date(2026, 3, 1))
    march, invoice = lines(contracts[0], date(2026, 3, 1))
    assert march == [("fee", Decimal("10.00"), 0), ("discount", Decimal("-1.00"), 1)]
    assert invoice.subtotal == Decimal("9.00")
    platform = Product.objects.get(code="platform")
    for contract in contracts[:2]:
        ContractLine.objects.create(
            contract=contract, key="extra", product=platform, unit_price=Decimal("20.00"), position=1
        )
    second = work(date(2026, 3, 1))
    assert dict(BillingRunItem.objects.filter(run=second).values_list("contract_id", "status")) == {
        contracts[0].pk: "done",
        contracts[1].pk: "done",
    }
    march, invoice = lines(contracts[0], date(2026, 3, 1))
    assert march == [
        ("fee", Decimal("10.00"), 0),
        ("fee", Decimal("20.00"), 2),
        ("discount", Decimal("-3.00"), 2),
    ]
    assert (invoice.subtotal, invoice.discount, invoice.total) == (
        Decimal("27.00"),
        Decimal("3.00"),
        Decimal("27.00"),
    )
    assert AuditEvent.objects.filter(action="invoice.topped_up", object_id=str(invoice.pk)).count() == 1
    assert lines(contracts[1], date(2026, 3, 1))[1].total == Decimal("30.00")
    work(date(2026, 4, 1))
    april, invoice = lines(contracts[0], date(2026, 4, 1))
    assert april == [
        ("fee", Decimal("10.00"), 0),
        ("fee", Decimal("20.00"), 1),
    ]  # the coupon's period is used
    assert invoice.total == Decimal("30.00")
    assert Invoice.objects.count() == 6 and audit_verify_chain().valid


@pytest.mark.django_db(transaction=True)
def test_invoices_build_runs_only_inside_a_transaction(catalog):
    from django.db.transaction import TransactionManagementError

    contract = ContractFactory(lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}])
    with pytest.raises(TransactionManagementError):
        invoices_build([(contract.pk, date(2026, 1, 1))])
    with transaction.atomic():
        assert invoices_build([]) == {}
        built = invoices_build([(contract.pk, date(2026, 1, 1))])
    assert built[(contract.pk, date(2026, 1, 1))].total == Decimal("10.00")
