"""Invoices built from contracts and usage (issue 5): proration, claims, usage lines, late usage."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import transaction

from billing.invoicing.build import invoice_build, invoice_refresh_draft
from billing.models import BillingClaim, Invoice, InvoiceLine
from tests.billing.factories import ContractFactory
from tests.builders import NOW, amend_approved, day, send_events
from tests.revops.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def build(contract, on: date, now=NOW):
    with transaction.atomic():
        return invoice_build(contract_id=contract.pk, billing_date=on, now=now)


def test_golden_50_per_month_from_10_august_is_35_48(catalog):
    # accounting.md §3: 50.00 per month from 10 August (calendar billing) -> 50 x 22/31 = 35.48.
    contract = ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "50.00", "billing": "recurring"}],
        start_date=date(2026, 8, 10),
        end_date=date(2027, 8, 10),
    )
    invoice = build(contract, date(2026, 8, 10))
    [line] = invoice.lines.all()
    assert line.amount == Decimal("35.48")
    assert (line.service_start, line.service_end) == (date(2026, 8, 10), date(2026, 9, 1))
    assert invoice.total == Decimal("35.48")
    second = build(contract, date(2026, 9, 1))
    assert second.lines.get().amount == Decimal("50.00")


def test_golden_upgrade_halfway_nets_plus_5(catalog):
    # An upgrade from 10.00 to 20.00 per month exactly halfway through April (30 days): credit the
    # unused half of the old price (-5.00) and charge the remaining half of the new one (+10.00).
    contract = ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}],
        start_date=date(2026, 4, 1),
        end_date=date(2027, 4, 1),
    )
    assert build(contract, date(2026, 4, 1)).total == Decimal("10.00")
    with transaction.atomic():
        amend_approved(
            contract=contract,
            effective_date=date(2026, 4, 16),
            changes=[{"line": "svc", "unit_price": "20.00"}],
        )
    invoice = build(contract, date(2026, 4, 16))
    amounts = sorted(line.amount for line in invoice.lines.all())
    assert amounts == [Decimal("-5.00"), Decimal("10.00")]
    assert invoice.subtotal == Decimal("5.00")
    may = build(contract, date(2026, 5, 1))
    assert may.lines.get().amount == Decimal("20.00")


def test_downgrade_mid_period_nets_a_credit(catalog):
    contract = ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "20.00"}],
        start_date=date(2026, 4, 1),
        end_date=date(2027, 4, 1),
    )
    build(contract, date(2026, 4, 1))
    with transaction.atomic():
        amend_approved(
            contract=contract,
            effective_date=date(2026, 4, 16),
            changes=[{"line": "svc", "unit_price": "10.00"}],
        )
    assert build(contract, date(2026, 4, 16)).subtotal == Decimal("-5.00")


def test_building_twice_creates_one_invoice_and_one_claim_per_period(catalog):
    contract = ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "50.00"}], start_date=date(2026, 3, 1)
    )
    first = build(contract, date(2026, 3, 1))
    again = build(contract, date(2026, 3, 1))
    assert again is None or again.pk == first.pk
    assert Invoice.objects.filter(contract=contract).count() == 1
    assert BillingClaim.objects.filter(contract_line__contract=contract).count() == 1
    assert first.lines.count() == 1


def test_claim_uniqueness_is_enforced_by_the_database(catalog):
    from django.db import IntegrityError

    contract = ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "50.00"}], start_date=date(2026, 3, 1)
    )
    invoice = build(contract, date(2026, 3, 1))
    claim = BillingClaim.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        BillingClaim.objects.create(
            contract_line=claim.contract_line,
            period_start=claim.period_start,
            period_end=claim.period_end,
            kind=claim.kind,
            invoice=invoice,
        )


def test_hybrid_plan_bills_fee_in_advance_and_usage_in_arrears(catalog):
    contract = ContractFactory(
        lines=[{"key": "sub", "product": "platform", "plan": "hybrid"}], start_date=date(2026, 3, 1)
    )
    customer = contract.customer
    send_events(
        customer,
        [{"code": "api_calls", "timestamp": day(date(2026, 3, 5)), "properties": {"endpoint": "/v1/x"}}] * 1
        + [
            {
                "code": "api_calls",
                "timestamp": day(date(2026, 3, d)),
                "properties": {"endpoint": "/v1/y"},
                "transaction_id": f"t-{d}-{i}",
            }
            for d in range(1, 29)
            for i in range(50)
        ],
        received_at=datetime(2026, 4, 1, tzinfo=UTC),
    )
    march = build(contract, date(2026, 3, 1))
    assert [(ln.kind, ln.amount) for ln in march.lines.all()] == [("fee", Decimal("100.00"))]
    april = build(contract, date(2026, 4, 1))
    kinds = {ln.kind: ln for ln in april.lines.all()}
    usage = kinds["usage"]
    assert usage.quantity == Decimal(1401) and usage.amount == Decimal("4.01")  # 401 paid calls x 0.01
    assert usage.event_count == 1401 and len(usage.event_hash) == 64
    assert (usage.service_start, usage.service_end) == (date(2026, 3, 1), date(2026, 4, 1))
    assert kinds["fee"].service_start == date(2026, 4, 1)
    assert usage.breakdown and usage.price_version.number == 1


def test_token_plan_one_line_per_dimension_and_minimum_true_up(catalog):
    contract = ContractFactory(
        lines=[{"key": "ai", "product": "tokens", "plan": "tokens", "billing": "usage"}],
        start_date=date(2026, 3, 1),
    )
    send_events(
        contract.customer,
        [
            {
                "code": "llm_tokens",
                "timestamp": day(date(2026, 3, 2)),
                "properties": {"model": "m1", "token_type": "input", "tokens": 1_000_000},
            },
            {
                "code": "llm_tokens",
                "timestamp": day(date(2026, 3, 2), 13),
                "properties": {"model": "m1", "token_type": "output", "tokens": 500_000},
            },
        ],
        received_at=datetime(2026, 4, 1, tzinfo=UTC),
    )
    invoice = build(contract, date(2026, 4, 1))
    lines = {(ln.kind, tuple(sorted(ln.dimension.items()))): ln.amount for ln in invoice.lines.all()}
    assert lines[("usage", (("model", "m1"), ("token_type", "input")))] == Decimal("2.00")
    assert lines[("usage", (("model", "m1"), ("token_type", "output")))] == Decimal("5.00")
    assert lines[("true_up", ())] == Decimal("43.00")  # minimum 50.00 - 7.00 rated
    assert invoice.subtotal == Decimal("50.00")


def test_tax_is_exclusive_and_rounded_once(catalog):
    customer = CustomerFactory(tax_rate=Decimal("8.875"))
    contract = ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "99.99"}],
        start_date=date(2026, 3, 1),
        customer=customer,
    )
    invoice = build(contract, date(2026, 3, 1))
    assert invoice.tax == Decimal("8.87")  # 99.99 x 8.875% = 8.8741...
    assert invoice.total == Decimal("108.86")


def test_one_time_line_billed_once_on_its_start(catalog):
    contract = ContractFactory(
        lines=[{"key": "setup", "product": "onboarding", "amount": "1500.00", "billing": "one_time"}],
        start_date=date(2026, 3, 1),
    )
    assert build(contract, date(2026, 3, 1)).lines.get().amount == Decimal("1500.00")
    assert build(contract, date(2026, 4, 1)) is None


def test_late_usage_refreshes_a_draft(catalog):
    contract = ContractFactory(
        lines=[{"key": "sub", "product": "platform", "plan": "hybrid", "billing": "usage"}],
        start_date=date(2026, 3, 1),
    )
    send_events(
        contract.customer,
        [
            {"code": "api_calls", "timestamp": day(date(2026, 3, 3)), "transaction_id": f"a{i}"}
            for i in range(1100)
        ],
        received_at=datetime(2026, 3, 31, tzinfo=UTC),
    )
    invoice = build(contract, date(2026, 4, 1), now=datetime(2026, 4, 1, 6, tzinfo=UTC))
    assert invoice.lines.get(kind="usage").amount == Decimal("1.00")
    send_events(
        contract.customer,
        [
            {"code": "api_calls", "timestamp": day(date(2026, 3, 30)), "transaction_id": f"b{i}"}
            for i in range(100)
        ],
        received_at=datetime(2026, 4, 2, tzinfo=UTC),
    )
    refreshed = invoice_refresh_draft(invoice=invoice, now=datetime(2026, 4, 3, tzinfo=UTC))
    usage = refreshed.lines.get(kind="usage")
    assert usage.amount == Decimal("2.00") and usage.event_count == 1200


def test_usage_in_customer_time_zone(catalog):
    customer = CustomerFactory(timezone="Asia/Tokyo")
    contract = ContractFactory(
        lines=[{"key": "sub", "product": "api", "plan": "hybrid", "billing": "usage"}],
        start_date=date(2026, 3, 1),
        customer=customer,
    )
    # 2026-03-31T16:30Z is 1 April 01:30 in Tokyo: April's usage.
    send_events(
        customer,
        [
            {"code": "api_calls", "timestamp": "2026-03-31T16:30:00+00:00", "transaction_id": f"tz{i}"}
            for i in range(1500)
        ],
        received_at=datetime(2026, 5, 2, tzinfo=UTC),
    )
    march = build(contract, date(2026, 4, 1))
    assert march.lines.get(kind="usage").quantity == 0
    april = build(contract, date(2026, 5, 1))
    assert april.lines.get(kind="usage").quantity == 1500


def test_invoice_line_explains_itself(catalog):
    contract = ContractFactory(
        lines=[{"key": "sub", "product": "platform", "plan": "hybrid", "billing": "usage"}],
        start_date=date(2026, 3, 1),
    )
    send_events(
        contract.customer,
        [
            {"code": "api_calls", "timestamp": day(date(2026, 3, 3)), "transaction_id": f"e{i}"}
            for i in range(3)
        ],
        received_at=datetime(2026, 3, 31, tzinfo=UTC),
    )
    line = build(contract, date(2026, 4, 1)).lines.get(kind="usage")
    import hashlib

    expected = hashlib.sha256("\n".join(sorted(["e0", "e1", "e2"])).encode()).hexdigest()
    assert line.event_count == 3 and line.event_hash == expected
    assert line.received_through is not None and line.meter.code == "api_calls"
    assert InvoiceLine.objects.filter(pk=line.pk, price_version__plan__code="hybrid").exists()
