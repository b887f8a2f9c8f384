"""The invoice page's audit box shows the invoice's whole trail (review16 §3): its payments (recorded,
reversed) and credit notes too — the same events as the global search's "Audit trail of INV-…"."""

from datetime import date

import pytest
from django.db import transaction

from billing.invoicing import lifecycle
from billing.invoicing.build import invoice_build
from billing.invoicing.payments import payment_reverse
from billing.models import Invoice
from revops.core.audit.models import AuditEvent
from revops.core.search.kernel import find_audit_trails
from revops.core.search.query import parse
from tests.billing.factories import ContractFactory

pytestmark = pytest.mark.django_db


def test_the_invoice_audit_box_lists_payments_and_credit_notes(catalog, ui_for):
    contract = ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}], start_date=date(2026, 4, 1)
    )
    with transaction.atomic():
        invoice = lifecycle.invoice_finalize(
            invoice=invoice_build(contract_id=contract.pk, billing_date=date(2026, 4, 1))
        )
    payment = lifecycle.payment_record(invoice=invoice, amount="1.00", paid_on=date(2026, 4, 21))
    reversal = payment_reverse(payment=payment, reason="Cheque bounced")
    note = lifecycle.credit_note_create(
        invoice=Invoice.objects.get(pk=invoice.pk),
        lines=[{"invoice_line": invoice.lines.get().pk, "amount": "2.00"}],
        reason="SLA breach",
    )
    page = ui_for("finance").get(f"/invoices/{invoice.pk}/").content.decode()
    box = page.split('id="audit-title"')[1]
    for action in ("invoice.finalized", "payment.recorded", "payment.reversed", "credit_note.issued"):
        assert f">{action}<" in box, action
    (trail,) = find_audit_trails(parse(invoice.number), 5)
    rows = box.count('<tr><td class="num">')
    assert f"· {rows} events" in trail.subtitle  # the same events as the search's trail
    assert reversal.pk and note.number and AuditEvent.objects.filter(action="payment.reversed").exists()


def test_a_second_reversal_names_the_amount_in_minor_units(catalog):
    """review16 §6: "199.0000 USD" (the stored precision) in a message; now the currency's minor unit."""
    from billing.invoicing.payments import PaymentAlreadyReversed

    contract = ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}], start_date=date(2026, 4, 1)
    )
    with transaction.atomic():
        invoice = lifecycle.invoice_finalize(
            invoice=invoice_build(contract_id=contract.pk, billing_date=date(2026, 4, 1))
        )
    payment = lifecycle.payment_record(invoice=invoice, amount="1.00", paid_on=date(2026, 4, 21))
    payment_reverse(payment=payment, reason="Cheque bounced")
    with pytest.raises(PaymentAlreadyReversed) as refused:
        payment_reverse(payment=payment, reason="again")
    assert "This payment of 1.00 USD was already reversed" in refused.value.detail
    assert str(payment).startswith("1.00 USD on ")


def test_an_invoice_due_long_ago_is_overdue_and_its_usage_cut_off_reads_naturally(catalog, ui_for):
    """review16 §6: a finalized invoice due 2025-12-31 with a balance shows the overdue notice; the
    usage cut-off reads "Events received up to …", not "Usage through … received by …"."""
    from datetime import UTC, datetime

    contract = ContractFactory(
        lines=[{"key": "svc", "product": "platform", "unit_price": "10.00"}], start_date=date(2025, 12, 1)
    )
    with transaction.atomic():
        invoice = lifecycle.invoice_finalize(
            invoice=invoice_build(contract_id=contract.pk, billing_date=date(2025, 12, 1))
        )
    Invoice.objects.filter(pk=invoice.pk).update(
        due_date=date(2025, 12, 31), usage_watermark=datetime(2026, 12, 7, 22, 53, 24, tzinfo=UTC)
    )
    page = ui_for("finance").get(f"/invoices/{invoice.pk}/").content.decode()
    assert "<strong>Overdue</strong>: due 31 Dec 2025" in page
    assert "Events received up to 7 Dec 2026, 22:53 UTC" in page and "Usage through" not in page
