"""Reading a stored document back as text: the strings each page draws, in drawing order, decoded
through each font's ToUnicode CMap (what a viewer copies or a search engine indexes)."""

from __future__ import annotations

import re
import zlib

_TEXT = re.compile(rb"BT (.*?) ET")
_SHOWN = re.compile(rb"/(\w+) [\d.]+ Tf|<([0-9A-F]*)> Tj")
_BFCHAR = re.compile(rb"<([0-9A-F]{4})> <([0-9A-F]+)>")


def objects(pdf: bytes) -> dict[int, bytes]:
    """Each object's body by number, cut where the cross-reference table says the objects are (a
    compressed stream may hold any bytes, "endobj" too)."""
    xref = int(re.search(rb"startxref\n(\d+)\n%%EOF", pdf).group(1))
    offsets = [int(o) for o in re.findall(rb"(\d{10}) 00000 n ", pdf[xref:])]
    ends = [*offsets[1:], xref]
    out = {}
    for number, (start, end) in enumerate(zip(offsets, ends, strict=True), start=1):
        header = f"{number} 0 obj\n".encode()
        assert pdf[start : start + len(header)] == header and pdf[end - 8 : end] == b"\nendobj\n"
        out[number] = pdf[start + len(header) : end - 8]
    return out


def stream(body: bytes) -> bytes:
    """A stream object's data, decompressed: the /Length bytes after "stream"."""
    length = int(re.search(rb"/Length (\d+)", body).group(1))
    start = body.index(b">>\nstream\n") + len(b">>\nstream\n")
    assert body[start + length :] == b"\nendstream"
    return zlib.decompress(body[start : start + length])


def _ref(body: bytes, key: bytes) -> int:
    return int(re.search(rb"/" + key + rb" (\d+) 0 R", body).group(1))


def fonts(pdf: bytes) -> dict[str, dict[str, str]]:
    """Each font resource's ToUnicode map: glyph code (4 hex digits) -> text."""
    objs = objects(pdf)
    resources = next(body for body in objs.values() if body.startswith(b"<< /Font <<"))
    out = {}
    for name, number in re.findall(rb"/(\w+) (\d+) 0 R", resources):
        cmap = stream(objs[_ref(objs[int(number)], b"ToUnicode")])
        out[name.decode()] = {
            code.decode(): bytes.fromhex(text.decode()).decode("utf-16-be")
            for code, text in _BFCHAR.findall(cmap)
        }
    return out


def page_strings(pdf: bytes) -> list[list[str]]:
    """Each page's text runs (one per text box drawn, whatever fonts it switches between)."""
    objs, maps = objects(pdf), fonts(pdf)
    pages = []
    for body in objs.values():
        if not body.startswith(b"<< /Type /Page "):
            continue
        runs = []
        for text in _TEXT.findall(stream(objs[_ref(body, b"Contents")])):
            font, parts = None, []
            for name, codes in _SHOWN.findall(text):
                if name:
                    font = maps[name.decode()]
                    continue
                hexes = codes.decode()
                parts += [font[hexes[i : i + 4]] for i in range(0, len(hexes), 4)]
            runs.append("".join(parts))
        pages.append(runs)
    return pages


def pdf_text(pdf: bytes) -> str:
    """All the text of the document, runs separated by single spaces."""
    return " ".join(run for page in page_strings(pdf) for run in page)
