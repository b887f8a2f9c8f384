"""A small deterministic PDF writer for the customer documents: A4 pages of text in the two built-in
Helvetica fonts (WinAnsiEncoding), straight lines and rectangles — all the documents draw.

It writes the content streams directly (no layout engine): a page is a list of PDF operators, text is
placed at coordinates the drawing computes, and line breaking is a greedy word wrap over the fonts'
metrics. Everything that does not depend on the document — the font and resource objects, the
metrics, each text's encoded form and width — is computed once per process, so a two-line invoice
costs about a millisecond of CPU. Output depends only on the calls made: no clock, no random ID, fixed
number formatting (two decimals), so the same document always gives the same bytes.

Coordinates are millimetres from the top-left corner of the page (as the drawing thinks of them);
the writer converts to PDF points from the bottom-left.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from datetime import UTC, datetime

from fpdf.fonts import CORE_FONTS_CHARWIDTHS

ENCODING = "windows-1252"
K = 72 / 25.4  # points per millimetre
PAGE_W, PAGE_H = 210.0, 297.0  # A4, millimetres
CELL_MARGIN = 1.0  # horizontal padding inside a text box, millimetres

# Font resource name → (PDF base font, widths of the 256 codes in 1/1000 em).
FONTS = {
    "B": ("Helvetica-Bold", tuple(CORE_FONTS_CHARWIDTHS["helveticaB"][chr(i)] for i in range(256))),
    "R": ("Helvetica", tuple(CORE_FONTS_CHARWIDTHS["helvetica"][chr(i)] for i in range(256))),
}
_ESCAPE = str.maketrans({"\\": "\\\\", "(": "\\(", ")": "\\)", "\r": "\\r"})
_CACHE_MAX = 100_000
_encoded: dict[str, str] = {}
_units: dict[tuple[str, str], int] = {}


def _encode(text: str) -> str:
    """The text as a PDF literal string body: its Windows-1252 bytes (as latin-1 characters), escaped.
    Characters outside Windows-1252 become "?" (the documents' text is made printable beforehand)."""
    found = _encoded.get(text)
    if found is None:
        if len(_encoded) >= _CACHE_MAX:
            _encoded.clear()
        found = text.encode(ENCODING, errors="replace").decode("latin-1").translate(_ESCAPE)
        _encoded[text] = found
    return found


def text_units(font: str, text: str) -> int:
    """The width of ``text`` in ``font`` in 1/1000 of the font size."""
    key = (font, text)
    found = _units.get(key)
    if found is None:
        if len(_units) >= _CACHE_MAX:
            _units.clear()
        widths = FONTS[font][1]
        found = sum(map(widths.__getitem__, text.encode(ENCODING, errors="replace")))
        _units[key] = found
    return found


def text_width(font: str, size: float, text: str) -> float:
    """The width of ``text`` at ``size`` points, in millimetres."""
    return text_units(font, text) * size / 1000 / K


def wrap(font: str, size: float, text: str, width: float) -> list[str]:
    """``text`` broken into lines no wider than ``width`` mm: at newlines, then greedily between words;
    a word wider than a line on its own is broken between characters. An empty text is one empty line."""
    limit = width * K * 1000 / size  # in font units
    out: list[str] = []
    for paragraph in text.split("\n"):
        if text_units(font, paragraph) <= limit:
            out.append(paragraph)
            continue
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if text_units(font, candidate) <= limit:
                line = candidate
                continue
            if line:
                out.append(line)
            line = word
            while text_units(font, line) > limit and len(line) > 1:
                cut = len(line) - 1
                while cut > 1 and text_units(font, line[:cut]) > limit:
                    cut -= 1
                out.append(line[:cut])
                line = line[cut:]
        out.append(line)
    return out


def _num(value: float) -> str:
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text


def _rgb(color: tuple[int, int, int]) -> str:
    return " ".join(f"{c / 255:.4f}" for c in color)


class Canvas:
    """Pages of drawing operators. Text boxes place a line of text in a box like a table cell: the
    baseline a little below the box's middle, 1 mm in from the side it is aligned to."""

    def __init__(self) -> None:
        self.pages: list[list[str]] = []
        self.current = -1

    def add_page(self) -> None:
        self.pages.append([])
        self.current = len(self.pages) - 1

    def use_page(self, index: int) -> None:
        """Draw on an earlier page (footers, once the number of pages is known)."""
        self.current = index

    @property
    def ops(self) -> list[str]:
        return self.pages[self.current]

    def text(
        self,
        x: float,
        top: float,
        w: float,
        h: float,
        text: str,
        *,
        font: str = "R",
        size: float = 9.0,
        color=(0, 0, 0),
        align: str = "L",
    ) -> None:
        if not text:
            return
        if align == "R":
            x = x + w - CELL_MARGIN - text_width(font, size, text)
        elif align == "C":
            x = x + (w - text_width(font, size, text)) / 2
        else:
            x = x + CELL_MARGIN
        baseline = top + h / 2 + 0.3 * size / K
        self.ops.append(
            f"{_rgb(color)} rg BT /F{font} {_num(size)} Tf {_num(x * K)} {_num((PAGE_H - baseline) * K)} Td "
            f"({_encode(text)}) Tj ET"
        )

    def line(self, x1: float, y1: float, x2: float, y2: float, *, color, width: float) -> None:
        self.ops.append(
            f"{_rgb(color)} RG {_num(width * K)} w {_num(x1 * K)} {_num((PAGE_H - y1) * K)} m "
            f"{_num(x2 * K)} {_num((PAGE_H - y2) * K)} l S"
        )

    def rect(
        self, x: float, top: float, w: float, h: float, *, fill, stroke=None, width: float = 0.2
    ) -> None:
        box = f"{_num(x * K)} {_num((PAGE_H - top - h) * K)} {_num(w * K)} {_num(h * K)} re"
        if stroke is None:
            self.ops.append(f"{_rgb(fill)} rg {box} f")
        else:
            self.ops.append(f"{_rgb(fill)} rg {_rgb(stroke)} RG {_num(width * K)} w {box} B")


def _string(value: str) -> str:
    """A PDF text string: a literal for ASCII, UTF-16BE with its byte-order mark otherwise."""
    if value.isascii():
        return f"({value.translate(_ESCAPE)})"
    return "<FEFF" + value.encode("utf-16-be").hex().upper() + ">"


def _pdf_date(when: datetime) -> str:
    return "D:" + when.astimezone(UTC).strftime("%Y%m%d%H%M%S") + "Z"


# Objects 1-4 are the same in every document: catalog, resources, the two fonts. The page tree is 5,
# the information dictionary 6, then each page and its content stream.
_FIXED = (
    "<< /Type /Catalog /Pages 5 0 R /Lang (en) /PageLayout /OneColumn >>",
    "<< /Font << /FB 3 0 R /FR 4 0 R >> /ProcSet [/PDF /Text] >>",
    f"<< /Type /Font /Subtype /Type1 /BaseFont /{FONTS['B'][0]} /Encoding /WinAnsiEncoding >>",
    f"<< /Type /Font /Subtype /Type1 /BaseFont /{FONTS['R'][0]} /Encoding /WinAnsiEncoding >>",
)
_HEADER = b"%PDF-1.4\n%\xe9\xeb\xf1\xbf\n"
_MEDIABOX = f"[0 0 {_num(PAGE_W * K)} {_num(PAGE_H * K)}]"


def pdf_bytes(pages: Iterable[list[str]], *, info: dict[str, str], created: datetime) -> bytes:
    """The document: one compressed content stream per page, the fixed font objects, and an
    information dictionary of ``info`` (Title, Author, …) dated ``created``."""
    pages = list(pages)
    first_page = 7
    kids = " ".join(f"{first_page + 2 * i} 0 R" for i in range(len(pages)))
    fields = dict(info, CreationDate=_pdf_date(created))
    objects: list[bytes] = [o.encode("latin-1") for o in _FIXED]
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} /MediaBox {_MEDIABOX} >>".encode())
    objects.append(
        ("<< " + " ".join(f"/{k} {_string(v)}" for k, v in sorted(fields.items())) + " >>").encode("latin-1")
    )
    for index, ops in enumerate(pages):
        content = zlib.compress("\n".join(ops).encode("latin-1"), 6)
        objects.append(
            f"<< /Type /Page /Parent 5 0 R /Resources 2 0 R /Contents {first_page + 2 * index + 1} 0 R >>".encode()
        )
        objects.append(
            f"<< /Filter /FlateDecode /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream"
        )
    out = bytearray(_HEADER)
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
