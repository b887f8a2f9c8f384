"""Text on an invoice document: any string made printable in the PDF's embedded fonts (``embedfont``;
amounts, quantities and dates come from the presentation kernel, revops.formatting)."""

from __future__ import annotations

import functools
import unicodedata

from billing.documents.embedfont import printable

# Variation selectors choose a glyph's presentation (text or emoji): nothing to draw on their own.
_SELECTORS = frozenset(chr(c) for c in (*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)))


def pdf_text(value, *, multiline: bool = False) -> str:
    """Text the documents' fonts can draw: characters they have are kept (Latin, Greek, Cyrillic,
    Chinese, Japanese, Korean, ...); others become their compatibility decomposition when the
    fonts have that (mathematical letters, ...), and what has none becomes "?". Control and
    format characters are dropped; newlines are kept only when ``multiline``. Remembered per text (the
    same names and addresses print on every invoice of a customer or legal entity)."""
    return _pdf_text(str(value if value is not None else ""), multiline)


@functools.lru_cache(maxsize=20_000)
def _pdf_text(value: str, multiline: bool) -> str:
    text = unicodedata.normalize("NFC", value)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    out: list[str] = []
    for char in text:
        if char == "\n":
            out.append("\n" if multiline else " ")
        elif unicodedata.category(char) in ("Cc", "Cf") or char in _SELECTORS:
            continue  # controls, zero-width and format characters, emoji and variation selectors
        elif printable(char):
            out.append(char)
        else:  # its compatibility decomposition, when the fonts have that (e.g. 𝐀 → A)
            base = "".join(
                c
                for c in unicodedata.normalize("NFKD", char)
                if not unicodedata.combining(c) and printable(c)
            )
            out.append(base if base else "?")
    if not multiline:
        return "".join(out).strip()
    return "\n".join(line.strip() for line in "".join(out).split("\n")).strip("\n")


def pdf_unprintable(*values) -> str:
    """The characters of ``values`` the document's fonts cannot show at all (:func:`pdf_text` prints
    them as "?"), each once, in order of appearance: what finance is warned about."""
    chars = dict.fromkeys(c for value in values for c in unicodedata.normalize("NFC", str(value or "")))
    return "".join(c for c in chars if c != "?" and _pdf_text(c, False) == "?")
