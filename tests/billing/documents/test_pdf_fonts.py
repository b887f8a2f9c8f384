"""The documents' embedded Unicode fonts: customers' names in Greek, Cyrillic, Chinese, Japanese and
Korean print as written and read back as written (through each font's ToUnicode CMap, by this
suite's reader and by pypdf); each font is a valid TrueType subset of the vendored font holding the
glyphs drawn, with the font's widths; the bytes depend only on the document (subset tags from a hash
of the glyph set, nothing remembered across renders changes them)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from billing.documents import embedfont, pdfwriter
from billing.documents.drawing import render_doc
from billing.documents.invoice_doc import DocLine, InvoiceDoc
from billing.documents.text import pdf_text, pdf_unprintable
from tests.billing.documents.pdftext import objects, page_strings, stream
from tests.billing.documents.pdftext import pdf_text as read_text

GREEK = "Ελληνική Εταιρεία Εμπορίου Α.Ε."
CYRILLIC = "ООО «Северный Ветер», Москва"
JAPANESE = "株式会社テスト"
CHINESE = "北京测试科技有限公司"
KOREAN = "한국테스트 주식회사"


def _doc(name: str, address: str = "", description: str = "Platform fee") -> InvoiceDoc:
    return InvoiceDoc(
        draft=False,
        number="INV-2026-000001",
        currency="EUR",
        created=datetime(2026, 9, 1, 9, 30, tzinfo=UTC),
        entity_name="Concord Europe GmbH",
        entity_address="Friedrichstraße 123\n10117 Berlin",
        entity_tax_id="DE123456789",
        customer_name=pdf_text(name),
        customer_address=pdf_text(address, multiline=True),
        customer_email="ap@customer.example",
        customer_external_id="cus_1",
        contract_number="C-1",
        issue_date="1 Sep 2026",
        due_date="1 Oct 2026",
        billing_period="1 Aug 2026 \u2013 1 Sep 2026",
        lines=(DocLine(pdf_text(description), "1 Aug 2026 \u2013 1 Sep 2026", "1", "100.00", "100.00"),),
        totals=(("Subtotal", "100.00"),),
        total_due="100.00",
        footnote="Amounts in EUR.",
        facts=(("Invoice number", "INV-2026-000001"),),
        columns=("Description", "Service period", "Quantity", "Unit price (EUR)", "Amount (EUR)"),
    )


def _font_dicts(pdf: bytes) -> dict[str, dict]:
    """Per font resource: its BaseFont, /W array, embedded program and the objects' bodies."""
    objs = objects(pdf)
    resources = next(body for body in objs.values() if body.startswith(b"<< /Font <<"))
    out = {}
    for name, number in re.findall(rb"/F(\w) (\d+) 0 R", resources):
        type0 = objs[int(number)]
        cid = objs[int(number) + 1]
        descriptor = objs[int(number) + 2]
        out[name.decode()] = {
            "type0": type0,
            "cid": cid,
            "base": re.search(rb"/BaseFont /(\S+)", type0).group(1).decode(),
            "w": re.search(rb"/W \[(.*)\] /CIDToGIDMap", cid).group(1).decode(),
            "program": stream(objs[int(re.search(rb"/FontFile2 (\d+) 0 R", descriptor).group(1))]),
            "cid_to_gid": stream(objs[int(re.search(rb"/CIDToGIDMap (\d+) 0 R", cid).group(1))]),
        }
    return out


def _widths(w: str) -> dict[int, int]:
    out = {}
    for first, run in re.findall(r"(\d+) \[([\d ]+)\]", w):
        for offset, width in enumerate(run.split()):
            out[int(first) + offset] = int(width)
    return out


@pytest.mark.parametrize("name", [GREEK, CYRILLIC, JAPANESE, CHINESE, KOREAN])
def test_a_name_in_another_script_prints_and_reads_back_as_written(name):
    assert pdf_unprintable(name) == ""  # no warning
    pdf = render_doc(_doc(name, address=f"{name}\n1 Main Street"))
    first_page = page_strings(pdf)[0]
    assert name in first_page  # the bold name, read through the ToUnicode CMaps
    assert f"{name} \u00b7 Invoice INV-2026-000001" not in first_page  # (the footer is the issuer's)
    extracted = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert name in extracted, extracted  # an independent reader agrees
    assert "?" not in read_text(pdf)


def test_cjk_text_is_drawn_in_the_fallback_font_and_latin_in_dejavu():
    pdf = render_doc(_doc(f"{JAPANESE} Holdings", description=f"Seats {KOREAN}"))
    fonts = _font_dicts(pdf)
    assert sorted(fonts) == ["B", "C", "R"]
    assert fonts["R"]["base"].endswith("+DejaVuSans") and fonts["B"]["base"].endswith("+DejaVuSans-Bold")
    assert fonts["C"]["base"].endswith("+DroidSansFallback")
    latin_only = _font_dicts(render_doc(_doc("Müller & Söhne KG")))
    assert sorted(latin_only) == ["B", "R"]  # the CJK font only where a document needs it


