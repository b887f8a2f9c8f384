"""Customer-ready documents (issue 16 §9): the invoice PDF explains proration ("26 of 30 days"), carries
the legal entity's address and tax id and says "end exclusive" as the page does; a credit note has a
PDF; the invoice page says when an invoice is overdue; after a payment or a credit note the statement
of the balance is right while the stored invoice PDF stays as issued.

Given invoices made by the real services (contract, build, finalization, payment, credit note)
When their documents are downloaded from the invoice page's links
Then each PDF reads back (text extraction) with the figures the records hold."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.documents.storage import open_invoice_pdf
from billing.documents.wording import overdue_days, proration_note
from billing.invoicing import lifecycle
from billing.invoicing.payments import payment_reverse
from billing.models import CreditNote, Invoice
from tests.billing.documents.pdftext import pdf_text
from tests.billing.factories import ContractFactory
from tests.billing.views.conftest import build, finalize
from tests.revops.factories import CustomerFactory, LegalEntityFactory

pytestmark = pytest.mark.django_db


# --- the wording (pure) ----------------------------------------------------------------------------


def test_a_prorated_fee_says_how_many_days_of_its_period_it_charges():
    steps = [
        {"description": "Platform", "amount": "10"},
        {"description": "Prorated 26/30 days", "amount": "-1.33"},
    ]
    assert proration_note(
        kind="fee", breakdown=steps, service_start=date(2026, 4, 5), service_end=date(2026, 5, 1)
    ) == ("Prorated: 26 of 30 days")
    credit = proration_note(
        kind="proration", breakdown=[], service_start=date(2026, 4, 19), service_end=date(2026, 5, 1)
    )
    assert credit == "Prorated: 12 unused days"
    assert (
        proration_note(kind="fee", breakdown=[], service_start=date(2026, 4, 1), service_end=date(2026, 5, 1))
        == ""
    )


def test_overdue_only_when_issued_unpaid_and_past_its_due_date():
    due, today = date(2026, 5, 1), date(2026, 5, 11)
    assert overdue_days(status="finalized", due_date=due, balance_due=Decimal("1"), today=today) == 10
    assert overdue_days(status="finalized", due_date=due, balance_due=Decimal("1"), today=due) == 0
    assert overdue_days(status="finalized", due_date=due, balance_due=Decimal("0"), today=today) == 0
    assert overdue_days(status="paid", due_date=due, balance_due=Decimal("1"), today=today) == 0
    assert overdue_days(status="void", due_date=due, balance_due=Decimal("1"), today=today) == 0
    assert overdue_days(status="finalized", due_date=None, balance_due=Decimal("1"), today=today) == 0


# --- the documents -----------------------------------------------------------------------------------


@pytest.fixture
def entity():
    return LegalEntityFactory(
        code="concord-de",
        name="Concord GmbH",
        address="Friedrichstraße 123\n10117 Berlin",
        tax_id="DE999999999",
    )


@pytest.fixture
def prorated(catalog, entity):
    """10.00 a month from 5 April 2026: the first month is 26 of April's 30 days."""
    customer = CustomerFactory(
        external_id="midmonth", name="Midmonth Ltd", tax_rate=Decimal("10"), legal_entity=entity
    )
    contract = ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}],
        start_date=date(2026, 4, 5),
        end_date=date(2027, 4, 5),
        customer=customer,
    )
    return finalize(build(contract, date(2026, 4, 5)))


def test_the_invoice_pdf_explains_proration_and_carries_the_entity_and_end_exclusive(finance, prorated):
    response = finance.get(f"/invoices/{prorated.pk}/pdf/")
    text = pdf_text(response.content)
    assert "Concord GmbH Friedrichstraße 123 10117 Berlin Tax ID: DE999999999" in text
    assert "Prorated: 26 of 30 days" in text
    assert "5 Apr 2026 \u2013 1 May 2026" in text and "(end exclusive)" in text
    assert "SERVICE PERIOD (END EXCLUSIVE)" in text and "Service periods: end exclusive." in text
    page = finance.get(f"/invoices/{prorated.pk}/").content.decode()
    assert "Prorated: 26 of 30 days" in page and "(end exclusive)" in page  # the page says the same


