"""Exact speed-ups of fpdf2's hot paths for the invoice documents (fpdf2 is used by nothing else).

Each replacement returns the very same values as the method it replaces (same integers summed in the
same order, the same float operations), so documents keep every byte: tests/billing/documents/
test_pdf_golden.py pins the SHA-256 of PDFs rendered before these existed, in cold and warm processes.

- ``CoreFont.get_text_width``: line breaking asks for the width of each growing prefix of a line and
  of every single character, so the same strings are measured again and again; the sum of the
  characters' widths is remembered per font, text and size (a bounded cache, cleared when full)."""

from __future__ import annotations

from fpdf.enums import CharVPos
from fpdf.fonts import CoreFont
from fpdf.line_break import Fragment

_WIDTHS_MAX = 200_000
_widths: dict[tuple, tuple[int, float]] = {}
_original_get_text_width = CoreFont.get_text_width


def _core_text_width(self, text, font_size_pt, _shaping=None):
    key = (self.fontkey, text, font_size_pt)
    found = _widths.get(key)
    if found is None:
        if len(_widths) >= _WIDTHS_MAX:
            _widths.clear()
        cw = self.cw
        found = (len(text), sum(map(cw.__getitem__, text)) * font_size_pt * 0.001)
        _widths[key] = found
    return found


_original_fragment_width = Fragment.get_width
_SCALED = (CharVPos.SUB, CharVPos.SUP, CharVPos.NOM, CharVPos.DENOM)


def _fragment_width(self, start=0, end=None, chars=None, initial_cs=True):
    """``Fragment.get_width`` for the plain case (a core font at its size, no character spacing or
    stretching): the same ``width / k`` without the property chain; anything else goes to fpdf2."""
    gs = self.graphics_state
    font = gs.current_font
    if (
        font is None
        or font.type != "core"
        or gs.char_spacing != 0
        or gs.font_stretching != 100
        or gs.char_vpos in _SCALED
    ):
        return _original_fragment_width(self, start, end, chars, initial_cs)
    if chars is None:
        chars = "".join(self.characters[start:end]) if end is not None else "".join(self.characters[start:])
    return font.get_text_width(chars, gs.font_size_pt, None)[1] / self.k


def install() -> None:
    """Replace the hot methods (idempotent)."""
    CoreFont.get_text_width = _core_text_width
    Fragment.get_width = _fragment_width
