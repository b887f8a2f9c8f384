"""Invoices post set-based (issue 15, finalization at scale): ``post_invoices`` writes the very entries
and lines that posting the same invoices one by one with ``post_invoice`` writes, and its statements
per batch do not grow with the number of invoices."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from billing.invoicing.build import invoice_build
from billing.invoicing.lifecycle import invoice_finalize
from billing.models import Invoice
from revrec.models import JournalEntry, JournalLine
from revrec.services import postings
from revrec.services.ledger import account
from revrec.services.periods import period_close
from revrec.services.postings import invoices as invoice_postings
from tests.billing.factories import ContractFactory
from tests.builders import approved_credit_grant, day, send_events
from tests.revops.factories import CustomerFactory
from tests.revrec.factories import PerformanceObligationFactory, RevenueScheduleFactory

pytestmark = pytest.mark.django_db


class _Rollback(Exception):
    pass


def _draft(contract, billing_date, now=datetime(2030, 1, 1, tzinfo=UTC)) -> Invoice:
    with transaction.atomic():
        return invoice_build(contract_id=contract.pk, billing_date=billing_date, now=now)


def _contract(name: str, lines, *, start=date(2026, 4, 1), currency="USD"):
    customer = CustomerFactory(external_id=name, name=name.title(), currency=currency)
    return ContractFactory(lines=lines, start_date=start, customer=customer, currency=currency)


def _varied_drafts() -> list[Invoice]:
    """Drafts of every kind the ledger splits differently: several lines, usage lines, prepaid credits
    drawn in part and in full (paid at zero), another currency, two invoices of one contract (the
    second sees the first), and an invoice dated in a closed period (a correction in the next one)."""
    plain = _contract("plain", [{"key": "svc", "product": "platform", "unit_price": "100.00"}])
    multi = _contract(
        "multi",
        [
            {"key": "svc", "product": "platform", "unit_price": "120.00"},
            {"key": "seats", "product": "seats", "unit_price": "35.50"},
        ],
    )
    usage = _contract("usage", [{"key": "tok", "product": "tokens", "plan": "tokens"}])
    tokens = {"model": "m1", "token_type": "input", "tokens": 7_000_000}
    send_events(
        usage.customer, [{"code": "llm_tokens", "timestamp": day(date(2026, 4, 9)), "properties": tokens}]
    )
    credited = _contract("credited", [{"key": "svc", "product": "platform", "unit_price": "80.00"}])
    approved_credit_grant(customer=credited.customer, amount="30.00", granted_on=date(2026, 4, 1))
    covered = _contract("covered", [{"key": "svc", "product": "platform", "unit_price": "40.00"}])
    approved_credit_grant(customer=covered.customer, amount="500.00", granted_on=date(2026, 4, 1))
    euro = _contract("euro", [{"key": "svc", "product": "platform", "unit_price": "70.00"}], currency="EUR")
    twice = _contract("twice", [{"key": "svc", "product": "platform", "unit_price": "60.00"}])
    # April's revenue recognized before anything is billed: the invoices of May draw the contract asset.
    RevenueScheduleFactory(obligation=PerformanceObligationFactory(contract=twice))
    assert postings.recognize_contract_period(contract=twice, period="2026-04") is not None
    drafts = [
        _draft(plain, date(2026, 4, 1)),  # dated in April, closed below: a correction in May
        _draft(multi, date(2026, 5, 1)),
        _draft(usage, date(2026, 5, 1)),
        _draft(credited, date(2026, 5, 1)),
        _draft(covered, date(2026, 5, 1)),
        _draft(euro, date(2026, 5, 1)),
        _draft(twice, date(2026, 5, 1)),
        _draft(twice, date(2026, 6, 1)),
    ]
    assert all(d is not None for d in drafts)
    assert drafts[2].lines.filter(kind="usage", amount__gt=0).exists(), list(
        drafts[2].lines.values_list("kind", "quantity", "amount", "description")
    )
    with transaction.atomic():
        period_close(key="2026-04")
    return drafts


def _finalize_unposted(drafts: list[Invoice]) -> list[Invoice]:
    """Finalize the drafts (numbers, credits, audit, outbox) with the ledger's posting held back."""
    out = []
    with mock.patch.object(invoice_postings, "post_invoices", return_value=mock.MagicMock()):
        for draft in drafts:
            out.append(invoice_finalize(invoice=draft, issue_date=draft.billing_date))
    return out


