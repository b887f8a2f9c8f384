"""A small deterministic PDF writer for the customer documents: A4 pages of text, straight lines and
rectangles — all the documents draw — with the text in embedded Unicode fonts (``embedfont``: DejaVu
Sans and Sans Bold, Droid Sans Fallback for Chinese, Japanese and Korean), so customers' names and
addresses print as they are written, in any of the scripts those fonts draw without shaping.

It writes the content streams directly (no layout engine): a page is a list of PDF operators, text is
placed at coordinates the drawing computes, and line breaking is a greedy word wrap over the fonts'
metrics. Each font is a Type0 font with Identity-H encoding over a CIDFontType2 whose codes are the
font's own glyph numbers (a CIDToGIDMap maps them to the subset's); it embeds a subset of the glyphs
the document draws, with their widths (``/W``) and a ToUnicode CMap so that the text can be searched, copied and
extracted. Everything that does not depend on the document — the fonts, each text's glyphs and width —
is computed once per process, and the font objects of a glyph set are remembered, so a two-line invoice
costs a millisecond or two of CPU. Output depends only on the calls made: no clock, no random ID or
subset tag, fixed number formatting (two decimals), so the same document always gives the same bytes.

Coordinates are millimetres from the top-left corner of the page (as the drawing thinks of them);
the writer converts to PDF points from the bottom-left.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from billing.documents import embedfont

K = 72 / 25.4  # points per millimetre
PAGE_W, PAGE_H = 210.0, 297.0  # A4, millimetres
CELL_MARGIN = 1.0  # horizontal padding inside a text box, millimetres

_ESCAPE = str.maketrans({"\\": "\\\\", "(": "\\(", ")": "\\)", "\r": "\\r"})
_CACHE_MAX = 100_000


class _Run:
    """A text as drawn in one style: its pieces per font (resource name, hex glyph codes), the glyphs
    each font draws, and its width in 1/1000 of the font size."""

    __slots__ = ("pieces", "glyphs", "units")

    def __init__(self, style: str, text: str) -> None:
        pieces: list[tuple[str, list[str]]] = []
        glyphs: dict[str, set[int]] = {}
        units = 0
        for char in text:
            found = embedfont.glyph(style, char) or embedfont.glyph(style, "?")
            name, gid, width = found
            units += width
            glyphs.setdefault(name, set()).add(gid)
            if pieces and pieces[-1][0] == name:
                pieces[-1][1].append(f"{gid:04X}")
            else:
                pieces.append((name, [f"{gid:04X}"]))
        self.pieces = tuple((name, "".join(codes)) for name, codes in pieces)
        self.glyphs = tuple((name, frozenset(gids)) for name, gids in glyphs.items())
        self.units = units


_runs: dict[tuple[str, str], _Run] = {}


def _run(font: str, text: str) -> _Run:
    key = (font, text)
    found = _runs.get(key)
    if found is None:
        if len(_runs) >= _CACHE_MAX:
            _runs.clear()
        found = _runs[key] = _Run(font, text)
    return found


def text_units(font: str, text: str) -> int:
    """The width of ``text`` in ``font`` ("R" or "B") in 1/1000 of the font size."""
    return _run(font, text).units


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
    baseline a little below the box's middle, 1 mm in from the side it is aligned to. ``glyphs`` holds
    the glyphs drawn, per font: what the document's font subsets embed."""

    def __init__(self) -> None:
        self.pages: list[list[str]] = []
        self.current = -1
        self.glyphs: dict[str, set[int]] = {}

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
        run = _run(font, text)
        if align == "R":
            x = x + w - CELL_MARGIN - run.units * size / 1000 / K
        elif align == "C":
            x = x + (w - run.units * size / 1000 / K) / 2
        else:
            x = x + CELL_MARGIN
        baseline = top + h / 2 + 0.3 * size / K
        for name, gids in run.glyphs:
            self.glyphs.setdefault(name, set()).update(gids)
        size_text, rgb = _num(size), _rgb(color)
        shown = []
        for name, codes in run.pieces:
            if font == "B" and name in embedfont.NO_BOLD:
                # A font without a bold face in bold text (CJK): its glyphs filled and outlined in the
                # text's colour, a stroke of 3% of the size, so that they look bold too.
                shown.append(f"/F{name} {size_text} Tf {rgb} RG 2 Tr {_num(size * 0.03)} w <{codes}> Tj 0 Tr")
            else:
                shown.append(f"/F{name} {size_text} Tf <{codes}> Tj")
        self.ops.append(f"{rgb} rg BT {_num(x * K)} {_num((PAGE_H - baseline) * K)} Td {' '.join(shown)} ET")

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


def _stream(data: bytes, extra: str = "") -> bytes:
    packed = zlib.compress(data, 6)
    return (
        f"<< /Filter /FlateDecode /Length {len(packed)}{extra} >>\nstream\n".encode()
        + packed
        + b"\nendstream"
    )


