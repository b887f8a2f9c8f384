"""Drawing an invoice document on A4 with the small PDF writer (``pdfwriter``). Deterministic: the
document's dates come from ``finalized_at`` and the producer metadata is fixed, so the same invoice
always gives the same bytes.

The layout is computed here in millimetres from the top of the page: a heading (issuer left, title
and facts right), the parties with the amount-due panel, the lines table (its heading repeated on
every page it continues on), the totals and the payment note; every page has a footer ("Page i of
n") and every page after the first a running header."""

from __future__ import annotations

from billing.documents.invoice_doc import InvoiceDoc, credit_note_doc, invoice_doc, statement_doc
from billing.documents.pdfwriter import PAGE_H, PAGE_W, Canvas, pdf_bytes, text_width, wrap

PRODUCER = "Concord billing"

# Colours (RGB) matching the UI's palette.
INK = (23, 33, 43)
INK_2 = (59, 71, 84)
MUTED = (107, 119, 133)
BRAND = (31, 79, 209)
LINE = (214, 220, 227)
PANEL = (245, 247, 250)
WHITE = (255, 255, 255)

MARGIN = 18.0
CONTENT_W = PAGE_W - 2 * MARGIN
BOTTOM = PAGE_H - 24.0  # content stops here; the footer is below
COLUMNS = (55.0, 45.0, 22.0, 29.0, 23.0)  # the longest service period fits on a line in DejaVu Sans
ALIGN = ("L", "L", "R", "R", "R")
ROW_LINE, ROW_PAD_V, ROW_PAD_H = 4.6, 1.8, 0.5


class _Page:
    """The canvas and the flowing y position, with page breaks that draw the running header."""

    def __init__(self, doc: InvoiceDoc):
        self.doc = doc
        self.canvas = Canvas()
        self.y = MARGIN
        self.canvas.add_page()

    def new_page(self) -> None:
        doc, canvas = self.doc, self.canvas
        canvas.add_page()
        half = CONTENT_W / 2
        canvas.text(MARGIN, 10, half, 5, doc.entity_name[:80], font="B", size=9, color=INK)
        label = f"{doc.title.title()} {doc.number}" + (" (draft)" if doc.draft else "") + " \u2013 continued"
        canvas.text(MARGIN + half, 10, half, 5, label, size=9, color=MUTED, align="R")
        canvas.line(MARGIN, 16.5, PAGE_W - MARGIN, 16.5, color=LINE, width=0.25)
        self.y = 21.0

    def room(self, height: float) -> None:
        if self.y + height > BOTTOM:
            self.new_page()

    def paragraph(self, x, w, lh, text, *, font="R", size=9.0, color=INK_2) -> None:
        for line in wrap(font, size, text, w - 2):
            self.room(lh)
            self.canvas.text(x, self.y, w, lh, line, font=font, size=size, color=color)
            self.y += lh

    def label(self, x: float, w: float, text: str) -> None:
        self.canvas.text(x, self.y, w, 4.5, text.upper(), font="B", size=7.5, color=MUTED)
        self.y += 4.5


def _heading(page: _Page, doc: InvoiceDoc) -> None:
    canvas = page.canvas
    left_w, right_w = CONTENT_W * 0.55, CONTENT_W * 0.45
    page.y = MARGIN
    page.paragraph(MARGIN, left_w - 6, 6.5, doc.entity_name, font="B", size=14, color=INK)
    if doc.entity_address:
        page.paragraph(MARGIN, left_w - 6, 4.6, doc.entity_address)
    if doc.entity_tax_id:
        page.paragraph(MARGIN, left_w - 6, 4.6, f"Tax ID: {doc.entity_tax_id}")
    left_bottom = page.y

    x = MARGIN + left_w
    title = doc.title.upper() if not doc.draft else f"DRAFT {doc.title.upper()}"
    canvas.text(
        x,
        MARGIN - 1,
        right_w,
        10,
        title,
        font="B",
        size=24 if len(title) < 14 else 18,
        color=BRAND,
        align="R",
    )
    y = MARGIN + 11
    for label, value in doc.facts:
        canvas.text(x, y, right_w * 0.42, 5, label, size=8.5, color=MUTED, align="R")
        bold = "B" if label.endswith("number") else "R"
        canvas.text(x + right_w * 0.42, y, right_w * 0.58, 5, value, font=bold, size=9, color=INK, align="R")
        y += 5
    page.y = max(left_bottom, y) + 5
    canvas.line(MARGIN, page.y, PAGE_W - MARGIN, page.y, color=BRAND, width=0.6)
    page.y += 6


