"""The revenue factories are the revenue side's answers to billing facts: an approved SSP, the
obligation and schedule of an activated contract, the journal entries of an invoice and of a run."""

from datetime import date
from decimal import Decimal

import pytest

from revrec.models import JournalEntry
from tests.billing.factories import ContractFactory, ContractLineFactory, InvoiceFactory
from tests.revrec.factories import (
    JournalEntryFactory,
    PerformanceObligationFactory,
    RevenueScheduleFactory,
    SSPEntryFactory,
)

pytestmark = pytest.mark.django_db


def _balanced(entry: JournalEntry) -> bool:
    lines = list(entry.lines.all())
    return bool(lines) and sum(ln.debit for ln in lines) == sum(ln.credit for ln in lines)


def test_an_ssp_entry_is_approved_by_a_second_person():
    assert SSPEntryFactory(ssp="120.00").status == "approved"
    assert SSPEntryFactory(approved=False, effective_from=date(2026, 1, 1)).status == "pending_approval"


def test_activation_makes_the_obligation_and_its_schedule():
    contract = ContractFactory(lines=[ContractLineFactory(key="svc", unit_price="100.00")])
    obligation = PerformanceObligationFactory(contract=contract)
    assert obligation.key == "svc" and obligation.allocated_amount == Decimal("1200.00")
    assert RevenueScheduleFactory(obligation=obligation, approved=False).status == "pending_approval"
    assert RevenueScheduleFactory(obligation=obligation).status == "approved"


def test_journal_entries_of_a_finalized_invoice_and_of_a_revenue_run():
    invoice = InvoiceFactory(finalized=True)
    entry = JournalEntryFactory(invoice=invoice)
    assert entry.source == "invoice" and entry.contract == invoice.contract and _balanced(entry)
    recognized = JournalEntryFactory(invoice=invoice, period="2026-01")
    assert recognized.source == "recognition" and recognized.period == "2026-01" and _balanced(recognized)
