"""The API's JSON parser: DRF's, with a depth limit. A body nested 100,000 deep made the C decoder
raise RecursionError (not a ValueError, so DRF let it through as a 500); anything nested deeper than
:data:`revops.jsonsafe.MAX_JSON_DEPTH` is now a 400 problem before any view sees it."""

from __future__ import annotations

import codecs
import math

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils.json import strict_constant

from revops.jsonsafe import MAX_JSON_DEPTH, JSONTooDeep, loads_bounded


def _finite_float(text: str) -> float:
    """A JSON number as Python reads it, except that 1e400 is refused instead of becoming Infinity
    (which nothing downstream can store, multiply or render)."""
    value = float(text)
    if not math.isfinite(value):
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
                parse_float=_finite_float,
            )
        except JSONTooDeep as exc:
            raise ParseError(str(exc))
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}")