def test_after_a_payment_and_a_credit_note_the_statement_is_right_and_the_invoice_pdf_unchanged(
    finance, prorated
):
    invoice = Invoice.objects.get(pk=prorated.pk)
    issued = finance.get(f"/invoices/{invoice.pk}/pdf/").content
    invoice.refresh_from_db()
    total = invoice.total
    lifecycle.payment_record(invoice=invoice, amount="5.00", paid_on=date(2026, 4, 20), reference="WIRE-1")
    bounced = lifecycle.payment_record(
        invoice=Invoice.objects.get(pk=invoice.pk),
        amount="1.00",
        paid_on=date(2026, 4, 21),
        reference="CHK-9",
    )
    payment_reverse(payment=bounced, reason="Cheque bounced")  # taken back: due again
    line = invoice.lines.get()
    note = lifecycle.credit_note_create(
        invoice=Invoice.objects.get(pk=invoice.pk),
        lines=[{"invoice_line": line.pk, "amount": "2.00"}],
        reason="SLA breach",
    )
    invoice.refresh_from_db()
    assert invoice.balance_due == total - Decimal("5.00") - note.total

    statement = finance.get(f"/invoices/{invoice.pk}/statement/")
    assert statement.status_code == 200 and statement["Content-Type"] == "application/pdf"
    assert f'filename="{invoice.number}-statement-' in statement["Content-Disposition"]
    text = pdf_text(statement.content)
    balance = f"{invoice.balance_due:.2f}"
    issued_on = f"{invoice.issue_date.day} {invoice.issue_date:%b %Y}"
    assert "STATEMENT" in text and f"Invoice {invoice.number}" in text
    assert f"Invoice {invoice.number} {issued_on}" in text.split("AMOUNT (USD)")[1][:60]  # the invoice first
    assert "Payment received (WIRE-1) 20 Apr 2026 -5.00" in text
    assert "Payment received (CHK-9) 21 Apr 2026 -1.00" in text and "Payment reversed: Cheque bounced" in text
    assert f"Credit note {note.number}: SLA breach" in text and f"-{note.total:.2f}" in text
    assert f"Invoiced {total:.2f} Paid -5.00 Credited -{note.total:.2f} Balance due (USD) {balance}" in text
    assert "The invoice itself stays as it was issued." in text

    # The invoice as issued: the stored file, its SHA-256 and its "Total due" never change.
    again = finance.get(f"/invoices/{invoice.pk}/pdf/").content
    assert again == issued == open_invoice_pdf(invoice)
    assert hashlib.sha256(again).hexdigest() == invoice.pdf_sha256
    assert f"Total due (USD) {total:.2f}" in pdf_text(again) and balance not in pdf_text(again)


def test_a_credit_note_has_its_own_pdf(finance, prorated):
    line = prorated.lines.get()
    note = lifecycle.credit_note_create(
        invoice=prorated, lines=[{"invoice_line": line.pk, "amount": "4.00"}], reason="Goodwill"
    )
    page = finance.get(f"/invoices/{prorated.pk}/").content.decode()
    url = f"/invoices/{prorated.pk}/credit-notes/{note.pk}/pdf/"
    assert f'href="{url}"' in page
    response = finance.get(url)
    assert response.status_code == 200 and f'filename="{note.number}.pdf"' in response["Content-Disposition"]
    assert hashlib.sha256(response.content).hexdigest() == response["X-Content-SHA256"]
    assert finance.get(url).content == response.content  # the same credit note, the same bytes
    text = pdf_text(response.content)
    assert "CREDIT NOTE" in text and note.number in text and f"Credits invoice {prorated.number}" in text
    assert "Tax ID: DE999999999" in text and "CREDIT TO Midmonth Ltd" in text
    assert f"Subtotal 4.00 Tax {note.tax:.2f} Total credited (USD) {note.total:.2f}" in text
    assert "REASON Goodwill" in text and "It is not a request for payment." in text
    other = CreditNote.objects.exclude(pk=note.pk).first()
    assert (
        other is None
        and finance.get(f"/invoices/{prorated.pk + 1000}/credit-notes/{note.pk}/pdf/").status_code == 404
    )


