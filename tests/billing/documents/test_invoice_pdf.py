"""Invoice PDF (issue 5 §4): rendering, determinism, storage with SHA-256, tamper detection."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billing.documents import embedfont
from billing.documents.drawing import render_invoice_pdf
from billing.documents.storage import (
    InvoicePdfConflict,
    InvoicePdfError,
    InvoicePdfMissing,
    InvoicePdfTampered,
    open_invoice_pdf,
    store_invoice_pdf,
)
from billing.documents.text import pdf_text, pdf_unprintable
from tests.billing.documents.factories import InvoiceFactory, InvoiceLineFactory
from tests.billing.documents.pdftext import page_strings
from tests.revops.factories import CustomerFactory, LegalEntityFactory

LONG_NAME = (
    "Ōsaka Żółć Trading Company — 株式会社 “Global” Holdings ✓ International Limited Partnership "
    "of the Northern and Southern Hemispheres Łódź 😀"
)


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b", pdf))


# --- pure helpers --------------------------------------------------------------------------------


def test_pdf_text_keeps_every_character_the_fonts_draw():
    assert pdf_text(LONG_NAME) == LONG_NAME  # Latin, CJK, symbols, an emoji DejaVu Sans has
    for name in (
        "Ελληνική Εταιρεία Α.Ε.",
        "ООО «Москва»",
        "株式会社テスト",
        "한국상사 주식회사",
        "Łódź Żółć",
    ):
        assert pdf_text(name) == name and pdf_unprintable(name) == ""
    assert pdf_text("5 × 3 − 1 → 14\u200b") == "5 × 3 − 1 → 14"  # a zero-width space is dropped
    assert pdf_text("line 1\nline 2") == "line 1 line 2"
    assert pdf_text("line 1\r\nline 2\n", multiline=True) == "line 1\nline 2"
    assert pdf_text("Zoe\u0308") == "Zoë"  # composed first (NFC)
    assert pdf_text(None) == ""


def test_a_character_no_font_has_prints_as_its_compatibility_form_or_a_question_mark():
    assert not embedfont.printable("\U0001d400")  # MATHEMATICAL BOLD CAPITAL A
    assert pdf_text("\U0001d400BC Ltd") == "ABC Ltd" and pdf_unprintable("\U0001d400BC") == ""
    text = "Fox 🦊 Co \U00013000"  # an emoji DejaVu Sans lacks, an Egyptian hieroglyph
    assert pdf_text(text) == "Fox ? Co ?"
    assert pdf_unprintable(text, "Fox again 🦊") == "🦊\U00013000"


def test_scripts_that_need_shaping_or_right_to_left_order_are_reported_not_drawn_wrongly():
    """DejaVu Sans has Arabic and Hebrew glyphs, but drawn one per character, left to right, they
    would read wrongly (unjoined letters, reversed words): they print "?" and the page warns."""
    arabic, hebrew = "شركة", "חברה"
    assert all(embedfont.font("R").cmap.get(ord(c)) for c in arabic + hebrew)  # the glyphs are there
    assert pdf_text(f"{arabic} / {hebrew}") == "???? / ????"
    assert pdf_unprintable(arabic, hebrew) == arabic + hebrew
    assert pdf_text("q\u0303") == "q?"  # a combining mark NFC cannot compose with its letter


# --- rendering -----------------------------------------------------------------------------------


@pytest.fixture
def long_invoice(db):
    entity = LegalEntityFactory(
        code="concord-us",
        name="Concord Demo Inc.",
        address="500 Market Street, Suite 1200\nSan Francisco, CA 94105\nUnited States",
        tax_id="US 12-3456789",
    )
    customer = CustomerFactory(
        name=LONG_NAME,
        external_id="cus_osaka",
        email="ap@osaka.example",
        address="1 Harbour Road\nOsaka 530-0001\nJapan",
        legal_entity=entity,
    )
    invoice = InvoiceFactory(
        contract__customer=customer,
        legal_entity=entity,
        number="INV-2026-000042",
        subtotal=Decimal("12345.67"),
        discount=Decimal("100.00"),
        tax_rate=Decimal("8.2500"),
        tax=Decimal("1010.27"),
        credits_applied=Decimal("50.00"),
        total=Decimal("13205.94"),
    )
    for index in range(60):
        long = index % 4 == 0
        InvoiceLineFactory(
            invoice=invoice,
            position=index,
            description=(
                f"LLM tokens (gpt-4o, input) — usage billed in arrears, line {index}, including late events "
                "received after the previous invoice was finalized × 2"
                if long
                else f"Pro plan seats — line {index}"
            ),
            quantity=Decimal("1234567") if long else Decimal("5"),
            unit_amount=Decimal("0.000002500000") if long else Decimal("50"),
            amount=Decimal("3.09") if long else Decimal("250.00"),
        )
    return invoice


def test_renders_a_multi_page_a4_invoice_with_the_heading_repeated(long_invoice):
    pdf = render_invoice_pdf(long_invoice)
    assert pdf.startswith(b"%PDF-")
    pages = page_count(pdf)
    assert pages >= 3
    assert b"/MediaBox [0 0 595.28 841.89]" in pdf  # A4 in points
    pages_text = page_strings(pdf)
    assert len(pages_text) == pages
    with_lines = [
        runs for runs in pages_text if any(r.startswith(("Pro plan seats", "LLM tokens")) for r in runs)
    ]
    assert len(with_lines) >= pages - 1  # (the totals may start a page of their own)
    assert all("DESCRIPTION" in runs for runs in with_lines)  # the lines table heading repeats
    assert all(any("INV-2026-000042" in run for run in runs) for runs in pages_text)
    first, last = pages_text[0], pages_text[-1]
    assert "INVOICE" in first and LONG_NAME.split(" — ")[0] in " ".join(first)
    assert "Customer ID: cus_osaka" in first and "Tax ID: US 12-3456789" in first
    assert any("Each line is rounded once to the minor unit (ROUND_HALF_UP)" in run for run in last)
    assert "Total due (USD)" in last and "13,205.94" in last
    assert "Tax (8.25%)" in last and "-100.00" in last and "-50.00" in last
    assert "0.0000025" in first and "1,234,567" in first


def test_rendering_is_deterministic_and_dated_from_finalization(long_invoice):
    first = render_invoice_pdf(long_invoice)
    second = render_invoice_pdf(long_invoice)
    assert first == second
    assert b"/CreationDate (D:20260901093000Z" in first
    long_invoice.finalized_at = datetime(2026, 9, 2, tzinfo=UTC)
    assert render_invoice_pdf(long_invoice) != first


def test_an_invoice_without_lines_or_addresses_still_renders(db):
    invoice = InvoiceFactory(total=Decimal("0"))
    assert render_invoice_pdf(invoice).startswith(b"%PDF-")


# --- storage -------------------------------------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_store_then_open_round_trips_with_the_sha256(long_invoice, media):
    path, digest = store_invoice_pdf(long_invoice)
    assert path == "invoices/concord-us/INV-2026-000042.pdf"
    data = (media / path).read_bytes()
    assert hashlib.sha256(data).hexdigest() == digest and data.startswith(b"%PDF")
    assert list((media / "invoices" / "concord-us").iterdir()) == [media / path]  # no temp files left
    long_invoice.pdf_path, long_invoice.pdf_sha256 = path, digest
    long_invoice.save()
    assert open_invoice_pdf(long_invoice) == data
    # A retried finalization writes the same bytes: accepted, nothing changes.
    assert store_invoice_pdf(long_invoice) == (path, digest)


def test_a_tampered_file_is_refused(long_invoice, media):
    path, digest = store_invoice_pdf(long_invoice)
    long_invoice.pdf_path, long_invoice.pdf_sha256 = path, digest
    stored = media / path
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit, anywhere
    stored.write_bytes(bytes(data))
    with pytest.raises(InvoicePdfTampered, match="does not match the SHA-256"):
        open_invoice_pdf(long_invoice)


def test_a_recorded_pdf_is_never_overwritten_with_different_content(long_invoice, media):
    path, digest = store_invoice_pdf(long_invoice)
    long_invoice.pdf_path, long_invoice.pdf_sha256 = path, digest
    long_invoice.save()
    long_invoice.total = Decimal("1.00")
    with pytest.raises(InvoicePdfConflict):
        store_invoice_pdf(long_invoice)
    assert hashlib.sha256((media / path).read_bytes()).hexdigest() == digest


def test_an_orphan_from_a_rolled_back_finalization_is_replaced(long_invoice, media):
    orphan = media / "invoices" / "concord-us" / "INV-2026-000042.pdf"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"%PDF-1.3 left behind by a finalization that rolled back")
    path, digest = store_invoice_pdf(long_invoice)
    assert hashlib.sha256((media / path).read_bytes()).hexdigest() == digest


def test_missing_and_draft_pdfs_raise_clear_errors(long_invoice, media):
    with pytest.raises(InvoicePdfMissing, match="no stored PDF"):
        open_invoice_pdf(long_invoice)
    long_invoice.pdf_path, long_invoice.pdf_sha256 = "invoices/concord-us/gone.pdf", "0" * 64
    with pytest.raises(InvoicePdfMissing, match="missing from storage"):
        open_invoice_pdf(long_invoice)
    long_invoice.pdf_path = "../../etc/passwd"
    with pytest.raises(InvoicePdfTampered, match="outside the media root"):
        open_invoice_pdf(long_invoice)
    draft = InvoiceFactory(status="draft", number=None, sequence=None)
    with pytest.raises(InvoicePdfError, match="finalized"):
        store_invoice_pdf(draft)
