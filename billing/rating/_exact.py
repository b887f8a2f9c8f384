"""Exact decimal arithmetic for the engine: a 50-digit context that refuses to round silently."""

from __future__ import annotations

from contextlib import AbstractContextManager
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)

PRECISION = 50

# Rating only multiplies, adds and divides by 100, so every step is exact within 50 digits; trapping
# Inexact turns the (absurd) case of a result that would need more digits into an error instead of a
# silent rounding (accounting.md §1: round once, at the line).
_EXACT = Context(
    prec=PRECISION, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow, Inexact]
)
# Proration divides by a day count (50 × 22 / 31 does not terminate): 50 significant digits, no trap.
_WIDE = Context(prec=PRECISION, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])

_ONE = Decimal(1)


def exact_context() -> AbstractContextManager[Context]:
    """Arithmetic that must be exact: raises ``decimal.Inexact`` rather than round."""
    return localcontext(_EXACT)


def wide_context() -> AbstractContextManager[Context]:
    """50 significant digits for quotients that cannot be exact (proration)."""
    return localcontext(_WIDE)


def normalize(value: Decimal) -> Decimal:
    """Strip trailing zeros without switching to exponent form for integers (``100``, not ``1E+2``)."""
    with wide_context():
        if value == value.to_integral_value() and value.adjusted() < PRECISION:
            return value.quantize(_ONE)
        return value.normalize()


__all__ = ["PRECISION", "Inexact", "exact_context", "normalize", "wide_context"]
