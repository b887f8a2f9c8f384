"""Text on an invoice document: any string made printable in the PDF's Windows-1252 core fonts
(amounts, quantities and dates come from the presentation kernel, revops.formatting)."""

from __future__ import annotations

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


def pdf_text(value, *, multiline: bool = False) -> str:
    """Text the built-in fonts can draw: Windows-1252 characters are kept, others are mapped
    ("−" → "-", "ł" → "l", "ő" → "o"), and what has no equivalent becomes "?". Control characters
    are dropped; newlines are kept only when ``multiline``."""
    text = unicodedata.normalize("NFC", str(value if value is not None else ""))
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
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