def _ledger() -> list[tuple]:
    """Every entry with its lines, field by field. Row ids are named by what they stand for (an
    account by its code, a contract and an obligation's contract by order of appearance, an obligation by its key, a product by its
    code, a source by its order of appearance), so two books built alike compare equal on PostgreSQL
    too, where the sequences of a rolled-back book are not given back."""
    ordinal: dict[tuple, int] = {}

    def source(kind: str, pk) -> str:
        return f"{kind}#{ordinal.setdefault((kind, str(pk)), len(ordinal))}"

    rows = []
    for entry in JournalEntry.objects.select_related("contract").order_by("id"):
        lines = list(
            JournalLine.objects.filter(entry=entry)
            .order_by("id")
            .values_list(
                "account__code",
                "debit",
                "credit",
                "contract__number",
                "obligation__contract__number",
                "obligation__key",
                "product__code",
                "memo",
            )
        )
        lines = [
            (ln[0], ln[1], ln[2], source("contract", ln[3]), source("contract", ln[4]), *ln[5:])
            for ln in lines
        ]
        kind, _, pk = entry.source_key.partition(":")
        rows.append(
            (
                kind if not pk.isdigit() else source(kind, pk),
                entry.date,
                entry.business_date,
                entry.period,
                entry.correction_for_period,
                entry.source,
                entry.source_type,
                source(entry.source_type, entry.source_id),
                entry.memo.replace(entry.contract.number, "") if entry.contract else entry.memo,
                entry.currency,
                source("contract", entry.contract.number if entry.contract else None),
                entry.reverses_id is not None,
                lines,
            )
        )
    return rows


def _posted(post) -> list[tuple]:
    """The ledger after finalizing the varied drafts and posting them with ``post``; rolled back."""
    result = []
    try:
        with transaction.atomic():
            invoices = _finalize_unposted(_varied_drafts())
            before = JournalEntry.objects.count()
            post(invoices)
            result = _ledger()
            assert len(result) > before
            raise _Rollback
    except _Rollback:
        pass
    return result


def test_post_invoices_writes_the_same_entries_and_lines_as_posting_one_by_one(catalog):
    one_by_one = _posted(lambda invoices: [postings.post_invoice(inv) for inv in invoices])
    batched = _posted(postings.post_invoices)
    assert batched == one_by_one
    invoices = [row for row in batched if row[5] == "invoice"]
    assert len(invoices) == 8
    # The scenario covers what it claims: a closed period's correction, credits drawn, another currency,
    # a usage line, a two-line invoice.
    assert any(row[4] == "2026-04" and row[3] == "2026-05" for row in invoices)
    assert {row[9] for row in invoices} == {"USD", "EUR"}
    assert any(any(ln[7] == "Prepaid credits applied" for ln in row[12]) for row in invoices)
    assert max(len(row[12]) for row in invoices) >= 3
    unbilled = account("unbilled").code
    assert any(any(ln[0] == unbilled and ln[2] > 0 for ln in row[12]) for row in invoices)
    for row in invoices:
        debit = sum((ln[1] for ln in row[12]), Decimal(0))
        assert debit == sum((ln[2] for ln in row[12]), Decimal(0)) and debit > 0


def test_post_invoices_posts_nothing_twice(catalog):
    invoices = _finalize_unposted(_varied_drafts()[1:3])
    first = postings.post_invoices(invoices)
    assert all(entry is not None for entry in first.values())
    count = JournalEntry.objects.count()
    assert postings.post_invoices(invoices) == dict.fromkeys(first)
    assert JournalEntry.objects.count() == count


def _simple_drafts(n: int, prefix: str) -> list[Invoice]:
    out = []
    for i in range(n):
        contract = _contract(f"{prefix}-{i}", [{"key": "svc", "product": "platform", "unit_price": "10.00"}])
        out.append(_draft(contract, date(2026, 5, 1)))
    return _finalize_unposted(out)


def test_statements_per_batch_do_not_grow_with_its_invoices(catalog):
    few, many = _simple_drafts(2, "few"), _simple_drafts(12, "many")
    with CaptureQueriesContext(connection) as small:
        postings.post_invoices(few)
    with CaptureQueriesContext(connection) as large:
        postings.post_invoices(many)
    assert JournalEntry.objects.filter(source="invoice").count() == 14
    assert len(large.captured_queries) <= len(small.captured_queries) + 2, [
        q["sql"][:120] for q in large.captured_queries
    ]
    assert len(large.captured_queries) <= 25
