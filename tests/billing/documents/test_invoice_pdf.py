"""Invoice PDF (issue 5 §4): rendering, determinism, storage with SHA-256, tamper detection."""

from __future__ import annotations

import hashlib
import re
import zlib
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billing.documents.drawing import render_invoice_pdf
from billing.documents.storage import (
    InvoicePdfConflict,
    InvoicePdfError,
    InvoicePdfMissing,
    InvoicePdfTampered,
    open_invoice_pdf,
    store_invoice_pdf,
)
from billing.documents.text import (
    _REPLACEMENTS,
    _encodable,
    pdf_text,
)
from tests.billing.documents.factories import InvoiceFactory, InvoiceLineFactory
from tests.revops.factories import CustomerFactory, LegalEntityFactory

LONG_NAME = (
    "Ōsaka Żółć Trading Company — 株式会社 “Global” Holdings ✓ International Limited Partnership "
    "of the Northern and Southern Hemispheres Łódź 😀"
)


def page_texts(pdf: bytes) -> list[bytes]:
    """The decompressed content stream of each page, in order (one per page)."""
    streams = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            streams.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue
    return [s for s in streams if b" Tj" in s or b"TJ" in s]


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b", pdf))


# --- pure helpers --------------------------------------------------------------------------------


def test_pdf_text_keeps_windows_1252_and_replaces_everything_else():
    text = pdf_text(LONG_NAME)
    text.encode("windows-1252")  # never raises: the built-in fonts can draw it
    assert text.startswith("Osaka Zólc Trading Company — ???? “Global” Holdings v International")
    assert text.endswith("Hemispheres Lódz ?")
    assert pdf_text("5 × 3 − 1 → 14\u200b") == "5 × 3 - 1 -> 14"
    assert pdf_text("line 1\nline 2") == "line 1 line 2"
    assert pdf_text("line 1\r\nline 2\n", multiline=True) == "line 1\nline 2"
    assert pdf_text(None) == ""


def test_every_replacement_is_for_a_character_the_fonts_lack():
    assert [hex(ord(c)) for c in _REPLACEMENTS if _encodable(c)] == []
    assert all(_encodable(c) for v in _REPLACEMENTS.values() for c in v)


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
    texts = page_texts(pdf)
    assert len(texts) == pages
    assert all(b"(DESCRIPTION) Tj" in t for t in texts)  # the lines table heading repeats
    assert all(b"INV-2026-000042" in t for t in texts)
    first, last = texts[0], texts[-1]
    assert b"(INVOICE) Tj" in first and b"Osaka Z" in first and b"(Customer ID: cus_osaka) Tj" in first
    assert b"(Tax ID: US 12-3456789) Tj" in first
    assert b"Each line is rounded once to the minor unit \\(ROUND_HALF_UP\\)" in last
    assert b"(Total due \\(USD\\)) Tj" in last and b"(13,205.94) Tj" in last
    assert b"(Tax \\(8.25%\\)) Tj" in last and b"(-100.00) Tj" in last and b"(-50.00) Tj" in last
    assert b"(0.0000025) Tj" in first and b"(1,234,567) Tj" in first


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
