"""Text on an invoice document: any string made printable in the PDF's Windows-1252 core fonts
(amounts, quantities and dates come from the presentation kernel, revops.formatting)."""

from __future__ import annotations

import functools
import unicodedata

ENCODING = "windows-1252"

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


# Windows-1252 characters that are nevertheless dropped (controls and format characters, the newline
# aside): a text without any of them, that encodes as a whole, is kept character for character.
_DROPPED = frozenset(
    c
    for c in bytes(range(256)).decode(ENCODING, errors="ignore")
    if unicodedata.category(c) in ("Cc", "Cf") and c != "\n" and c not in _REPLACEMENTS
)


def pdf_text(value, *, multiline: bool = False) -> str:
    """Text the built-in fonts can draw: Windows-1252 characters are kept, others are mapped
    ("−" → "-", "ł" → "l", "ő" → "o"), and what has no equivalent becomes "?". Control characters
    are dropped; newlines are kept only when ``multiline``. Remembered per text (the same names and
    addresses print on every invoice of a customer or legal entity)."""
    return _pdf_text(str(value if value is not None else ""), multiline)


@functools.lru_cache(maxsize=20_000)
def _pdf_text(value: str, multiline: bool) -> str:
    text = unicodedata.normalize("NFC", value)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    if _DROPPED.isdisjoint(text):
        try:
            text.encode(ENCODING)
        except UnicodeEncodeError:
            pass
        else:  # every character kept: only the newlines and the ends change
            if not multiline:
                return text.replace("\n", " ").strip()
            return "\n".join(line.strip() for line in text.split("\n")).strip("\n")
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


def pdf_unprintable(*values) -> str:
    """The characters of ``values`` the document's fonts cannot show at all (:func:`pdf_text` prints
    them as "?"), each once, in order of appearance: what finance is warned about."""
    chars = dict.fromkeys(c for value in values for c in unicodedata.normalize("NFC", str(value or "")))
    return "".join(c for c in chars if c != "?" and _pdf_text(c, False) == "?")
