"""The invoice document: every string that goes on the page, prepared from the stored invoice (it
computes nothing), as a frozen dataclass the drawing takes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from billing.documents.text import pdf_text
from revops import formatting as fmt


@dataclass(frozen=True)
class DocLine:
    description: str
    period: str
    quantity: str
    unit_price: str
    amount: str


@dataclass(frozen=True)
class InvoiceDoc:
    """Every string printed on the invoice, prepared from the database rows."""

    draft: bool
    number: str
    currency: str
    created: datetime
    entity_name: str
    entity_address: str
    entity_tax_id: str
    customer_name: str
    customer_address: str
    customer_email: str
    customer_external_id: str
    contract_number: str
    issue_date: str
    due_date: str
    billing_period: str
    lines: tuple[DocLine, ...]
    totals: tuple[tuple[str, str], ...]
    total_due: str
    footnote: str
    # The wording of the page (an invoice's by default).
    title: str = "invoice"
    party_label: str = "Bill to"
    panel_label: str = "Amount due"
    total_label: str = "Total due"
    empty_note: str = "No charges this period."
    notes: tuple[tuple[str, str], ...] = ()

    @property
    def facts(self) -> tuple[tuple[str, str], ...]:
        return (
            ("Invoice number", self.number),
            ("Issue date", self.issue_date),
            ("Due date", self.due_date),
            ("Billing period", self.billing_period),
            ("Contract", self.contract_number),
        )

    @property
    def columns(self) -> tuple[str, ...]:
        return (
            "Description",
            "Service period",
            "Quantity",
            f"Unit price ({self.currency})",
            f"Amount ({self.currency})",
        )

    @property
    def panel_note(self) -> str:
        return f"Due {self.due_date}" if self.due_date != "-" else ""


def invoice_doc(invoice) -> InvoiceDoc:
    entity, customer, currency = invoice.legal_entity, invoice.customer, invoice.currency
    lines = tuple(
        DocLine(
            description=pdf_text(line.description),
            period=fmt.period_span(line.service_start, line.service_end),
            quantity=fmt.quantity(line.quantity),
            unit_price=fmt.unit_price(line.unit_amount, currency, code=False, empty=""),
            amount=fmt.amount(line.amount, currency),
        )
        for line in invoice.lines.all()
    )
    totals: list[tuple[str, str]] = [("Subtotal", fmt.amount(invoice.subtotal, currency))]
    if invoice.discount:
        totals.append(("Discount", fmt.amount(-abs(invoice.discount), currency)))
    totals.append((f"Tax ({fmt.percent(invoice.tax_rate)}%)", fmt.amount(invoice.tax, currency)))
    if invoice.credits_applied:
        totals.append(("Credits applied", fmt.amount(-abs(invoice.credits_applied), currency)))
    total_due = fmt.amount(invoice.total, currency)
    number = pdf_text(invoice.number or f"DRAFT-{invoice.pk}")
    due_date = fmt.day(invoice.due_date, empty="-")
    if not invoice.number:
        payment = "This is a draft for review. It is not a request for payment and has no invoice number yet."
    else:
        due = f" by {due_date}" if due_date != "-" else ""
        payment = (
            f"Please pay {total_due} {currency}{due}, quoting invoice {number} as the payment reference."
        )
    created = invoice.finalized_at or invoice.created_at or datetime(2000, 1, 1, tzinfo=UTC)
    return InvoiceDoc(
        draft=not invoice.number,
        number=number,
        currency=currency,
        created=created if created.tzinfo else created.replace(tzinfo=UTC),
        entity_name=pdf_text(entity.name),
        entity_address=pdf_text(entity.address, multiline=True),
        entity_tax_id=pdf_text(entity.tax_id),
        customer_name=pdf_text(customer.name),
        customer_address=pdf_text(customer.address, multiline=True),
        customer_email=pdf_text(customer.email),
        customer_external_id=pdf_text(customer.external_id),
        contract_number=pdf_text(invoice.contract.number),
        issue_date=fmt.day(invoice.issue_date, empty="-"),
        due_date=due_date,
        billing_period=fmt.period_span(invoice.period_start, invoice.period_end),
        lines=lines,
        totals=tuple(totals),
        total_due=total_due,
        footnote=(
            f"Amounts in {currency}. Each line is rounded once to the minor unit (ROUND_HALF_UP). "
            "Service periods are inclusive."
        ),
        notes=(("Payment", payment),),
    )
