"""The dates Concord accepts: 1900-01-01 to 2199-12-31, for every date and accounting period that
comes in (API, UI forms, management commands, services). Outside that range a date is a typo or an
attack (9999-12-31 on a payment, period 9999-12 on a revenue run), and it used to be a 500: month
arithmetic overflowed ``date.max``, PostgreSQL refused the value, or a loop over the months between
now and then never ended. Pure module (no ORM)."""

from __future__ import annotations

import re
from datetime import date, datetime

from revops.errors import ValidationFailed

MIN_YEAR, MAX_YEAR = 1900, 2199
MIN_DATE, MAX_DATE = date(MIN_YEAR, 1, 1), date(MAX_YEAR, 12, 31)
RANGE_MESSAGE = f"Dates must be between {MIN_DATE.isoformat()} and {MAX_DATE.isoformat()}."
PERIOD_RANGE_MESSAGE = f"Periods must be between {MIN_YEAR}-01 and {MAX_YEAR}-12."
_PERIOD = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")


def date_in_range(value: date) -> bool:
    if isinstance(value, datetime):
        value = value.date()
    return MIN_DATE <= value <= MAX_DATE


def check_date(value: date, *, field: str = "date") -> date:
    """``value`` if it lies within 1900–2199, else a 400 naming ``field``."""
    if not date_in_range(value):
        raise ValidationFailed(RANGE_MESSAGE, field=field)
    return value


def parse_date(value, *, field: str = "date") -> date:
    """An ISO date (``YYYY-MM-DD``, or a date) within 1900–2199; otherwise a 400 naming ``field``."""
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        try:
            value = date.fromisoformat(str(value).strip())
        except ValueError:
            raise ValidationFailed(f"'{str(value)[:40]}' is not a date (use YYYY-MM-DD).", field=field)
    return check_date(value, field=field)


def period_error(text: str) -> str | None:
    """Why ``text`` is not an accounting period ("YYYY-MM", 1900-01 to 2199-12), or None."""
    match = _PERIOD.match(text) if isinstance(text, str) else None
    if not match:
        return "Use YYYY-MM."
    if not MIN_YEAR <= int(match.group(1)) <= MAX_YEAR:
        return PERIOD_RANGE_MESSAGE
    return None


def check_period(text: str, *, field: str = "period") -> str:
    error = period_error(text)
    if error:
        raise ValidationFailed(
            f"'{str(text)[:40]}' is not an accounting period: {error}" if error == "Use YYYY-MM." else error,
            field=field,
        )
    return text


def period_bounds(text: str) -> tuple[date, date]:
    """The first day of the accounting period ``YYYY-MM`` and the first day after it (end exclusive)."""
    year, month = (int(part) for part in check_period(text).split("-"))
    return date(year, month, 1), date(year + (month == 12), month % 12 + 1, 1)
