"""Invoice PDFs: rendered once at finalization with fpdf2 (pure Python), stored with their SHA-256.

- :func:`render_invoice_pdf` draws the invoice from its stored numbers (it computes nothing): the
  same invoice always gives the same bytes, because the document's dates come from
  ``finalized_at`` and the producer metadata is fixed.
- :func:`store_invoice_pdf` writes ``MEDIA_ROOT/invoices/<legal entity code>/<number>.pdf`` and
  returns (relative path, SHA-256); the finalize service saves both on the invoice in its transaction
  and never renders again.
- :func:`open_invoice_pdf` reads the file back and refuses it if it no longer matches its SHA-256.

fpdf2's built-in fonts (Helvetica) need no font files; they cover Windows-1252 (Latin-1 plus “ ” – — €
…). Any other character is transliterated or replaced by :func:`pdf_text`, so no customer name can
break rendering.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from fpdf import FPDF
from fpdf.fonts import FontFace

from revops import formatting as fmt
from revops.errors import Conflict, DomainError, NotFound

log = logging.getLogger(__name__)

ENCODING = "windows-1252"
PRODUCER = "Concord billing (fpdf2)"

# Colours (RGB) matching the UI's palette.
INK = (23, 33, 43)
INK_2 = (59, 71, 84)
MUTED = (107, 119, 133)
BRAND = (31, 79, 209)
LINE = (214, 220, 227)
PANEL = (245, 247, 250)

MARGIN = 18.0
PAGE_W = 210.0
CONTENT_W = PAGE_W - 2 * MARGIN


class InvoicePdfError(DomainError):
    """The invoice PDF cannot be produced or served."""


class InvoicePdfMissing(NotFound):
    pass


class InvoicePdfConflict(Conflict):
    """A different PDF is already stored (and recorded) under this invoice's number."""


class InvoicePdfTampered(DomainError):
    """The stored file no longer matches the SHA-256 recorded at finalization."""

    status = 500
    slug = "server-error"
    title = "Stored document failed its integrity check"


# --- text ----------------------------------------------------------------------------------------

# Characters outside Windows-1252 with a readable stand-in (the rest go through NFKD, then "?").
_REPLACEMENTS = {
    "\u2212": "-",  # minus
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2015": "-",
    "\u2043": "-",
    "\u2044": "/",
    "\u2190": "<-",
    "\u2192": "->",
    "\u2194": "<->",
    "\u21d2": "=>",
    "\u2264": "<=",
    "\u2265": ">=",
    "\u2260": "!=",
    "\u2248": "~",
    "\u2027": "\u00b7",
    "\u2219": "\u00b7",
    "\u2032": "'",
    "\u2033": '"',
    "\u201b": "'",
    "\u201f": '"',
    "\u2713": "v",
    "\u2714": "v",
    "\u2715": "x",
    "\u2716": "x",
    "\u2007": " ",
    "\u2009": " ",
    "\u200a": " ",
    "\u202f": " ",
    "\u200b": "",
    "\u200c": "",
    "\u200d": "",
    "\ufeff": "",
    "\u0141": "L",
    "\u0142": "l",
    "\u0110": "D",
    "\u0111": "d",
    "\u0126": "H",
    "\u0127": "h",
    "\u0131": "i",
    "\u0138": "k",
    "\u013f": "L",
    "\u0140": "l",
    "\u0149": "n",
    "\u014a": "N",
    "\u014b": "n",
    "\u0166": "T",
    "\u0167": "t",
    "\u0132": "IJ",
    "\u0133": "ij",
    "\u1e9e": "SS",
}


def _encodable(char: str) -> bool:
    try:
        char.encode(ENCODING)
    except UnicodeEncodeError:
        return False
    return True


def pdf_text(value, *, multiline: bool = False) -> str:
    """Text the built-in fonts can draw: Windows-1252 characters are kept, others are mapped
    ("−" → "-", "ł" → "l", "ő" → "o"), and what has no equivalent becomes "?". Control characters
    are dropped; newlines are kept only when ``multiline``."""
    text = unicodedata.normalize("NFC", str(value if value is not None else ""))
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    out: list[str] = []
    for char in text:
        if char == "\n":
            out.append("\n" if multiline else " ")
        elif unicodedata.category(char) in ("Cc", "Cf") and char not in _REPLACEMENTS:
            continue
        elif _encodable(char):
            out.append(char)
        elif char in _REPLACEMENTS:
            out.append(_REPLACEMENTS[char])
        else:
            base = "".join(
                c
                for c in unicodedata.normalize("NFKD", char)
                if not unicodedata.combining(c) and _encodable(c)
            )
            out.append(base if base else "?")
    if not multiline:
        return "".join(out).strip()
    return "\n".join(line.strip() for line in "".join(out).split("\n")).strip("\n")


