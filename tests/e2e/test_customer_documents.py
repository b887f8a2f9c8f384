"""Customer-ready documents in a real browser (issue 16 §9): the invoice page of an unpaid invoice past
its due date says it is overdue and explains the prorated first month; finance records a payment and
issues a credit note through the page, then downloads the statement (the balance after both, read
back from the PDF), the credit note's PDF, and the invoice PDF, which still reads as issued."""

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.billing.documents.pdftext import pdf_text

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _prorated_invoice():
    """10.00 a month from 5 April 2026 (a calendar anchor): the first invoice is 26 of 30 days."""
    from django.db import transaction
    from django.utils import timezone

    from billing.contracts.services import contract_activate, contract_create
    from billing.invoicing.build import invoice_build
    from billing.invoicing.lifecycle import invoice_finalize
    from billing.models import Invoice
    from revops.parties.services.customers import customer_create

    with transaction.atomic():
        customer = customer_create(
            external_id="late-payer", name="Late Payer Ltd", currency="USD", tax_rate=Decimal("10")
        )
        contract = contract_create(
            customer=customer.external_id,
            currency="USD",
            start_date=date(2026, 4, 5),
            end_date=date(2027, 4, 5),
            billing_anchor="calendar",
            lines=[{"key": "svc", "product": "platform", "unit_price": "300.00"}],
        )
        contract_activate(contract=contract)
    with transaction.atomic():
        draft = invoice_build(contract_id=contract.pk, billing_date=date(2026, 4, 5))
    with transaction.atomic():
        invoice = invoice_finalize(invoice=draft)
    # Issued a while ago: due twelve days before today.
    Invoice.objects.filter(pk=invoice.pk).update(due_date=timezone.localdate() - timedelta(days=12))
    return Invoice.objects.get(pk=invoice.pk)


def _download(page, link) -> bytes:
    with page.expect_download() as info:
        link.click()
    return Path(info.value.path()).read_bytes()


def test_overdue_invoice_payment_credit_note_and_statement(login, shot):
    from playwright.sync_api import expect

    invoice = _prorated_invoice()
    page = login("finance")
    page.goto(f"/invoices/{invoice.pk}/")
    notice = page.locator(".flash", has_text="Overdue")
    expect(notice).to_contain_text("12 days ago")
    expect(page.locator(".bu-lines")).to_contain_text("Prorated: 26 of 30 days")
    issued = _download(page, page.get_by_role("link", name="Download PDF"))
    issued_text = pdf_text(issued)
    assert "Prorated: 26 of 30 days" in issued_text and "(end exclusive)" in issued_text
    assert f"Total due (USD) {invoice.total:,.2f}" in issued_text
    shot("overdue-invoice", keep="invoice-overdue")

    page.fill("#id_amount", "100.00")
    page.fill("#id_date", date.today().isoformat())
    page.fill("#id_reference", "WIRE-77")
    page.get_by_role("button", name="Record payment…").click()
    page.locator("#confirm-action").click()  # the confirmation step
    expect(page.locator(".flash", has_text="Payment of 100.00 USD recorded")).to_be_visible()
    expect(page.locator(".flash", has_text="Overdue")).to_be_visible()  # still partly unpaid

    page.get_by_role("link", name="Credit note…").click()
    page.locator("input[name^='line_']").first.fill("50.00")
    page.fill("#id_reason", "Outage in April")
    page.get_by_role("button", name="Ask for a credit note…").click()
    page.locator("#confirm-action").click()
    expect(page.locator(".flash", has_text="waits for approval")).to_be_visible()
    expect(page.get_by_test_id("pending-reversal")).to_contain_text("Waiting for approval")

    from billing.models import CreditNote, Invoice
    from revops.core.approvals.models import Approval
    from tests.revops.factories import approve

    assert not CreditNote.objects.filter(invoice_id=invoice.pk).exists()  # a request until approved
    approve(Approval.objects.get(kind="credit_note", status="pending"))  # by a second person
    page.reload()
    expect(page.get_by_text("CN-").first).to_be_visible()

    invoice = Invoice.objects.get(pk=invoice.pk)
    note = CreditNote.objects.get(invoice=invoice)
    expected = invoice.total - Decimal("100.00") - note.total
    assert invoice.balance_due == expected
    statement = pdf_text(_download(page, page.get_by_role("link", name="Download statement")))
    assert (
        "Payment received (WIRE-77)" in statement
        and f"Credit note {note.number}: Outage in April" in statement
    )
    assert f"Balance due (USD) {expected:,.2f}" in statement and "Overdue since" in statement
    credit = pdf_text(_download(page, page.locator(f"a[href$='/credit-notes/{note.pk}/pdf/']")))
    assert "CREDIT NOTE" in credit and f"Total credited (USD) {note.total:,.2f}" in credit
    assert _download(page, page.get_by_role("link", name="Download PDF")) == issued  # as issued
    shot("after-payment-and-credit-note", keep="invoice-statement")
