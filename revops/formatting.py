"""The presentation kernel: how Concord shows money, quantities and dates to people (pages, invoice PDFs)
and writes them for machines (CSV/XLSX exports). Pure module (no ORM, no I/O); never used for storage.

People read (pages and PDFs, through these functions or the ``formatting`` template filters):
- a document amount at the currency's minor unit (ISO 4217: USD 2, JPY 0, KWD 3), rounded half up
  for display only, with thousands separators: ``money`` "1,234.50 USD", ``amount`` "1,234.50";
- a unit price at its full stored precision (accounting.md §1: unit prices keep 12 places), trailing
  zeros trimmed but never fewer decimals than the minor unit: 50 JPY "50", 1.5 KWD "1.500",
  0.0000025 USD "0.0000025";
- a quantity without float noise or trailing zeros: "1,234,567", "1.5";
- a day as "1 Mar 2026", a stored half-open period [start, end) as the inclusive "10 Aug – 31 Aug 2026".

Machines read (exports): ``plain_money`` "1234.500" (minor unit, no separators, no code: the same
string the API returns), and every text cell goes through ``safe_cell``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from revops.money import minor_units, quantum

DASH = "—"
MINUS = "\u2212"  # the typographic minus sign (pages); PDFs keep "-" (their fonts lack U+2212)
DEFAULT_PLACES = 2  # a unit price shown without a currency


def to_decimal(value: Any) -> Decimal | None:
    """``value`` as a finite Decimal, or None when it is empty or not a number."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def _grouped(text: str) -> str:
    """Thousands separators on the whole part of a plain decimal string ("-1234.5" → "-1,234.5")."""
    sign = "-" if text.startswith("-") else ""
    whole, _, frac = text.lstrip("-").partition(".")
    whole = f"{int(whole):,}"
    return f"{sign}{whole}.{frac}" if frac else f"{sign}{whole}"


def _signed(text: str, minus: str) -> str:
    return minus + text[1:] if text.startswith("-") and minus != "-" else text


# --- money -------------------------------------------------------------------------------------------


def amount(value: Any, currency: str, *, minus: str = "-", empty: str = DASH) -> str:
    """A document amount at the currency's minor unit: "1,234.50", JPY "1,200", KWD "1.235".
    Rounded half up for display; a zero is never signed ("-0.004" → "0.00")."""
    d = to_decimal(value)
    if d is None:
        return empty if value is None or value == "" else str(value)
    try:
        q = d.quantize(quantum(currency), rounding=ROUND_HALF_UP)
    except InvalidOperation:  # beyond the context's precision: shown as given
        return str(value)
    if q.is_zero():
        q = abs(q)
    return _signed(f"{q:,.{minor_units(currency)}f}", minus)


def money(value: Any, currency: str, *, minus: str = "-", empty: str = DASH) -> str:
    """An amount with its currency code: "1,234.50 USD", "1,200 JPY", "1.235 KWD"; "—" for nothing."""
    text = amount(value, currency, minus=minus, empty=empty)
    if to_decimal(value) is None:
        return text  # nothing, or not a number: shown as given, without a code
    return f"{text} {(currency or '').upper()}"


def plain_money(value: Any, currency: str) -> str:
    """A machine-readable amount (CSV cells, the API): minor unit, no separators: "1234.500"."""
    d = to_decimal(value)
    if d is None:
        return ""
    return str(d.quantize(quantum(currency), rounding=ROUND_HALF_UP))


def unit_price(value: Any, currency: str | None = None, *, code: bool = True, empty: str = DASH) -> str:
    """A unit price at full stored precision, trailing zeros trimmed but never fewer decimals than the
    currency's minor unit (two without a currency): 50 USD "50.00 USD", 50 JPY "50 JPY",
    1.5 KWD "1.500 KWD", 0.0000025 USD "0.0000025 USD". ``code=False`` leaves the currency off."""
    d = to_decimal(value)
    if d is None:
        return empty if value is None or value == "" else str(value)
    places = minor_units(currency) if currency else DEFAULT_PLACES
    try:
        text = format(d.normalize(), "f")
    except InvalidOperation:  # pragma: no cover - normalize never overflows a finite Decimal
        return str(value)
    whole, _, frac = text.partition(".")
    frac = frac.ljust(places, "0")
    shown = _grouped(f"{whole}.{frac}" if frac else whole)
    if shown.startswith("-") and not d:
        shown = shown[1:]
    return f"{shown} {currency.upper()}" if code and currency else shown


# --- quantities and rates ----------------------------------------------------------------------------


def quantity(value: Any, *, empty: str = DASH) -> str:
    """A quantity: thousands separators, no float noise, no trailing zeros ("1,250", "0.5")."""
    d = to_decimal(value)
    if d is None:
        return empty if value is None or value == "" else str(value)
    return _grouped(format(d.normalize(), "f"))


def percent(value: Any, *, empty: str = DASH) -> str:
    """A rate in percent as stored, trailing zeros trimmed ("8.25", "20")."""
    d = to_decimal(value)
    if d is None:
        return empty if value is None or value == "" else str(value)
    return format(d.normalize(), "f")


# --- dates -------------------------------------------------------------------------------------------


def day(value: date | None, *, empty: str = DASH) -> str:
    """ "1 Mar 2026", the one date format of pages and documents."""
    if not value:
        return empty
    if isinstance(value, datetime):
        value = value.date()
    return f"{value.day} {value:%b %Y}"


def period_span(start: date | None, end: date | None) -> str:
    """A stored half-open period [start, end) shown inclusive, the way customers read invoices:
    "10 Aug – 31 Aug 2026", "15 Dec 2025 – 14 Jan 2026", one day "10 Aug 2026"."""
    if not start:
        return ""
    if not end or end <= start + timedelta(days=1):
        return day(start)
    last = end - timedelta(days=1)
    if start.year == last.year:
        return f"{start.day} {start:%b} \u2013 {day(last)}"
    return f"{day(start)} \u2013 {day(last)}"


def period_exclusive(start: date | None, end: date | None) -> str:
    """A stored half-open period [start, end) as the pages show it, the end exclusive (the caller says
    so: "(end exclusive)"): "10 Aug 2026 – 1 Sep 2026"."""
    if not start:
        return ""
    return f"{day(start)} \u2013 {day(end)}" if end else day(start)


# --- export cells ------------------------------------------------------------------------------------


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True


def safe_cell(value: Any) -> str:
    """CSV/XLSX formula-injection guard (OWASP): a text cell starting with = + @ tab or CR, or a "-"
    that does not start a number, gets a leading apostrophe, so no spreadsheet runs it."""
    text = "" if value is None else str(value)
    if text and text[0] in "=+@\t\r" or (text.startswith("-") and not _is_number(text)):
        return "'" + text
    return text