def test_each_font_is_a_valid_subset_of_the_vendored_font_with_its_widths():
    pdf = render_doc(_doc(f"{GREEK} {JAPANESE} {KOREAN}", address=CYRILLIC, description="Über – café ½ ✓"))
    for name, found in _font_dicts(pdf).items():
        assert re.fullmatch(r"[A-Z]{6}\+[\w-]+", found["base"])
        assert b"/Encoding /Identity-H" in found["type0"]
        assert b"/Subtype /CIDFontType2" in found["cid"]
        # checkChecksums=2: every table checksum and head's checkSumAdjustment must be right.
        subset = TTFont(io.BytesIO(found["program"]), checkChecksums=2)
        full = embedfont.font(name)
        original = TTFont(embedfont.FONT_DIR / embedfont.FILES[name], lazy=True)
        widths = _widths(found["w"])
        assert widths and all(widths[gid] == full.widths[gid] for gid in widths)
        loca, glyf, hmtx = subset["loca"], subset["glyf"], subset["hmtx"]
        cid_to_gid = found["cid_to_gid"]
        for code in widths:  # the glyph each code shows is the font's own outline for that glyph number
            sub = int.from_bytes(cid_to_gid[2 * code : 2 * code + 2], "big")
            mine, theirs = glyf[subset.getGlyphName(sub)], original["glyf"][original.getGlyphName(code)]
            if theirs.numberOfContours:
                assert mine.getCoordinates(glyf) == theirs.getCoordinates(original["glyf"])
            assert hmtx[subset.getGlyphName(sub)] == original["hmtx"][original.getGlyphName(code)]
            assert not getattr(mine, "program", None) or not mine.program.getBytecode()  # unhinted
        # Nothing else: the glyphs drawn, .notdef and the parts of composite glyphs.
        assert subset["maxp"].numGlyphs == len(loca) - 1 == len(_closure(full, {0, *widths}))
        assert len(cid_to_gid) == 2 * (max(widths) + 1)


def _closure(font, gids: set[int]) -> set[int]:
    out, todo = set(gids), list(gids)
    while todo:
        for part in font.components(todo.pop()):
            if part not in out:
                out.add(part)
                todo.append(part)
    return out


def test_the_glyphs_of_a_composite_character_come_with_it():
    """DejaVu draws "é" from "e" and the acute accent: the subset carries both, renumbered with it."""
    font = embedfont.font("R")
    gid = font.cmap[ord("é")]
    parts = font.components(gid)
    assert parts  # a composite glyph
    program, cid_to_gid = font.subset([gid])
    subset = TTFont(io.BytesIO(program))
    assert subset["maxp"].numGlyphs == 2 + len(parts)  # .notdef, é and its parts
    mine = subset["glyf"][subset.getGlyphName(int.from_bytes(cid_to_gid[2 * gid :], "big"))]
    original = TTFont(embedfont.FONT_DIR / embedfont.FILES["R"], lazy=True)
    theirs = original["glyf"][original.getGlyphName(gid)]
    assert mine.isComposite()
    assert mine.getCoordinates(subset["glyf"]) == theirs.getCoordinates(original["glyf"])


def test_the_bytes_depend_only_on_the_document():
    doc = _doc(f"{GREEK} / {JAPANESE}", address=CYRILLIC)
    first = render_doc(doc)
    pdfwriter._font_objects.cache_clear()
    pdfwriter._runs.clear()
    assert render_doc(doc) == first  # nothing remembered changes a byte
    render_doc(_doc(KOREAN))  # another document in between
    assert render_doc(doc) == first
    assert b"/CreationDate (D:20260901093000Z)" in first


def test_the_subset_tag_is_a_hash_of_the_glyph_set():
    def tags(name: str) -> dict[str, str]:
        return {key: found["base"] for key, found in _font_dicts(render_doc(_doc(name))).items()}

    one = tags("Alpha Ltd")
    assert one == tags("Alpha Ltd") == tags("Zulu Quartz Ltd")  # all embed printable ASCII (BASE)
    other = tags("Żółć Ltd")  # the customer's name is bold
    assert other["R"] == one["R"] and other["B"] != one["B"]
    assert embedfont.subset_tag("DejaVuSans", [3, 4]) == embedfont.subset_tag("DejaVuSans", (4, 3))


def test_a_character_no_font_has_prints_as_a_question_mark_and_is_reported():
    name = "Fox 🦊 Trading شركة"
    assert pdf_unprintable(name) == "🦊شركة"
    pdf = render_doc(_doc(name))
    assert "Fox ? Trading ????" in page_strings(pdf)[0]
