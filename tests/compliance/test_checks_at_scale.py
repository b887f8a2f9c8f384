"""Checks at scale (issue 15 §4): a check's statements do not grow with the number of contracts, nor
with the number of its findings, and a run marks the exceptions it finds again (or finds waived) in
bulk rather than looking each one up.

The book is told for 5 contracts, every contract is then broken in every way a check detects (inside
a savepoint that is rolled back), and the statements each check runs are counted; the book then grows
to 50 contracts, is broken the same way, and no check may run more statements than it did for 5."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from compliance.checks import CHECKS
from compliance.models import ComplianceException
from compliance.services.exceptions import compliance_run
from tests.builders import day

pytestmark = pytest.mark.django_db


def _grow(s, first: int, last: int) -> None:
    """Contracts ``first``..``last - 1`` (one customer each) with the clean book's lines and a little
    usage, billed for January and February, finalized, and January recognized."""
    for i in range(first, last):
        ref = f"scale-{i:03d}"
        s.customer(ref, name=f"Scale {i}", tax_rate="10").contract(
            "2026-01-01",
            "2027-01-01",
            [
                {"key": "platform", "product": "platform", "plan": "hybrid"},
                {"key": "setup", "product": "onboarding", "amount": "1200.00", "billing": "one_time"},
            ],
            approved_by="approver",
        )
        s.usage(
            [
                {"code": "api_calls", "timestamp": day(date(2026, 1, 10)), "transaction_id": f"{ref}-{n}"}
                for n in range(3)
            ],
            received_at=datetime(2026, 2, 1, tzinfo=UTC),
        )
    s.bill("2026-01-01", "2026-02-01").finalize()
    s.recognize("2026-01")


def _break_everything() -> None:
    """Every contract broken in each way a check detects (so every check has findings on every
    contract: a statement per finding would show as a count that grows)."""
    from billing.contracts.models import Contract, ContractLine
    from billing.models import CreditGrant, Invoice, InvoiceLine
    from revops.core.audit.models import AuditEvent
    from revops.parties.models import Customer, Product
    from revrec.models import JournalLine, PerformanceObligation, RevenueSchedule, ScheduleLine, SSPEntry
    from revrec.services.periods import period_close

    period_close(key="2026-01")  # then changed below: the ledger no longer matches its close
    ScheduleLine.objects.filter(schedule__status="approved").update(amount=F("amount") + Decimal("0.01"))
    JournalLine.objects.filter(debit__gt=0).update(debit=F("debit") + 1)
    Invoice.objects.filter(status__in=["finalized", "paid"]).update(
        subtotal=F("subtotal") + 5,
        tax=F("tax") + 1,
        pdf_path="",
        pdf_sha256="",
        finalized_at=timezone.now() - timedelta(hours=1),
    )
    usage = list(InvoiceLine.objects.filter(kind="usage", meter__isnull=False))
    for line in usage:
        InvoiceLine.objects.filter(pk=line.pk).update(usage_end=line.usage_end + timedelta(days=2))
        line.pk = None  # the same window billed again
    InvoiceLine.objects.bulk_create(usage)
    first = Invoice.objects.filter(sequence__isnull=False).order_by("sequence").first()
    Invoice.objects.filter(pk=first.pk).update(sequence=9999, number="INV-009999")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE compliance_auditevent SET action = 'tampered' WHERE id = %s",
            [AuditEvent.objects.order_by("seq")[5].pk],
        )
    ContractLine.objects.filter(key="platform").update(unit_price=Decimal("50.00"))
    Contract.objects.update(transaction_price=Decimal("10.00"))
    SSPEntry.objects.create(
        product=Product.objects.get(code="platform"),
        currency="USD",
        version=1,
        effective_from=date(2025, 1, 1),
        ssp=Decimal("1500.00"),
        method="observable",
        status="approved",
    )
    CreditGrant.objects.create(
        customer=Customer.objects.order_by("id").first(),
        currency="USD",
        amount=Decimal("5.00"),
        granted_on=date(2026, 1, 1),
    )
    RevenueSchedule.objects.filter(obligation__key="setup", lines__posted_entry__isnull=False).update(
        status="rejected"
    )
    # Every other contract's obligations moved to the first: those are invoiced without obligations,
    # the others' lines map to none.
    contracts = list(Contract.objects.order_by("id").values_list("id", flat=True))
    PerformanceObligation.lines.through.objects.all().delete()
    PerformanceObligation.objects.filter(contract_id__in=contracts[1::2]).update(
        contract_id=contracts[0], contract_version=F("id") + 1000
    )
    PerformanceObligation.objects.filter(key="platform").update(allocated_amount=Decimal("1.00"))


def _statements(fn) -> tuple[int, int]:
    """(statements run, findings) of calling ``fn``."""
    with CaptureQueriesContext(connection) as queries:
        found = fn()
    return len(queries), len(found)


def _broken_counts() -> dict[str, tuple[int, int]]:
    with transaction.atomic():
        _break_everything()
        counts = {code: _statements(check.run) for code, check in CHECKS.items()}
        transaction.set_rollback(True)
    return counts


def _rerun_counts() -> tuple[int, int, int]:
    """Statements of a run finding again what the previous run opened, of one finding it all waived
    as it is, and how many findings that was."""
    with transaction.atomic():
        _break_everything()
        first = compliance_run(trigger="test")
        with CaptureQueriesContext(connection) as again:
            compliance_run(trigger="test")
        ComplianceException.objects.filter(status="open").update(status="waived")
        with CaptureQueriesContext(connection) as waived:
            compliance_run(trigger="test")
        assert not ComplianceException.objects.filter(status="open").exists()
        findings = sum(r["findings"] for r in first.results.values())
        transaction.set_rollback(True)
    return len(again), len(waived), findings


def test_check_statements_do_not_grow_with_contracts_or_findings(catalog, scenario):
    _grow(scenario, 0, 5)
    small = _broken_counts()
    small_again, small_waived, small_findings = _rerun_counts()
    _grow(scenario, 5, 50)
    large = _broken_counts()
    large_again, large_waived, large_findings = _rerun_counts()

    # Every check found something in both books, and more for more contracts where it is per record.
    assert all(found for _, found in small.values()), small
    assert large["allocation_equals_price"][1] > small["allocation_equals_price"][1]
    assert large_findings > 5 * small_findings
    grew = {code: (small[code][0], large[code][0]) for code in CHECKS if large[code][0] > small[code][0]}
    assert grew == {}, f"statements grew with the contracts (5 → 50): {grew}"
    assert large_again <= small_again, (small_again, large_again)
    assert large_waived <= small_waived, (small_waived, large_waived)
