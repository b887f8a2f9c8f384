"""Value types of the rating engine: frozen dataclasses over ``Decimal`` (accounting.md §1–2).

Pure module: no Django, no ORM, no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)

QUANTITY_MODELS = ("flat", "standard", "graduated", "volume", "package")
EVENT_MODELS = ("percentage", "graduated_percentage", "dynamic")
MODELS = QUANTITY_MODELS + EVENT_MODELS


@dataclass(frozen=True)
class FieldError:
    """One validation failure: ``field`` is a path such as ``properties.tiers[1].up_to``."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """The RFC 9457 ``errors`` entry shape used by the API (api.md, Conventions)."""
        return {"field": self.field, "message": self.message}


class RatingError(ValueError):
    """Bad pricing input; ``errors`` lists every field error found, not just the first."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in self.errors) or "invalid rating input")

    @classmethod
    def single(cls, field: str, message: str) -> RatingError:
        return cls([FieldError(field, message)])


@dataclass(frozen=True)
class Tier:
    """One price tier. ``up_to`` is an inclusive bound; ``None`` only on the last (open) tier.

    ``unit_amount``/``flat_amount`` are used by graduated and volume; ``rate`` (a percent, 0–100) and
    ``flat_amount`` by graduated_percentage.
    """

    up_to: Decimal | None
    unit_amount: Decimal = ZERO
    flat_amount: Decimal = ZERO
    rate: Decimal = ZERO


@dataclass(frozen=True)
class ChargeSpec:
    """A validated charge: every number is a ``Decimal`` and ``tiers`` is a tuple of :class:`Tier`.

    Build it with :func:`billing.rating.parse_charge`. ``field`` names the event property that holds
    the amount for the percentage, graduated_percentage and dynamic models.
    """

    model: str
    properties: Mapping[str, Any]
    field: str | None = None


@dataclass(frozen=True)
class BreakdownLine:
    """One step of the arithmetic behind a rated amount, at full precision (normalized, unrounded)."""

    description: str
    units: Decimal | None
    unit_amount: Decimal | None
    flat_amount: Decimal | None
    amount: Decimal


@dataclass(frozen=True)
class RatingResult:
    """A rated line: ``amount`` is ``exact_amount`` rounded once (ROUND_HALF_UP to the minor unit).

    ``units`` is the quantity rated (quantity models), the total event amount (percentage models) or
    the number of events (dynamic). ``sum(line.amount for line in breakdown) == exact_amount``.
    """

    currency: str
    amount: Decimal
    exact_amount: Decimal
    units: Decimal
    breakdown: tuple[BreakdownLine, ...]


@dataclass(frozen=True)
class CreditBalance:
    """A prepaid credit grant with what is left of it (a document amount in the invoice currency)."""

    id: Any
    remaining: Decimal
    expires_on: date | None
    granted_on: date
