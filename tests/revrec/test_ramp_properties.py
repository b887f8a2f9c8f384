"""Property (issue 17 §5, accounting.md §5a): for any ramp — one to four steps at any dates in a term of
3 to 36 months, unit prices or per-period amounts, any quantity, calendar or anniversary billing — of a
ratable line:

* what billing invoices over the term (every due period, each period cut at the steps and prorated by
  days) == the contract's transaction price == the obligation's allocation == Σ its schedule, so the
  total recognized over the term == the total billed;
* recognition is straight-line: the schedule's cumulative amount at every month end is the allocation ×
  days elapsed ÷ days of the term, rounded once (§5) — whatever the steps bill;
* the ramp's step values (the side-by-side report's billing column) are exactly the invoice lines of
  each step's days.

Driven through the services (contract_create, the billing engine's line rating, obligations_create and
the schedule the approval would post), one savepoint per example."""

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.contracts.services import contract_create
from billing.contracts.terms import line_terms
from billing.contracts.value import ramp_step_values
from billing.invoicing.build.line_rating import lines_for_item
from billing.models import Invoice
from billing.periods import add_months
from billing.schedule import due_items
from revrec.services.obligations import obligations_create
from revrec.services.schedules import schedule_lines_for
from tests.revops.factories import CustomerFactory

pytestmark = pytest.mark.django_db

CENT = Decimal("0.01")
PRICE = st.integers(min_value=1, max_value=2_000_000).map(lambda n: Decimal(n) / 100)


@st.composite
def ramp_deals(draw):
    start = date(2026, draw(st.integers(1, 12)), draw(st.integers(1, 28)))
    end = add_months(start, draw(st.integers(min_value=3, max_value=36)))
    days = (end - start).days
    offsets = sorted(set(draw(st.lists(st.integers(1, days - 1), min_size=0, max_size=3))))
    steps = []
    for day in [start, *(start + timedelta(days=o) for o in offsets)]:
        price = draw(PRICE)
        if draw(st.booleans()):
            steps.append({"from": day.isoformat(), "unit_price": str(price)})
        else:
            steps.append({"from": day.isoformat(), "amount": str(price)})
    return {
        "start": start,
        "end": end,
        "anchor": draw(st.sampled_from(["calendar", "anniversary"])),
        "quantity": draw(st.integers(min_value=1, max_value=7)),
        "steps": steps,
    }


@pytest.fixture
def acme(catalog):
    return CustomerFactory(external_id="acme")


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(deal=ramp_deals())
def test_a_ratable_ramp_recognizes_straight_line_what_it_bills_over_the_term(acme, deal):
    with transaction.atomic():
        contract = contract_create(
            customer="acme",
            currency="USD",
            start_date=deal["start"],
            end_date=deal["end"],
            billing_anchor=deal["anchor"],
            lines=[
                {
                    "key": "svc",
                    "product": "platform",
                    "quantity": str(deal["quantity"]),
                    "ramp": deal["steps"],
                }
            ],
        )
        line = contract.lines.select_related("product").get()
        invoice = Invoice(contract=contract, customer=contract.customer, currency="USD")
        billed = []
        for item in due_items(
            [line_terms(line, contract)],
            grid_start=contract.start_date,
            anchor=deal["anchor"],
            as_of=deal["end"],
        ):
            billed += lines_for_item(
                invoice=invoice,
                contract=contract,
                line=line,
                item=item,
                watermark=datetime(2040, 1, 1, tzinfo=UTC),
                position=0,
            )
        total_billed = sum((ln.amount for ln in billed), Decimal(0))
        assert total_billed == contract.transaction_price

        # The report's billing column: each step's value is the invoice lines of its days.
        for _step, lo, hi, value in ramp_step_values(line, contract):
            assert value == sum((ln.amount for ln in billed if lo <= ln.service_start < hi), Decimal(0))
            assert all(ln.service_end <= hi for ln in billed if lo <= ln.service_start < hi)

        (po,) = obligations_create(contract=contract)
        assert po.allocated_amount == total_billed and po.recognition == "ratable_daily"
        schedule = schedule_lines_for(po)
        assert sum((ln.amount for ln in schedule), Decimal(0)) == total_billed  # recognized == billed

        days = (deal["end"] - deal["start"]).days
        cumulative = Decimal(0)
        for ln in schedule:
            cumulative += ln.amount
            elapsed = (ln.end - deal["start"]).days
            straight = (po.allocated_amount * elapsed / days).quantize(CENT, rounding=ROUND_HALF_UP)
            assert cumulative == straight, (ln.period, cumulative, straight)
        transaction.set_rollback(True)