def _widths(widths: list[int], gids: list[int]) -> str:
    """The /W array of these glyphs: each run of consecutive glyph numbers with its widths."""
    out, run = [], []
    for gid in gids:
        if run and gid == run[-1] + 1:
            run.append(gid)
            continue
        if run:
            out.append(f"{run[0]} [{' '.join(str(widths[g]) for g in run)}]")
        run = [gid]
    if run:
        out.append(f"{run[0]} [{' '.join(str(widths[g]) for g in run)}]")
    return "[" + " ".join(out) + "]"


def _to_unicode(font: embedfont.Font, gids: list[int]) -> bytes:
    """The ToUnicode CMap of these glyphs: what each reads as when the text is extracted or copied."""
    chars = font.unicode
    pairs = [(gid, chars.get(gid, "\ufffd")) for gid in gids]
    lines = [
        "/CIDInit /ProcSet findresource begin",
        "12 dict begin",
        "begincmap",
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        "/CMapName /Adobe-Identity-UCS def",
        "/CMapType 2 def",
        "1 begincodespacerange",
        "<0000> <FFFF>",
        "endcodespacerange",
    ]
    for start in range(0, len(pairs), 100):
        chunk = pairs[start : start + 100]
        lines.append(f"{len(chunk)} beginbfchar")
        lines += [f"<{gid:04X}> <{char.encode('utf-16-be').hex().upper()}>" for gid, char in chunk]
        lines.append("endbfchar")
    lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return "\n".join(lines).encode("ascii")


@functools.lru_cache(maxsize=256)
def _font_objects(name: str, first: int, gids: tuple[int, ...]) -> tuple[bytes, ...]:
    """The six objects of one embedded font, numbered from ``first``: the Type0 font, its CIDFont,
    the descriptor, the subset font program, the ToUnicode CMap and the CIDToGIDMap. Remembered per
    glyph set (the objects depend on nothing else)."""
    font = embedfont.font(name)
    base = f"{embedfont.subset_tag(font.name, gids)}+{font.name}"
    program, cid_to_gid = font.subset(gids)
    return (
        (
            f"<< /Type /Font /Subtype /Type0 /BaseFont /{base} /Encoding /Identity-H "
            f"/DescendantFonts [{first + 1} 0 R] /ToUnicode {first + 4} 0 R >>"
        ).encode(),
        (
            f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{base} "
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
            f"/FontDescriptor {first + 2} 0 R /DW 1000 /W {_widths(font.widths, list(gids))} "
            f"/CIDToGIDMap {first + 5} 0 R >>"
        ).encode(),
        (
            f"<< /Type /FontDescriptor /FontName /{base} {font.descriptor} /FontFile2 {first + 3} 0 R >>"
        ).encode(),
        _stream(program, f" /Length1 {len(program)}"),
        _stream(_to_unicode(font, list(gids))),
        _stream(cid_to_gid),
    )


# Objects 1-4: catalog, page tree, resources, information dictionary; then six objects per font the
# document uses (in embedfont.ORDER), then each page and its content stream.
_CATALOG = b"<< /Type /Catalog /Pages 2 0 R /Lang (en) /PageLayout /OneColumn >>"
_HEADER = b"%PDF-1.4\n%\xe9\xeb\xf1\xbf\n"
_MEDIABOX = f"[0 0 {_num(PAGE_W * K)} {_num(PAGE_H * K)}]"


def pdf_bytes(
    pages: Iterable[list[str]],
    *,
    info: dict[str, str],
    created: datetime,
    glyphs: Mapping[str, Iterable[int]],
) -> bytes:
    """The document: the fonts of ``glyphs`` (a Canvas's: the glyphs drawn per font) as subsets, one
    compressed content stream per page, and an information dictionary of ``info`` (Title, Author, …)
    dated ``created``."""
    pages = list(pages)
    objects: list[bytes] = [_CATALOG, b"", b""]
    fields = dict(info, CreationDate=_pdf_date(created))
    objects.append(
        ("<< " + " ".join(f"/{k} {_string(v)}" for k, v in sorted(fields.items())) + " >>").encode("latin-1")
    )
    resources = []
    for name in embedfont.ORDER:
        used = glyphs.get(name)
        if used:
            first = len(objects) + 1
            resources.append(f"/F{name} {first} 0 R")
            objects += _font_objects(name, first, tuple(sorted(embedfont.font(name).base.union(used))))
    objects[2] = f"<< /Font << {' '.join(resources)} >> /ProcSet [/PDF /Text] >>".encode()
    first_page = len(objects) + 1
    kids = " ".join(f"{first_page + 2 * i} 0 R" for i in range(len(pages)))
    objects[1] = f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} /MediaBox {_MEDIABOX} >>".encode()
    for index, ops in enumerate(pages):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /Resources 3 0 R /Contents {first_page + 2 * index + 1} 0 R >>".encode()
        )
        objects.append(_stream("\n".join(ops).encode("ascii")))
    out = bytearray(_HEADER)
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 4 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
