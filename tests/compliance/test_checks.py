"""Every check plants the fault it detects and sees the exception appear (issue 7 acceptance)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from billing.models import Invoice, InvoiceLine
from compliance.checks import CHECKS, ORDER
from compliance.models import ComplianceException
from compliance.services.exceptions import compliance_run
from revops.core.audit.models import AuditEvent
from revrec.models import JournalEntry, JournalLine, PerformanceObligation, RevenueSchedule, ScheduleLine

pytestmark = pytest.mark.django_db


def test_the_clean_book_passes_every_check(book):
    run = compliance_run(trigger="test")
    failing = {code: r for code, r in run.results.items() if r["status"] == "fail"}
    assert failing == {}, [(x.check_code, x.explanation) for x in ComplianceException.objects.all()]
    assert set(run.results) == set(CHECKS)


def _po():
    return PerformanceObligation.objects.filter(variable=False, key="platform").get()


def plant_allocation():
    po = _po()
    PerformanceObligation.objects.filter(pk=po.pk).update(allocated_amount=po.allocated_amount + 1)


def plant_schedule():
    line = ScheduleLine.objects.filter(schedule__status="approved").order_by("-period").first()
    ScheduleLine.objects.filter(pk=line.pk).update(amount=line.amount + Decimal("0.01"))


def plant_unbalanced_entry():
    line = JournalLine.objects.filter(debit__gt=0).first()
    JournalLine.objects.filter(pk=line.pk).update(debit=line.debit + 1)


def plant_rollforward():
    invoice = Invoice.objects.filter(status__in=["finalized", "paid"]).first()
    Invoice.objects.filter(pk=invoice.pk).update(subtotal=invoice.subtotal + 5)


def plant_over_recognition():
    po = _po()
    PerformanceObligation.objects.filter(pk=po.pk).update(allocated_amount=Decimal("1.00"))


def plant_invoice_total():
    invoice = Invoice.objects.filter(status__in=["finalized", "paid"]).first()
    Invoice.objects.filter(pk=invoice.pk).update(total=invoice.total + 1)


def plant_number_gap():
    invoice = Invoice.objects.filter(sequence__isnull=False).order_by("sequence").first()
    Invoice.objects.filter(pk=invoice.pk).update(sequence=99, number="INV-000099")


def plant_missing_document():
    from django.utils import timezone

    invoice = Invoice.objects.filter(status__in=["finalized", "paid"]).first()
    Invoice.objects.filter(pk=invoice.pk).update(
        pdf_path="", pdf_sha256="", finalized_at=timezone.now() - timedelta(hours=1)
    )


def plant_double_usage():
    lines = list(InvoiceLine.objects.filter(kind="usage", meter__isnull=False).order_by("usage_start"))
    later = lines[1]
    InvoiceLine.objects.filter(pk=later.pk).update(usage_start=later.usage_start - timedelta(days=3))


def plant_post_into_closed():
    from revrec.services.periods import period_close

    period_close(key="2026-01")
    entry = JournalEntry.objects.filter(period="2026-02").first()
    with connection.cursor() as cursor:  # bypass the posting service, as a rogue script would
        cursor.execute(
            "UPDATE revrec_journalentry SET period = %s, created_at = %s WHERE id = %s",
            ["2026-01", entry.created_at + timedelta(days=365), entry.pk],
        )


def plant_unmapped_line():
    PerformanceObligation.lines.through.objects.all().delete()


def plant_credit_grant_without_posting():
    """A grant written straight to the table: granted, but never posted as a liability."""
    from billing.models import CreditGrant
    from revops.parties.models import Customer

    CreditGrant.objects.create(
        customer=Customer.objects.get(external_id="book"),
        currency="USD",
        amount=Decimal("5.00"),
        granted_on=date(2026, 1, 1),
    )


def plant_billed_over_value():
    from billing.contracts.models import Contract

    Contract.objects.update(transaction_price=Decimal("10.00"))


def plant_usage_outside_period():
    line = InvoiceLine.objects.filter(kind="usage", meter__isnull=False).first()
    InvoiceLine.objects.filter(pk=line.pk).update(usage_end=line.usage_end + timedelta(days=2))


def plant_unapproved_override():
    from billing.contracts.models import ContractLine

    ContractLine.objects.filter(key="platform").update(unit_price=Decimal("50.00"))  # list price 100.00


def plant_stale_ssp():
    from revops.parties.models import Product
    from revrec.models import SSPEntry

    SSPEntry.objects.create(
        product=Product.objects.get(code="platform"),
        currency="USD",
        version=1,
        effective_from=date(2025, 1, 1),
        ssp=Decimal("1500.00"),
        method="observable",
        status="approved",
    )


def plant_posted_without_approval():
    sched = (
        RevenueSchedule.objects.filter(status="approved", lines__posted_entry__isnull=False)
        .distinct()
        .first()
    )
    RevenueSchedule.objects.filter(pk=sched.pk).update(status="rejected")


def plant_audit_tamper():
    event = AuditEvent.objects.order_by("seq")[5]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE compliance_auditevent SET action = 'tampered' WHERE id = %s", [event.pk])


CASES = {
    "allocation_equals_price": plant_allocation,
    "schedule_equals_allocation": plant_schedule,
    "entries_balance": plant_unbalanced_entry,
    "deferred_rollforward": plant_rollforward,
    "recognized_within_allocation": plant_over_recognition,
    "invoice_totals": plant_invoice_total,
    "invoice_numbers_gapless": plant_number_gap,
    "invoice_documents_stored": plant_missing_document,
    "usage_counted_once": plant_double_usage,
    "nothing_posted_in_closed_periods": plant_post_into_closed,
    "invoice_lines_map_to_obligations": plant_unmapped_line,
    "billed_within_contract_value": plant_billed_over_value,
    "prepaid_credits_tie_out": plant_credit_grant_without_posting,
    "usage_inside_invoice_period": plant_usage_outside_period,
    "price_overrides_approved": plant_unapproved_override,
    "ssp_in_force_used": plant_stale_ssp,
    "schedules_posted_only_when_approved": plant_posted_without_approval,
    "audit_chain_intact": plant_audit_tamper,
}


def test_every_check_has_a_planted_fault_test():
    assert set(CASES) == set(CHECKS)


def test_checks_run_in_the_stated_order_whatever_family_module_holds_them():
    assert tuple(CHECKS) == ORDER


@pytest.mark.parametrize("code", sorted(CASES))
def test_planted_fault_opens_an_exception(book, code):
    assert not ComplianceException.objects.filter(check_code=code).exists()
    CASES[code]()
    run = compliance_run(trigger="test")
    assert run.results[code]["status"] == "fail", run.results
    exc = ComplianceException.objects.filter(check_code=code, status="open").first()
    assert exc is not None and exc.explanation and exc.severity in ("critical", "high")


def test_amended_line_awaiting_its_modification_still_maps_by_key(book, django_capture_on_commit_callbacks):
    """An amendment bills its new line revision before the approver signs off the modification: such
    lines belong to the obligation of the same line key (as the postings treat them), so the control
    stays green for them; a line whose key no obligation covers still opens an exception."""
    finance, contract = book["finance"], book["contract"]
    from tests.builders import through_override

    amended = through_override(  # the added custom-priced line waits for a second person first
        finance,
        finance.post(
            f"/api/v1/contracts/{contract['id']}/amend",
            {
                "effective_date": "2026-04-15",
                "changes": [
                    {"line": "platform", "quantity": "2"},
                    {"add": {"key": "extra", "product": "platform", "unit_price": "10.00"}},
                ],
            },
            format="json",
        ),
    )
    assert amended.status_code == 200, amended.content
    with django_capture_on_commit_callbacks(execute=True):
        finance.post("/api/v1/billing-runs", {"as_of": "2026-05-01"}, format="json")
    for invoice in Invoice.objects.filter(status="draft"):
        with django_capture_on_commit_callbacks(execute=True):
            finance.post(f"/api/v1/invoices/{invoice.pk}/finalize")
    billed = InvoiceLine.objects.filter(invoice__status="finalized", service_start__gte=date(2026, 4, 15))
    assert billed.filter(contract_line__key="platform", contract_line__revision=2).exists()
    assert billed.filter(contract_line__key="extra").exists()

    compliance_run(trigger="test")
    flagged = ComplianceException.objects.filter(check_code="invoice_lines_map_to_obligations", status="open")
    flagged_keys = {InvoiceLine.objects.get(pk=e.object_id).contract_line.key for e in flagged}
    assert flagged_keys == {"extra"}