def _parties(page: _Page, doc: InvoiceDoc) -> None:
    canvas = page.canvas
    top = page.y
    left_w, box_w = CONTENT_W * 0.58, CONTENT_W * 0.36
    page.label(MARGIN, left_w, doc.party_label)
    page.paragraph(MARGIN, left_w, 5.4, doc.customer_name, font="B", size=10.5, color=INK)
    for text in (doc.customer_address, doc.customer_email):
        if text:
            page.paragraph(MARGIN, left_w, 4.6, text)
    page.paragraph(MARGIN, left_w, 4.6, f"Customer ID: {doc.customer_external_id}", color=MUTED)
    left_bottom = page.y

    x, box_h = PAGE_W - MARGIN - box_w, 26.0
    canvas.rect(x, top, box_w, box_h, fill=PANEL, stroke=LINE, width=0.25)
    canvas.text(x + 5, top + 3.5, box_w - 10, 4.5, doc.panel_label.upper(), font="B", size=7.5, color=MUTED)
    amount, size = f"{doc.total_due} {doc.currency}", 17.0
    while size > 9 and text_width("B", size, amount) > box_w - 12:
        size -= 1
    canvas.text(x + 5, top + 8, box_w - 10, 9, amount, font="B", size=size, color=INK)
    canvas.text(x + 5, top + 17, box_w - 10, 5, doc.panel_note, size=8.5, color=INK_2)
    page.y = max(left_bottom, top + box_h) + 9


def _row(page: _Page, cells, *, font: str, size: float, color, fill) -> None:
    wrapped = [wrap(font, size, text, w - 2 * ROW_PAD_H - 2) for text, w in zip(cells, COLUMNS, strict=True)]
    height = max(len(lines) for lines in wrapped) * ROW_LINE + 2 * ROW_PAD_V
    canvas = page.canvas
    if fill is not None:
        canvas.rect(MARGIN, page.y, CONTENT_W, height, fill=fill)
    x = MARGIN
    for lines, w, align in zip(wrapped, COLUMNS, ALIGN, strict=True):
        y = page.y + ROW_PAD_V
        for line in lines:
            canvas.text(
                x + ROW_PAD_H,
                y,
                w - 2 * ROW_PAD_H,
                ROW_LINE,
                line,
                font=font,
                size=size,
                color=color,
                align=align,
            )
            y += ROW_LINE
        x += w
    page.y += height
    canvas.line(MARGIN, page.y, PAGE_W - MARGIN, page.y, color=LINE, width=0.2)


def _lines(page: _Page, doc: InvoiceDoc) -> None:
    headings = tuple(h.upper() for h in doc.columns)

    def heading() -> None:
        page.canvas.line(MARGIN, page.y, PAGE_W - MARGIN, page.y, color=LINE, width=0.2)
        _row(page, headings, font="B", size=7.5, color=INK_2, fill=PANEL)

    heading()
    rows = [
        (line.description, line.period, line.quantity, line.unit_price, line.amount) for line in doc.lines
    ]
    if not rows:
        page.canvas.text(MARGIN, page.y + ROW_PAD_V, CONTENT_W, ROW_LINE, doc.empty_note, size=8.5, color=INK)
        page.y += ROW_LINE + 2 * ROW_PAD_V
        page.canvas.line(MARGIN, page.y, PAGE_W - MARGIN, page.y, color=LINE, width=0.2)
    for cells in rows:
        longest = max(
            len(wrap("R", 8.5, t, w - 2 * ROW_PAD_H - 2)) for t, w in zip(cells, COLUMNS, strict=True)
        )
        if page.y + longest * ROW_LINE + 2 * ROW_PAD_V > BOTTOM:
            page.new_page()
            heading()
        _row(page, cells, font="R", size=8.5, color=INK, fill=None)