# --- the document --------------------------------------------------------------------------------


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
    created = invoice.finalized_at or invoice.created_at or datetime(2000, 1, 1, tzinfo=UTC)
    return InvoiceDoc(
        draft=not invoice.number,
        number=pdf_text(invoice.number or f"DRAFT-{invoice.pk}"),
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
        due_date=fmt.day(invoice.due_date, empty="-"),
        billing_period=fmt.period_span(invoice.period_start, invoice.period_end),
        lines=lines,
        totals=tuple(totals),
        total_due=fmt.amount(invoice.total, currency),
        footnote=(
            f"Amounts in {currency}. Each line is rounded once to the minor unit (ROUND_HALF_UP). "
            "Service periods are inclusive."
        ),
    )


class _InvoicePdf(FPDF):
    def __init__(self, doc: InvoiceDoc):
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.doc = doc
        self.core_fonts_encoding = ENCODING
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(auto=True, margin=24)
        self.alias_nb_pages()

    def header(self) -> None:
        if self.page_no() == 1:
            return
        self.set_y(10)
        self.set_font("Helvetica", "B", 9)
        self.set_text_color(*INK)
        self.cell(CONTENT_W / 2, 5, self.doc.entity_name[:80])
        self.set_font("Helvetica", "", 9)
        self.set_text_color(*MUTED)
        label = f"Invoice {self.doc.number}" + (" (draft)" if self.doc.draft else "") + " \u2013 continued"
        self.cell(CONTENT_W / 2, 5, label, align="R", new_x="LMARGIN", new_y="NEXT")
        self._rule(self.get_y() + 1.5)
        self.set_y(self.get_y() + 6)

    def footer(self) -> None:
        self.set_y(-17)
        self._rule(self.get_y())
        self.set_y(self.get_y() + 2)
        self.set_font("Helvetica", "", 7.5)
        self.set_text_color(*MUTED)
        self.cell(CONTENT_W - 30, 4, self.doc.footnote)
        self.cell(30, 4, f"Page {self.page_no()} of {{nb}}", align="R", new_x="LMARGIN", new_y="NEXT")
        self.cell(CONTENT_W, 4, f"{self.doc.entity_name} \u00b7 Invoice {self.doc.number}")

    def _rule(self, y: float, color=LINE, width: float = 0.25) -> None:
        self.set_draw_color(*color)
        self.set_line_width(width)
        self.line(MARGIN, y, PAGE_W - MARGIN, y)

    def _label(self, text: str, w: float, *, align: str = "L") -> None:
        self.set_font("Helvetica", "B", 7.5)
        self.set_text_color(*MUTED)
        self.cell(w, 4.5, text.upper(), align=align, new_x="LEFT", new_y="NEXT")


