"""A revenue-run batch recognized before postings already dated later (invoices of the next month
posted first, as in a month end that finalizes before its revenue run) nets each obligation's contract
asset and liability set-based (``net_out_of_order_many``): the same correction entries and lines as
``net_out_of_order`` one contract at a time, with statements that do not grow with the contracts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from revrec.models import JournalEntry, PerformanceObligation, RevenueSchedule
from revrec.services.ledger import Draft, account, journal_entry_post
from revrec.services.postings import net_out_of_order, recognize_contracts_period
from revrec.services.postings import recognition as recognition_module
from tests.billing.factories import ContractFactory, ContractLineFactory
from tests.revrec.factories import RevenueScheduleFactory

pytestmark = pytest.mark.django_db

LATER = date(2026, 3, 5)  # after February's revenue is dated (its last day)


@pytest.fixture
def book(catalog):
    """Six one-year contracts (100.00 and 150.00 a month) with approved schedules and, for each, an
    invoice-like deferred credit posted on 5 March before February's revenue run."""
    contracts = [
        ContractFactory(
            lines=[ContractLineFactory(key="svc", unit_price="100.00" if i % 2 else "150.00")],
            start_date=date(2026, 1, 1),
        )
        for i in range(6)
    ]
    for schedule in RevenueSchedule.objects.filter(status="pending_approval"):
        RevenueScheduleFactory(obligation=schedule.obligation)
    for contract in contracts:
        po = PerformanceObligation.objects.get(contract=contract)
        draft = Draft()
        kw = {"contract": contract, "obligation": po, "product": po.product}
        draft.dr(account("ar"), Decimal("120.00"), **kw)
        draft.cr(account("deferred"), Decimal("120.00"), **kw)
        journal_entry_post(
            draft=draft,
            day=LATER,
            source=JournalEntry.Source.INVOICE,
            source_type="test",
            source_id=contract.pk,
            source_key=f"later:{contract.pk}",
            memo="Posted before the run",
            currency=contract.currency,
            contract=contract,
        )
    return contracts


def _nettings() -> list[tuple]:
    """The correction entries by what they stand for (ids differ between runs on PostgreSQL)."""
    out = []
    for entry in JournalEntry.objects.filter(source=JournalEntry.Source.CORRECTION).select_related(
        "contract"
    ):
        lines = sorted(
            (ln.account.role, ln.obligation.key, ln.product.code, ln.debit, ln.credit, ln.memo)
            for ln in entry.lines.select_related("account", "obligation", "product")
        )
        netted = JournalEntry.objects.get(pk=int(entry.source_id))
        out.append(
            (
                entry.contract.number,
                entry.date,
                entry.business_date,
                entry.period,
                entry.correction_for_period,
                entry.source_type,
                entry.source_key == f"net:{netted.pk}",
                netted.source,
                entry.memo,
                entry.currency,
                tuple(lines),
            )
        )
    return sorted(out)


class _Undo(Exception):
    pass


def _recognized(contracts) -> list[tuple]:
    """February's revenue of the contracts in one batch; the nettings it wrote; rolled back."""
    try:
        with transaction.atomic():
            entries = recognize_contracts_period(contract_ids=[c.pk for c in contracts], period="2026-02")
            assert all(entries.values())
            found = _nettings()
            raise _Undo
    except _Undo:
        pass
    return found


def test_a_batch_nets_as_each_contract_alone_would(book, monkeypatch):
    together = _recognized(book)
    assert len(together) == len(book)  # every contract's asset and liability netted on 5 March
    assert {row[1] for row in together} == {LATER}
    monkeypatch.setattr(
        recognition_module,
        "net_out_of_order_many",
        lambda pairs: [net_out_of_order(entry, obligations) for entry, obligations in pairs],
    )
    assert _recognized(book) == together


@pytest.mark.postgres  # elsewhere the schedule lines are marked with one UPDATE per entry
def test_netting_statements_do_not_grow_with_the_contracts(book):
    def statements(contracts) -> int:
        try:
            with transaction.atomic(), CaptureQueriesContext(connection) as queries:
                recognize_contracts_period(contract_ids=[c.pk for c in contracts], period="2026-02")
                assert JournalEntry.objects.filter(source=JournalEntry.Source.CORRECTION).count() == len(
                    contracts
                )
                raise _Undo
        except _Undo:
            pass
        return len(queries)

    assert statements(book) == statements(book[:1])


@pytest.mark.postgres
def test_an_obligations_balance_is_read_through_its_index_not_the_whole_account(book):
    """At 100,000 contracts each revenue-run batch read every line of the deferred account (336,000
    rows, 280 ms) to find its 200 obligations' balances: the query joined the account table and the
    planner walked the account's index. The balances are now found by (obligation, account)."""
    from revrec.services.ledger import balances_by_obligation

    ids = list(PerformanceObligation.objects.values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as queries:
        balances = balances_by_obligation("deferred", ids)
    assert balances and all(value != 0 for value in balances.values())
    sql = next(q["sql"] for q in queries.captured_queries if "revrec_journalline" in q["sql"])
    assert "revrec_account" not in sql and '"account_id" IN' not in sql  # no account predicate to walk
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE revrec_journalline")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "journalline_obligation_id" in plan and "journalline_account_id" not in plan, plan
