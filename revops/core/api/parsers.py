"""The API's JSON parser: DRF's, with a depth limit. A body nested 100,000 deep made the C decoder
raise RecursionError (not a ValueError, so DRF let it through as a 500); anything nested deeper than
:data:`revops.jsonsafe.MAX_JSON_DEPTH` is now a 400 problem before any view sees it.

A JSON number with a fraction or an exponent is read as the ``Decimal`` it spells (``0.1`` is one
tenth, not the nearest binary floating-point value): money stays exact from the wire on
(accounting.md §1)."""

from __future__ import annotations

import codecs
from decimal import Decimal, InvalidOperation

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils.json import strict_constant

from revops.jsonsafe import MAX_JSON_DEPTH, JSONTooDeep, loads_bounded

# Beyond any amount, quantity or rate a column holds (revops.fields: at most 30 digits) by far; a
# number past it (1e400) is refused as the parser reads it, as it was when it overflowed a float.
MAX_EXPONENT = 308


def _finite_decimal(text: str) -> Decimal:
    """A JSON number with a fraction or exponent as the exact Decimal it spells; 1e400 (or 1e-400)
    is refused as out of range instead of reaching a service."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"the number {text[:40]} is not a number")
    if not value.is_finite() or (not value.is_zero() and abs(value.adjusted()) > MAX_EXPONENT):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


class JSONParser(parsers.JSONParser):
    max_depth = MAX_JSON_DEPTH

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = codecs.getreader(encoding)(stream).read()
            return loads_bounded(
                text,
                max_depth=self.max_depth,
                parse_constant=strict_constant if self.strict else None,
                parse_float=_finite_decimal,
            )
        except JSONTooDeep as exc:
            raise ParseError(str(exc))
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}")
