"""Exact speed-ups of fpdf2's hot paths for the invoice documents (fpdf2 is used by nothing else).

Each replacement returns the very same values as the method it replaces (same integers summed in the
same order, the same float operations), so documents keep every byte: tests/billing/documents/
test_pdf_golden.py pins the SHA-256 of PDFs rendered before these existed, in cold and warm processes.

- ``CoreFont.get_text_width``: line breaking asks for the width of each growing prefix of a line and
  of every single character, so the same strings are measured again and again; the sum of the
  characters' widths is remembered per font, text and size (a bounded cache, cleared when full)."""

from __future__ import annotations

from fpdf.fonts import CoreFont

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


def install() -> None:
    """Replace the hot methods (idempotent)."""
    CoreFont.get_text_width = _core_text_width
