"""The customer documents' model: every string that goes on the page, prepared from the stored records
(it computes nothing), as a frozen dataclass the drawing takes. Three documents share it:

- the invoice (:func:`invoice_doc`), stored once at finalization and never changed;
- a credit note (:func:`credit_note_doc`), from the stored credit note;
- a statement of an invoice's balance (:func:`statement_doc`) as of a day: what was invoiced, each
  payment (and payment reversal) and credit note since, and the balance — rendered when asked for, so it is always current
  while the invoice itself stays as issued.

Service periods are printed as stored, half-open, and say "(end exclusive)" as the pages do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from types import SimpleNamespace

from billing.documents.text import pdf_text, pdf_unprintable
from billing.documents.wording import END_EXCLUSIVE, overdue_days, proration_note
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
    """Every string printed on a document, prepared from the database rows."""

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
    facts: tuple[tuple[str, str], ...]
    panel_note: str = ""
    # The wording of the page (an invoice's by default).
    title: str = "invoice"
    party_label: str = "Bill to"
    panel_label: str = "Amount due"
    total_label: str = "Total due"
    empty_note: str = "No charges this period."
    notes: tuple[tuple[str, str], ...] = ()
    columns: tuple[str, ...] = ()


def _columns(currency: str, first: str = "Description", quantity: str = "Quantity", unit: str = "Unit price"):
    unit = f"{unit} ({currency})" if unit else ""
    return (first, f"Service period\n({END_EXCLUSIVE})", quantity, unit, f"Amount ({currency})")


def _footnote(currency: str) -> str:
    return (
        f"Amounts in {currency}. Each line is rounded once to the minor unit (ROUND_HALF_UP). "
        f"Service periods: {END_EXCLUSIVE}."
    )


def _sources(invoice):
    """The issuing legal entity and the customer as the document prints them: a finalized invoice's as
    they were when it was finalized (copied onto it then, never the live rows, which can be edited
    later), a draft's as they are now."""
    if not invoice.number:
        return invoice.legal_entity, invoice.customer
    entity = SimpleNamespace(
        name=invoice.issuer_name, address=invoice.issuer_address, tax_id=invoice.issuer_tax_id
    )
    customer = SimpleNamespace(
        name=invoice.bill_to_name,
        address=invoice.bill_to_address,
        email=invoice.bill_to_email,
        external_id=invoice.bill_to_external_id,
    )
    return entity, customer


def unprintable_party_characters(invoice) -> str:
    """The characters of the issuer's and the customer's details the document cannot show ("?")."""
    entity, customer = _sources(invoice)
    return pdf_unprintable(
        entity.name,
        entity.address,
        entity.tax_id,
        customer.name,
        customer.address,
        customer.email,
        customer.external_id,
    )


def _parties(invoice) -> dict:
    """The issuing legal entity (name, address, tax id) and the customer, printable (see _sources)."""
    entity, customer = _sources(invoice)
    return {
        "entity_name": pdf_text(entity.name),
        "entity_address": pdf_text(entity.address, multiline=True),
        "entity_tax_id": pdf_text(entity.tax_id),
        "customer_name": pdf_text(customer.name),
        "customer_address": pdf_text(customer.address, multiline=True),
        "customer_email": pdf_text(customer.email),
        "customer_external_id": pdf_text(customer.external_id),
        "contract_number": pdf_text(invoice.contract.number),
        "billing_period": fmt.period_exclusive(invoice.period_start, invoice.period_end),
    }


