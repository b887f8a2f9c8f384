"""Concord's rating engine: prices, usage and fees → invoice line amounts (accounting.md §2).

Pure Python over frozen dataclasses and ``Decimal`` — no Django, no ORM, no I/O, no clock — so the
pricing preview, the billing run and compliance re-performance all run exactly this code. Lines are
computed at full precision and rounded once (ROUND_HALF_UP to the currency's minor unit).
"""

from .adjustments import apply_discount, draw_down_credits, minimum_true_up, prorate
from .aggregate import AGGREGATIONS, aggregate, group_by_filters, match_filters
from .engine import rate, rate_events, rate_events_parsed, rate_quantity, rate_quantity_parsed
from .types import (
    EVENT_MODELS,
    MODELS,
    QUANTITY_MODELS,
    BreakdownLine,
    ChargeSpec,
    CreditBalance,
    FieldError,
    RatingError,
    RatingResult,
    Tier,
)
from .validation import join_path, parse_charge, validate_charge

__all__ = [
    "AGGREGATIONS",
    "EVENT_MODELS",
    "MODELS",
    "QUANTITY_MODELS",
    "BreakdownLine",
    "ChargeSpec",
    "CreditBalance",
    "FieldError",
    "RatingError",
    "RatingResult",
    "Tier",
    "aggregate",
    "apply_discount",
    "draw_down_credits",
    "group_by_filters",
    "join_path",
    "match_filters",
    "minimum_true_up",
    "parse_charge",
    "prorate",
    "rate",
    "rate_events",
    "rate_events_parsed",
    "rate_quantity",
    "rate_quantity_parsed",
    "validate_charge",
]
