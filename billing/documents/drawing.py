"""Drawing an invoice document on A4 with fpdf2 (pure Python). Deterministic: the document's dates come
from ``finalized_at`` and the producer metadata is fixed, so the same invoice always gives the same
bytes."""

from __future__ import annotations

from fpdf import FPDF
from fpdf.fonts import FontFace

from billing.documents import fpdf_speedups
from billing.documents.invoice_doc import InvoiceDoc, invoice_doc
from billing.documents.text import ENCODING

fpdf_speedups.install()

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