def test_the_invoice_page_says_when_it_is_overdue(finance, prorated):
    today = timezone.localdate()
    Invoice.objects.filter(pk=prorated.pk).update(due_date=today - timedelta(days=12))
    page = finance.get(f"/invoices/{prorated.pk}/").content.decode()
    assert "<strong>Overdue</strong>" in page and "12 days ago" in page and 'badge-bad">overdue' in page
    text = pdf_text(finance.get(f"/invoices/{prorated.pk}/statement/").content)
    assert f"Overdue since {(today - timedelta(days=12)).day}" in text

    Invoice.objects.filter(pk=prorated.pk).update(due_date=today + timedelta(days=3))
    assert "<strong>Overdue</strong>" not in finance.get(f"/invoices/{prorated.pk}/").content.decode()
    invoice = Invoice.objects.get(pk=prorated.pk)
    Invoice.objects.filter(pk=prorated.pk).update(due_date=today - timedelta(days=12))
    lifecycle.payment_record(invoice=invoice, amount=invoice.balance_due, paid_on=today)
    page = finance.get(f"/invoices/{prorated.pk}/").content.decode()
    assert "<strong>Overdue</strong>" not in page  # paid in full: nothing is overdue
    assert "Paid in full" in pdf_text(finance.get(f"/invoices/{prorated.pk}/statement/").content)


def test_a_draft_has_no_statement(finance, catalog):
    contract = ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}], start_date=date(2026, 4, 1)
    )
    draft = build(contract, date(2026, 4, 1))
    response = finance.get(f"/invoices/{draft.pk}/statement/", follow=True)
    assert (
        response.status_code == 200
        and "Only a finalized invoice has a statement." in response.content.decode()
    )


def test_the_api_serves_the_statement_and_the_credit_note_pdf_as_it_serves_the_invoice_pdf(
    finance, prorated, catalog, api_for, client
):
    """REST (issue 16 §9): ``GET /invoices/{id}/statement`` and ``GET /credit-notes/{id}/pdf`` answer
    ``application/pdf`` inline with the file name and the bytes' SHA-256, like ``GET /invoices/{id}/pdf``
    (api.md); every role that reads billing reads them; problems are RFC 9457."""
    line = prorated.lines.get()
    note = lifecycle.credit_note_create(
        invoice=prorated, lines=[{"invoice_line": line.pk, "amount": "3.00"}], reason="Goodwill"
    )
    invoice = Invoice.objects.get(pk=prorated.pk)
    for role in ("auditor", "approver", "pricing"):
        api = api_for(role)
        statement = api.get(f"/api/v1/invoices/{invoice.pk}/statement")
        assert statement.status_code == 200 and statement["Content-Type"] == "application/pdf"
        today = timezone.localdate().isoformat()
        disposition = f'inline; filename="{invoice.number}-statement-{today}.pdf"'
        assert statement["Content-Disposition"] == disposition
        assert statement["X-Content-SHA256"] == hashlib.sha256(statement.content).hexdigest()
        text = pdf_text(statement.content)
        assert "STATEMENT" in text and f"Credit note {note.number}: Goodwill" in text
        assert f"Balance due (USD) {invoice.balance_due:.2f}" in text

        pdf = api.get(f"/api/v1/credit-notes/{note.pk}/pdf")
        assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
        assert pdf["Content-Disposition"] == f'inline; filename="{note.number}.pdf"'
        # The same bytes as the credit note's page link gives, every time.
        assert pdf.content == finance.get(f"/invoices/{invoice.pk}/credit-notes/{note.pk}/pdf/").content
        assert pdf["X-Content-SHA256"] == hashlib.sha256(pdf.content).hexdigest()

    api = api_for("finance")
    draft = build(
        ContractFactory(
            lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}], start_date=date(2026, 4, 1)
        ),
        date(2026, 4, 1),
    )
    refused = api.get(f"/api/v1/invoices/{draft.pk}/statement")
    assert refused.status_code == 409 and refused["Content-Type"] == "application/problem+json"
    assert refused.json()["detail"] == (
        "A statement is drawn for a finalized invoice; this invoice was never finalized."
    )
    for path in (
        f"/api/v1/invoices/{draft.pk + 1000}/statement",
        f"/api/v1/credit-notes/{note.pk + 1000}/pdf",
    ):
        missing = api.get(path)
        assert missing.status_code == 404 and missing["Content-Type"] == "application/problem+json"
    anonymous = client.get(f"/api/v1/credit-notes/{note.pk}/pdf")
    assert anonymous.status_code == 401 and anonymous["Content-Type"] == "application/problem+json"
