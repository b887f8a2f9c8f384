"""Record ids sent by a client (a form field, a query parameter, a path segment).

``str.isdigit()`` alone is not a test for an id: it accepts Unicode digits such as ``'²'`` (which
``int()`` then refuses) and any number of ASCII digits (``int('9' * 5000)`` overflows the column or
Python's int-string limit) — both were 500s. These helpers accept only ASCII digits naming a value
that fits a ``bigint`` primary key (1 to 2**63 - 1); anything else is "not an id".
"""

from __future__ import annotations

from collections.abc import Iterable

BIGINT_MAX = 2**63 - 1
_MAX_DIGITS = len(str(BIGINT_MAX))


def parse_id(value: object) -> int | None:
    """The id ``value`` names (an int, or a string of ASCII digits), or None when it names none."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value <= BIGINT_MAX else None
    if not isinstance(value, str):
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > _MAX_DIGITS:
        return None
    number = int(value)
    return number if 0 < number <= BIGINT_MAX else None


def is_id(value: object) -> bool:
    return parse_id(value) is not None


def parse_ids(values: Iterable[object]) -> list[int]:
    """The ids among ``values``, in order (values that name no id are left out)."""
    return [n for n in (parse_id(v) for v in values) if n is not None]
