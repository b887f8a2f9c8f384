"""Invoice documents for the PDF tests: a finalized invoice's rows as a document shows them, with the
figures a test chooses (60 lines, a long name, a zero total) rather than the ones a build would
compute. The contract and customer are real (tests.billing.factories); the invoice row carries its
``invoice.finalized`` audit event as a finalized invoice must. Tests of how an invoice is built,
numbered and finalized use tests.billing.factories.InvoiceFactory, which goes through the services."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import factory

from billing.invoicing.lifecycle import finalize_snapshot_parties
from billing.models import Invoice, InvoiceLine
from revops.core.audit.actions import AuditAction
from tests.billing.factories import ContractFactory
from tests.revops.factories import LegalEntityFactory


class InvoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invoice
        skip_postgeneration_save = True

    contract = factory.SubFactory(ContractFactory)
    customer = factory.SelfAttribute("contract.customer")
    legal_entity = factory.SubFactory(LegalEntityFactory)
    currency = "USD"
    status = Invoice.Status.FINALIZED
    number = factory.Sequence(lambda n: f"INV-2026-{n + 1:06d}")
    sequence = factory.Sequence(lambda n: n + 1)
    billing_date = date(2026, 9, 1)
    period_start = date(2026, 8, 1)
    period_end = date(2026, 9, 1)
    issue_date = date(2026, 9, 1)
    due_date = date(2026, 10, 1)
    subtotal = Decimal("0")
    tax_rate = Decimal("0")
    finalized_at = datetime(2026, 9, 1, 9, 30, tzinfo=UTC)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        """A finalized invoice carries its issuer and bill-to details, as finalizing copies them."""
        invoice = model_class(*args, **kwargs)
        if invoice.status != Invoice.Status.DRAFT:
            finalize_snapshot_parties(invoice)
        invoice.save()
        return invoice

    @factory.post_generation
    def audited(invoice, create, extracted, **kwargs):
        if create and invoice.status != Invoice.Status.DRAFT:
            from revops.core.audit.services import audit_record

            audit_record(
                actor=None,
                action=AuditAction.INVOICE_FINALIZED,
                obj=invoice,
                changes={"number": invoice.number, "total": invoice.total, "tax": invoice.tax},
            )


class InvoiceLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InvoiceLine

    invoice = factory.SubFactory(InvoiceFactory)
    kind = InvoiceLine.Kind.FEE
    description = factory.Sequence(lambda n: f"Pro plan seats ({n})")
    quantity = Decimal("5")
    unit_amount = Decimal("50.000000000000")
    amount = Decimal("250.00")
    service_start = date(2026, 8, 1)
    service_end = date(2026, 9, 1)
    position = factory.Sequence(lambda n: n)