def _utc(moment: datetime | None) -> datetime:
    moment = moment or datetime(2000, 1, 1, tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _doc_line(line, currency: str) -> DocLine:
    note = proration_note(
        kind=line.kind,
        breakdown=line.breakdown,
        service_start=line.service_start,
        service_end=line.service_end,
    )
    return DocLine(
        description=pdf_text(line.description) + (f"\n{note}" if note else ""),
        period=fmt.period_exclusive(line.service_start, line.service_end),
        quantity=fmt.quantity(line.quantity),
        unit_price=fmt.unit_price(line.unit_amount, currency, code=False, empty=""),
        amount=fmt.amount(line.amount, currency),
    )


def invoice_doc(invoice) -> InvoiceDoc:
    currency = invoice.currency
    parties = _parties(invoice)
    lines = tuple(_doc_line(line, currency) for line in invoice.lines.all())
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
    issue_date = fmt.day(invoice.issue_date, empty="-")
    return InvoiceDoc(
        draft=not invoice.number,
        number=number,
        currency=currency,
        created=_utc(invoice.finalized_at or invoice.created_at),
        **parties,
        issue_date=issue_date,
        due_date=due_date,
        lines=lines,
        totals=tuple(totals),
        total_due=total_due,
        footnote=_footnote(currency),
        facts=(
            ("Invoice number", number),
            ("Issue date", issue_date),
            ("Due date", due_date),
            ("Billing period", parties["billing_period"]),
            ("", f"({END_EXCLUSIVE})"),
            ("Contract", parties["contract_number"]),
        ),
        panel_note=f"Due {due_date}" if due_date != "-" else "",
        notes=(("Payment", payment),),
        columns=_columns(currency),
    )


def credit_note_doc(note) -> InvoiceDoc:
    """A credit note: each credited invoice line with its amount, the tax credited, the total."""
    invoice, currency = note.invoice, note.currency
    parties = _parties(invoice)
    lines = tuple(
        DocLine(
            description=pdf_text(credited.invoice_line.description),
            period=fmt.period_exclusive(
                credited.invoice_line.service_start, credited.invoice_line.service_end
            ),
            quantity="",
            unit_price="",
            amount=fmt.amount(credited.amount, currency),
        )
        for credited in note.lines.all()
    )
    total = fmt.amount(note.total, currency)
    number, invoice_number = pdf_text(note.number), pdf_text(invoice.number)
    issue_date = fmt.day(note.issue_date, empty="-")
    return InvoiceDoc(
        draft=False,
        number=number,
        currency=currency,
        created=_utc(note.created_at),
        **parties,
        issue_date=issue_date,
        due_date="-",
        lines=lines,
        totals=(("Subtotal", fmt.amount(note.subtotal, currency)), ("Tax", fmt.amount(note.tax, currency))),
        total_due=total,
        footnote=_footnote(currency),
        facts=(
            ("Credit note number", number),
            ("Issue date", issue_date),
            ("Credits invoice", invoice_number),
            ("Billing period", parties["billing_period"]),
            ("", f"({END_EXCLUSIVE})"),
            ("Contract", parties["contract_number"]),
        ),
        panel_note=f"Against invoice {invoice_number}",
        title="credit note",
        party_label="Credit to",
        panel_label="Amount credited",
        total_label="Total credited",
        empty_note="No lines credited.",
        notes=(
            ("Reason", pdf_text(note.reason)),
            (
                "Credit",
                f"This credit note reduces the balance of invoice {invoice_number} by {total} {currency}. "
                "It is not a request for payment.",
            ),
        ),
        columns=_columns(currency, first="Invoice line credited", quantity="", unit=""),
    )


def statement_doc(invoice, *, as_of: date) -> InvoiceDoc:
    """The balance of a finalized invoice as of ``as_of``: the invoice as issued, then each payment, payment
    reversal and credit note recorded up to that day, oldest first, and what is left to pay (or in
    credit). "Paid" is net of reversed payments."""
    currency = invoice.currency
    parties = _parties(invoice)
    number = pdf_text(invoice.number)
    issued = fmt.day(invoice.issue_date, empty="-")
    rows = [(invoice.issue_date or as_of, 0, f"Invoice {number}", issued, invoice.total)]
    for payment in invoice.payments.all():
        if payment.date <= as_of:
            reference = f" ({pdf_text(payment.reference)})" if payment.reference else ""
            rows.append(
                (payment.date, 1, f"Payment received{reference}", fmt.day(payment.date), -payment.amount)
            )
    for reversal in invoice.payment_reversals.all():  # a payment taken back: due again
        if reversal.date <= as_of:
            label = f"Payment reversed: {pdf_text(reversal.reason)}"
            rows.append((reversal.date, 2, label, fmt.day(reversal.date), reversal.amount))
    for note in invoice.credit_notes.all():
        if note.issue_date <= as_of:
            label = f"Credit note {pdf_text(note.number)}: {pdf_text(note.reason)}"
            rows.append((note.issue_date, 3, label, fmt.day(note.issue_date), -note.total))
    rows[1:] = sorted(rows[1:], key=lambda row: (row[0], row[1]))  # the invoice first, then by date
    paid = sum((-row[4] for row in rows if row[1] in (1, 2)), start=Decimal(0))
    credited = sum((-row[4] for row in rows if row[1] == 3), start=Decimal(0))
    balance = invoice.total - paid - credited
    late = overdue_days(status=invoice.status, due_date=invoice.due_date, balance_due=balance, today=as_of)
    due_date = fmt.day(invoice.due_date, empty="-")
    if invoice.status == "void":
        panel, note = "Nothing is owed", f"Invoice {number} is void."
    elif balance < 0:
        panel, note = (
            "Credit in your favour",
            f"{fmt.amount(-balance, currency)} {currency} is in your favour.",
        )
    elif balance == 0:
        panel, note = "Paid in full", f"Nothing is left to pay on invoice {number}."
    else:
        panel = f"Overdue since {due_date}" if late else (f"Due {due_date}" if due_date != "-" else "")
        note = f"Please pay {fmt.amount(balance, currency)} {currency}, quoting invoice {number}."
    as_of_text = fmt.day(as_of)
    return InvoiceDoc(
        draft=False,
        number=number,
        currency=currency,
        created=datetime.combine(as_of, time(0), tzinfo=UTC),
        **parties,
        issue_date=issued,
        due_date=due_date,
        lines=tuple(
            DocLine(label, when, "", "", fmt.amount(amount, currency)) for _, _, label, when, amount in rows
        ),
        totals=(
            ("Invoiced", fmt.amount(invoice.total, currency)),
            ("Paid", fmt.amount(-paid, currency)),
            ("Credited", fmt.amount(-credited, currency)),
        ),
        total_due=fmt.amount(balance, currency),
        footnote=f"Amounts in {currency}. A statement of invoice {number} as of {as_of_text}.",
        facts=(
            ("Statement date", as_of_text),
            ("Invoice number", number),
            ("Issue date", issued),
            ("Due date", due_date),
            ("Contract", parties["contract_number"]),
        ),
        panel_note=panel,
        title="statement",
        panel_label="Balance due",
        total_label="Balance due",
        empty_note="",
        notes=(
            ("Balance", note),
            (
                "About this statement",
                f"The balance of invoice {number} as of {as_of_text}, after the payments and credit notes "
                "recorded by then. The invoice itself stays as it was issued.",
            ),
        ),
        columns=("Item", "Date", "", "", f"Amount ({currency})"),
    )