def _totals(page: _Page, doc: InvoiceDoc) -> None:
    canvas = page.canvas
    page.room(7 * (len(doc.totals) + 1) + 30)
    page.y += 4
    label_w, amount_w = 52.0, 34.0
    x = PAGE_W - MARGIN - label_w - amount_w
    for label, amount in doc.totals:
        canvas.text(x, page.y, label_w, 6, label, size=9, color=INK_2)
        canvas.text(x + label_w, page.y, amount_w, 6, amount, size=9, color=INK, align="R")
        page.y += 6
    page.y += 1
    canvas.line(x, page.y, PAGE_W - MARGIN, page.y, color=INK_2, width=0.5)
    page.y += 1.5
    canvas.text(x, page.y, label_w, 8, f"{doc.total_label} ({doc.currency})", font="B", size=11, color=INK)
    canvas.text(x + label_w, page.y, amount_w, 8, doc.total_due, font="B", size=11, color=INK, align="R")
    page.y += 16
    for title, text in doc.notes:
        page.room(14)
        page.label(MARGIN, CONTENT_W, title)
        page.paragraph(MARGIN, CONTENT_W, 4.6, text, size=8.5)
        page.y += 3


def _footers(page: _Page, doc: InvoiceDoc) -> None:
    canvas, count = page.canvas, len(page.canvas.pages)
    for number in range(1, count + 1):
        canvas.use_page(number - 1)
        y = PAGE_H - 17
        canvas.line(MARGIN, y, PAGE_W - MARGIN, y, color=LINE, width=0.25)
        canvas.text(MARGIN, y + 2, CONTENT_W - 30, 4, doc.footnote, size=7.5, color=MUTED)
        canvas.text(
            PAGE_W - MARGIN - 30, y + 2, 30, 4, f"Page {number} of {count}", size=7.5, color=MUTED, align="R"
        )
        canvas.text(
            MARGIN,
            y + 6,
            CONTENT_W,
            4,
            f"{doc.entity_name} \u00b7 {doc.title.title()} {doc.number}",
            size=7.5,
            color=MUTED,
        )


def render_doc(doc: InvoiceDoc) -> bytes:
    page = _Page(doc)
    _heading(page, doc)
    _parties(page, doc)
    _lines(page, doc)
    _totals(page, doc)
    _footers(page, doc)
    title = f"{doc.title.title()} {doc.number}"
    info = {
        "Producer": PRODUCER,
        "Creator": PRODUCER,
        "Title": title,
        "Author": doc.entity_name,
        "Subject": f"{title} to {doc.customer_name}",
    }
    return pdf_bytes(page.canvas.pages, info=info, created=doc.created, glyphs=page.canvas.glyphs)


def render_invoice_pdf(invoice) -> bytes:
    """The invoice as PDF bytes (A4). Deterministic: rendering the same invoice twice gives
    identical bytes."""
    return render_doc(invoice_doc(invoice))


def render_credit_note_pdf(note) -> bytes:
    """A credit note as PDF bytes (deterministic, dated from its creation)."""
    return render_doc(credit_note_doc(note))


def render_statement_pdf(invoice, *, as_of) -> bytes:
    """The statement of a finalized invoice's balance as of a day, as PDF bytes."""
    return render_doc(statement_doc(invoice, as_of=as_of))
