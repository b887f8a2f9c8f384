"""Reversing a recorded payment (issue 16 §2): an appended reversal, never an edit — the invoice's balance
is due again, a reversing journal entry (Dr AR / Cr Cash) names the payment's entry, the audit event is
written in the same transaction; a second reversal is a 409 problem; the UI asks for a reason and a
confirmation first."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from unittest import mock

import pytest
from django.db import transaction

from billing.invoicing.lifecycle import payment_record
from billing.invoicing.payments import PaymentAlreadyReversed, payment_reverse
from billing.models import Invoice, Payment, PaymentReversal
from revops.core.audit.models import AuditEvent
from revops.errors import ValidationFailed
from revrec.models import JournalEntry
from tests.billing.views.conftest import build, finalize

pytestmark = pytest.mark.django_db


def _paid(monthly, amount="11.00") -> tuple[Invoice, Payment]:
    """The April invoice (10.00 + 10% tax = 11.00), paid ``amount`` on 20 April 2026."""
    invoice = finalize(build(monthly, date(2026, 4, 1)))
    with transaction.atomic():
        payment = payment_record(invoice=invoice, amount=amount, paid_on="2026-04-20", reference="W1")
    return Invoice.objects.get(pk=invoice.pk), payment


def _cash_and_ar(entry: JournalEntry) -> dict:
    return {
        line.account.role: (line.debit, line.credit) for line in entry.lines.select_related("account").all()
    }


def test_reversal_restores_the_balance_posts_a_reversing_entry_and_audits_it(monthly, make_user):
    invoice, payment = _paid(monthly)
    assert invoice.status == "paid" and invoice.balance_due == 0
    actor = make_user("fin-rev", "finance")
    with transaction.atomic():
        reversal = payment_reverse(payment=payment, reason="The transfer bounced", actor=actor)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.balance_due, invoice.paid_at) == (
        "finalized",
        Decimal("0"),
        Decimal("11.00"),
        None,
    )
    # Appended, not edited: the payment is still there as it was.
    assert Payment.objects.get(pk=payment.pk).amount == Decimal("11.00")
    assert (reversal.amount, reversal.reason, reversal.created_by) == (
        Decimal("11.00"),
        "The transfer bounced",
        actor,
    )
    original = JournalEntry.objects.get(source_key=f"payment:{payment.pk}")
    entry = JournalEntry.objects.get(source_key=f"payment-reversal:{reversal.pk}")
    assert entry.source == "reversal" and entry.reverses == original
    assert _cash_and_ar(original) == {"cash": (Decimal("11.00"), 0), "ar": (0, Decimal("11.00"))}
    assert _cash_and_ar(entry) == {"cash": (0, Decimal("11.00")), "ar": (Decimal("11.00"), 0)}
    event = AuditEvent.objects.get(action="payment.reversed")
    assert event.object_id == str(payment.pk) and event.actor_id == actor.pk
    assert event.changes["reason"] == "The transfer bounced"
    assert event.changes["status"] == {"from": "paid", "to": "finalized"}


def test_a_payment_is_reversed_once_and_a_reason_is_required(monthly):
    invoice, payment = _paid(monthly, amount="4.00")
    with pytest.raises(ValidationFailed) as blank, transaction.atomic():
        payment_reverse(payment=payment, reason="  ")
    assert blank.value.errors[0].field == "reason"
    with transaction.atomic():
        payment_reverse(payment=payment, reason="Wrong invoice")
    with pytest.raises(PaymentAlreadyReversed) as twice, transaction.atomic():
        payment_reverse(payment=payment, reason="Again")
    assert twice.value.status == 409 and "already reversed" in twice.value.detail
    assert PaymentReversal.objects.count() == 1
    assert JournalEntry.objects.filter(source="reversal").count() == 1
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == ("finalized", Decimal("0"))


def test_nothing_is_kept_when_the_ledger_refuses(monthly):
    """The reversal, the invoice's balance and the audit event are one transaction with the posting."""
    invoice, payment = _paid(monthly)
    with (
        mock.patch(
            "revrec.services.payment_reversals.journal_entry_post", side_effect=RuntimeError("ledger down")
        ),
        pytest.raises(RuntimeError),
    ):
        payment_reverse(payment=payment, reason="Bounced")
    invoice.refresh_from_db()
    assert invoice.status == "paid" and not PaymentReversal.objects.exists()
    assert not AuditEvent.objects.filter(action="payment.reversed").exists()


def test_api_reverses_and_answers_problems(monthly, api_for):
    invoice, payment = _paid(monthly)
    client = api_for("finance")
    url = f"/api/v1/invoices/{invoice.pk}/payments/{payment.pk}/reverse"
    missing = client.post(url, {}, format="json")
    assert missing.status_code == 400 and missing["Content-Type"].startswith("application/problem+json")
    response = client.post(url, {"reason": "Bounced"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (
        body["payment"],
        body["invoice"],
        body["amount"],
        body["invoice_status"],
        body["balance_due"],
    ) == (
        payment.pk,
        invoice.pk,
        "11.00",
        "finalized",
        "11.00",
    )
    again = client.post(url, {"reason": "Bounced"}, format="json")
    assert again.status_code == 409 and again.json()["type"].endswith("/payment-already-reversed")
    other = client.post(f"/api/v1/invoices/{invoice.pk + 999}/payments/{payment.pk}/reverse", {"reason": "x"})
    assert other.status_code == 404
    assert api_for("auditor").post(url, {"reason": "x"}, format="json").status_code == 403


def test_ui_asks_for_a_reason_then_confirms_before_reversing(monthly, finance):
    invoice, payment = _paid(monthly)
    page = finance.get(f"/invoices/{invoice.pk}/").content.decode()
    assert "Reverse this payment…" in page
    url = f"/invoices/{invoice.pk}/payments/{payment.pk}/reverse/"
    asked = finance.post(url, {"reason": "Bounced"}).content.decode()
    assert "Reverse the payment of" in asked and "reversing journal entry" in asked
    assert not PaymentReversal.objects.exists()  # nothing until confirmed
    finance.post(url, {"reason": "Bounced", "confirm": "1"})
    assert PaymentReversal.objects.get().reason == "Bounced"
    page = finance.get(f"/invoices/{invoice.pk}/").content.decode()
    assert "Reversed" in page and "Reverse this payment…" not in page and "Record payment" in page
