"""Money helpers: Decimal only, ISO 4217 minor units, one rounding rule.

Pure module (no ORM, no I/O). Every amount that reaches a document (invoice line, allocation,
schedule line, journal line) goes through :func:`round_money` exactly once; unit rates, averages and
percentages are never rounded before they multiply (accounting.md §1).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

from moneyed import get_currency
from moneyed.classes import CurrencyDoesNotExist

# py-moneyed/babel know the minor units of (almost) every ISO 4217 currency; this table covers
# the ones babel does not report the way ISO does.
_MINOR_UNIT_OVERRIDES = {
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
    "CLP": 0,
    "ISK": 0,
    "KWD": 3,
    "BHD": 3,
    "OMR": 3,
    "JOD": 3,
    "TND": 3,
    "LYD": 3,
    "IQD": 3,
}

ZERO = Decimal("0")


class MoneyError(ValueError):
    """A value that cannot be used as money (bad number, unknown currency, inexact float)."""


def minor_units(currency: str) -> int:
    """Number of decimal places of the currency's minor unit (USD 2, JPY 0, KWD 3)."""
    code = (currency or "").upper()
    if code in _MINOR_UNIT_OVERRIDES:
        return _MINOR_UNIT_OVERRIDES[code]
    try:
        cur = get_currency(code)
    except CurrencyDoesNotExist:
        raise MoneyError(f"Unknown currency '{currency}'.")
    try:
        from babel.numbers import get_currency_precision

        return int(get_currency_precision(code))
    except Exception:  # pragma: no cover - babel missing data
        return 2 if cur else 2


def is_currency(code: str) -> bool:
    try:
        minor_units(code)
    except MoneyError:
        return False
    return True


def quantum(currency: str) -> Decimal:
    """The smallest document amount of a currency, e.g. Decimal('0.01') for USD."""
    return Decimal(1).scaleb(-minor_units(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round once, ROUND_HALF_UP, to the currency's minor unit."""
    if not isinstance(amount, Decimal):
        raise MoneyError(f"Money must be a Decimal, got {type(amount).__name__}.")
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def floor_money(amount: Decimal, currency: str) -> Decimal:
    """Truncate towards zero to the minor unit (used by largest-remainder allocation)."""
    return amount.quantize(quantum(currency), rounding=ROUND_DOWN)


def to_minor(amount: Decimal, currency: str) -> int:
    """An already-rounded amount as an integer count of minor units."""
    q = round_money(amount, currency)
    return int(q.scaleb(minor_units(currency)))


def from_minor(units: int, currency: str) -> Decimal:
    return Decimal(units).scaleb(-minor_units(currency)).quantize(quantum(currency))


def parse_decimal(value, *, field: str = "amount") -> Decimal:
    """Parse an input amount. Accepts str, int and Decimal; a float only if it is exactly representable
    as the decimal it prints as (so 0.5 is fine, 0.1 is refused)."""
    if isinstance(value, bool) or value is None:
        raise MoneyError(f"{field}: a decimal number is required.")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        exact = Decimal(value)
        if Decimal(repr(value)) != exact:
            raise MoneyError(f"{field}: {value!r} is not exactly representable; send it as a string.")
        result = exact
    elif isinstance(value, str):
        text = value.strip()
        try:
            result = Decimal(text)
        except (InvalidOperation, ValueError):
            raise MoneyError(f"{field}: '{value}' is not a decimal number.")
    else:
        raise MoneyError(f"{field}: a decimal number is required.")
    if not result.is_finite():
        raise MoneyError(f"{field}: must be a finite number.")
    return result


def check_digits(value: Decimal, *, max_digits: int, decimal_places: int, field: str = "amount") -> Decimal:
    """``value`` if it fits a ``numeric(max_digits, decimal_places)`` column exactly (trailing zeros
    do not count), else MoneyError: PostgreSQL would refuse it (numeric field overflow, a 500) or
    round it silently."""
    if not value.is_finite():
        raise MoneyError(f"{field}: must be a finite number.")
    if value.is_zero():
        return value
    normal = value.normalize()
    exponent = normal.as_tuple().exponent
    places = max(0, -exponent)
    integer_digits = max(0, normal.adjusted() + 1)
    if places > decimal_places:
        raise MoneyError(f"{field}: at most {decimal_places} decimal places.")
    if integer_digits > max_digits - decimal_places:
        raise MoneyError(
            f"{field}: too large (at most {max_digits - decimal_places} digits before the point)."
        )
    return value


STORAGE_QUANTUM = Decimal("0.0001")  # document amounts are stored with 4 decimal places


def stored_sum(value) -> Decimal:
    """A database SUM of stored document amounts, exact. PostgreSQL sums NUMERIC exactly; SQLite (the
    embedded quick-start database) sums in floating point, so its result is brought back to the
    storage precision — exact again, since every addend is a multiple of 0.0001."""
    if value is None:
        return ZERO
    return Decimal(value).quantize(STORAGE_QUANTUM)
