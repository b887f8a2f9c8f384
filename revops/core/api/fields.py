"""Serializer fields for the API conventions: money as decimal strings, exact inputs only."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from revops.money import MoneyError, parse_decimal, round_money

DECIMAL_SCHEMA = {
    "type": "string",
    "format": "decimal",
    "pattern": r"^-?[0-9]+(\.[0-9]+)?$",
    "example": "127.50",
}


@extend_schema_field(DECIMAL_SCHEMA)
class DecimalStringField(serializers.Field):
    """Accepts a string or an integer (a float only if exactly representable); returns Decimal.
    Renders as a normalized decimal string."""

    default_error_messages = {"invalid": 'A decimal number is required (send it as a string, e.g. "127.50").'}

    def __init__(self, *, min_value: Decimal | None = None, max_value: Decimal | None = None, **kwargs):
        self.min_value, self.max_value = min_value, max_value
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        try:
            value = parse_decimal(data, field=self.field_name or "value")
        except MoneyError as exc:
            raise serializers.ValidationError(str(exc).split(": ", 1)[-1])
        if self.min_value is not None and value < self.min_value:
            raise serializers.ValidationError(f"Must be at least {self.min_value}.")
        if self.max_value is not None and value > self.max_value:
            raise serializers.ValidationError(f"Must be at most {self.max_value}.")
        return value

    def to_representation(self, value):
        if value is None:
            return None
        text = format(Decimal(value).normalize(), "f")
        return text


def money_str(amount: Decimal | None, currency: str) -> str | None:
    """A document amount as a string in the currency's minor unit ("127.50", "1200" for JPY)."""
    if amount is None:
        return None
    return str(round_money(Decimal(amount), currency))


def decimal_str(value: Decimal | None) -> str | None:
    if value is None:
        return None
    text = format(Decimal(value).normalize(), "f")
    return text