def _draw_heading(pdf: _InvoicePdf, doc: InvoiceDoc) -> None:
    top = MARGIN
    left_w, right_w = CONTENT_W * 0.55, CONTENT_W * 0.45
    # Issuer (left)
    pdf.set_xy(MARGIN, top)
    pdf.set_font("Helvetica", "B", 14)
    pdf.set_text_color(*INK)
    pdf.multi_cell(left_w - 6, 6.5, doc.entity_name, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.set_text_color(*INK_2)
    if doc.entity_address:
        pdf.multi_cell(left_w - 6, 4.6, doc.entity_address, align="L", new_x="LMARGIN", new_y="NEXT")
    if doc.entity_tax_id:
        pdf.multi_cell(
            left_w - 6, 4.6, f"Tax ID: {doc.entity_tax_id}", align="L", new_x="LMARGIN", new_y="NEXT"
        )
    left_bottom = pdf.get_y()

    # Title and facts (right)
    x = MARGIN + left_w
    pdf.set_xy(x, top - 1)
    pdf.set_font("Helvetica", "B", 24)
    pdf.set_text_color(*BRAND)
    pdf.cell(
        right_w, 10, "INVOICE" if not doc.draft else "DRAFT INVOICE", align="R", new_x="LEFT", new_y="NEXT"
    )
    pdf.ln(2)
    facts = [
        ("Invoice number", doc.number),
        ("Issue date", doc.issue_date),
        ("Due date", doc.due_date),
        ("Billing period", doc.billing_period),
        ("Contract", doc.contract_number),
    ]
    for label, value in facts:
        pdf.set_x(x)
        pdf.set_font("Helvetica", "", 8.5)
        pdf.set_text_color(*MUTED)
        pdf.cell(right_w * 0.42, 5, label, align="R")
        pdf.set_font("Helvetica", "B" if label == "Invoice number" else "", 9)
        pdf.set_text_color(*INK)
        pdf.cell(right_w * 0.58, 5, value, align="R", new_x="LMARGIN", new_y="NEXT")
    right_bottom = pdf.get_y()

    y = max(left_bottom, right_bottom) + 5
    pdf._rule(y, color=BRAND, width=0.6)
    pdf.set_y(y + 6)


def _draw_parties(pdf: _InvoicePdf, doc: InvoiceDoc) -> None:
    top = pdf.get_y()
    left_w = CONTENT_W * 0.58
    box_w = CONTENT_W * 0.36
    pdf.set_x(MARGIN)
    pdf._label("Bill to", left_w)
    pdf.set_font("Helvetica", "B", 10.5)
    pdf.set_text_color(*INK)
    pdf.multi_cell(left_w, 5.4, doc.customer_name, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.set_text_color(*INK_2)
    if doc.customer_address:
        pdf.multi_cell(left_w, 4.6, doc.customer_address, align="L", new_x="LMARGIN", new_y="NEXT")
    if doc.customer_email:
        pdf.multi_cell(left_w, 4.6, doc.customer_email, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(
        left_w, 4.6, f"Customer ID: {doc.customer_external_id}", align="L", new_x="LMARGIN", new_y="NEXT"
    )
    left_bottom = pdf.get_y()

    # "Amount due" panel (right)
    x = PAGE_W - MARGIN - box_w
    box_h = 26.0
    pdf.set_fill_color(*PANEL)
    pdf.set_draw_color(*LINE)
    pdf.set_line_width(0.25)
    pdf.rect(x, top, box_w, box_h, style="DF")
    pdf.set_xy(x + 5, top + 3.5)
    pdf._label("Amount due", box_w - 10)
    pdf.set_x(x + 5)
    amount, size = f"{doc.total_due} {doc.currency}", 17.0
    pdf.set_font("Helvetica", "B", size)
    while size > 9 and pdf.get_string_width(amount) > box_w - 10:
        size -= 1
        pdf.set_font("Helvetica", "B", size)
    pdf.set_text_color(*INK)
    pdf.cell(box_w - 10, 9, amount, new_x="LEFT", new_y="NEXT")
    pdf.set_x(x + 5)
    pdf.set_font("Helvetica", "", 8.5)
    pdf.set_text_color(*INK_2)
    pdf.cell(
        box_w - 10, 5, f"Due {doc.due_date}" if doc.due_date != "-" else "", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_y(max(left_bottom, top + box_h) + 9)


def _draw_lines(pdf: _InvoicePdf, doc: InvoiceDoc) -> None:
    pdf.set_fill_color(255, 255, 255)  # the table starts from the current style: body rows stay white
    pdf.set_font("Helvetica", "", 8.5)
    pdf.set_text_color(*INK)
    pdf.set_draw_color(*LINE)
    pdf.set_line_width(0.2)
    headings = (
        "Description",
        "Service period",
        "Quantity",
        f"Unit price ({doc.currency})",
        f"Amount ({doc.currency})",
    )
    with pdf.table(
        width=CONTENT_W,
        col_widths=(64, 36, 22, 29, 23),
        text_align=("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT"),
        line_height=4.6,
        padding=(1.8, 1.5),
        borders_layout="HORIZONTAL_LINES",
        headings_style=FontFace(emphasis="BOLD", color=INK_2, fill_color=PANEL, size_pt=7.5),
        repeat_headings=1,
        v_align="TOP",
    ) as table:
        row = table.row()
        for heading in headings:
            row.cell(heading.upper())
        if not doc.lines:
            row = table.row()
            row.cell("No charges this period.", colspan=5)
        for line in doc.lines:
            row = table.row()
            row.cell(line.description)
            row.cell(line.period)
            row.cell(line.quantity)
            row.cell(line.unit_price)
            row.cell(line.amount)


def _draw_totals(pdf: _InvoicePdf, doc: InvoiceDoc) -> None:
    needed = 7 * (len(doc.totals) + 1) + 30
    if pdf.get_y() + needed > pdf.h - pdf.b_margin:
        pdf.add_page()
    pdf.ln(4)
    label_w, amount_w = 52.0, 34.0
    x = PAGE_W - MARGIN - label_w - amount_w
    for label, amount in doc.totals:
        pdf.set_x(x)
        pdf.set_font("Helvetica", "", 9)
        pdf.set_text_color(*INK_2)
        pdf.cell(label_w, 6, label)
        pdf.set_text_color(*INK)
        pdf.cell(amount_w, 6, amount, align="R", new_x="LMARGIN", new_y="NEXT")
    y = pdf.get_y() + 1
    pdf.set_draw_color(*INK_2)
    pdf.set_line_width(0.5)
    pdf.line(x, y, PAGE_W - MARGIN, y)
    pdf.set_y(y + 1.5)
    pdf.set_x(x)
    pdf.set_font("Helvetica", "B", 11)
    pdf.set_text_color(*INK)
    pdf.cell(label_w, 8, f"Total due ({doc.currency})")
    pdf.cell(amount_w, 8, doc.total_due, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)

    pdf.set_x(MARGIN)
    pdf._label("Payment", CONTENT_W)
    pdf.set_font("Helvetica", "", 8.5)
    pdf.set_text_color(*INK_2)
    if doc.draft:
        text = "This is a draft for review. It is not a request for payment and has no invoice number yet."
    else:
        due = f" by {doc.due_date}" if doc.due_date != "-" else ""
        text = f"Please pay {doc.total_due} {doc.currency}{due}, quoting invoice {doc.number} as the payment reference."
    pdf.multi_cell(CONTENT_W, 4.6, text, align="L", new_x="LMARGIN", new_y="NEXT")


def render_doc(doc: InvoiceDoc) -> bytes:
    pdf = _InvoicePdf(doc)
    pdf.set_creation_date(doc.created)
    pdf.set_producer(PRODUCER)
    pdf.set_creator(PRODUCER)
    pdf.set_title(f"Invoice {doc.number}")
    pdf.set_author(doc.entity_name)
    pdf.set_subject(f"Invoice {doc.number} to {doc.customer_name}")
    pdf.set_lang("en")
    pdf.add_page()
    _draw_heading(pdf, doc)
    _draw_parties(pdf, doc)
    _draw_lines(pdf, doc)
    _draw_totals(pdf, doc)
    return bytes(pdf.output())


def render_invoice_pdf(invoice) -> bytes:
    """The invoice as PDF bytes (A4). Deterministic: rendering the same invoice twice gives
    identical bytes."""
    return render_doc(invoice_doc(invoice))


# --- storage -------------------------------------------------------------------------------------


def _safe(part: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", part).strip("._") or "_"


def invoice_pdf_path(invoice) -> str:
    """Relative to MEDIA_ROOT: ``invoices/<legal entity code>/<number>.pdf``."""
    return f"invoices/{_safe(invoice.legal_entity.code)}/{_safe(invoice.number)}.pdf"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _media_root() -> Path:
    return Path(settings.MEDIA_ROOT)


def store_invoice_pdf(invoice) -> tuple[str, str]:
    """Render and write the finalized invoice's PDF; return (path relative to MEDIA_ROOT, SHA-256).

    Writing is atomic (temporary file, then a hard link that fails if the name exists). An existing
    file with the same content is accepted (a retried finalization). An existing file with other
    content is refused if an invoice records it; otherwise it is an orphan left by a finalization
    that rolled back after writing (the number was then handed out again) and is replaced."""
    if not invoice.number:
        raise InvoicePdfError("Only a finalized invoice (with a number) has a stored PDF.", field="number")
    data = render_invoice_pdf(invoice)
    digest = _sha256(data)
    relative = invoice_pdf_path(invoice)
    path = _media_root() / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        with open(tmp, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            existing = _sha256(path.read_bytes())
            if existing != digest:
                from billing.models import Invoice

                if Invoice.objects.filter(pdf_path=relative, pdf_sha256=existing).exists():
                    raise InvoicePdfConflict(
                        f"A different PDF is already stored for invoice {invoice.number} at {relative}; "
                        "a finalized invoice's PDF is never replaced.",
                        field="number",
                    )
                log.warning("replacing orphaned invoice PDF %s (recorded by no invoice)", relative)
                os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return relative, digest


def open_invoice_pdf(invoice) -> bytes:
    """The stored PDF, after checking it against the SHA-256 recorded at finalization."""
    if not invoice.pdf_path or not invoice.pdf_sha256:
        raise InvoicePdfMissing(f"Invoice {invoice} has no stored PDF (it is rendered at finalization).")
    root = _media_root().resolve()
    path = (root / invoice.pdf_path).resolve()
    if root not in path.parents:
        raise InvoicePdfTampered(f"The stored PDF path of invoice {invoice} points outside the media root.")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InvoicePdfMissing(f"The PDF of invoice {invoice} is missing from storage ({invoice.pdf_path}).")
    actual = _sha256(data)
    if actual != invoice.pdf_sha256:
        raise InvoicePdfTampered(
            f"The stored PDF of invoice {invoice} does not match the SHA-256 recorded at finalization "
            f"(expected {invoice.pdf_sha256[:16]}…, found {actual[:16]}…). It was changed after it was issued."
        )
    return data
