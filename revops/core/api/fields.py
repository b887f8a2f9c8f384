"""Serializer fields for the API conventions: money as decimal strings, exact inputs only."""

from __future__ import annotations

from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from revops.dates import RANGE_MESSAGE, date_in_range, period_error
from revops.fields import (
    AMOUNT_DIGITS,
    AMOUNT_PLACES,
    QUANTITY_DIGITS,
    QUANTITY_PLACES,
    UNIT_PRICE_DIGITS,
    UNIT_PRICE_PLACES,
)
from revops.jsonsafe import jsonable
from revops.money import MoneyError, check_digits, parse_decimal, round_money

DECIMAL_SCHEMA = {
    "type": "string",
    "format": "decimal",
    "pattern": r"^-?[0-9]+(\.[0-9]+)?$",
    "example": "127.50",
}


@extend_schema_field(DECIMAL_SCHEMA)
class DecimalStringField(serializers.Field):
    """Accepts a string or an integer (a float only if exactly representable); returns Decimal.
    Renders as a normalized decimal string.

    Bounded like the column it is stored in (``max_digits``/``decimal_places``, default a document
    amount's: ``revops.fields.AmountField``), so a 32-digit amount is a 400 naming the field, not a
    database error (PostgreSQL: numeric field overflow) or a silent rounding. Use
    :func:`UnitPriceInput` / :func:`QuantityInput` for unit prices and quantities."""

    default_error_messages = {"invalid": 'A decimal number is required (send it as a string, e.g. "127.50").'}

    def __init__(
        self,
        *,
        min_value: Decimal | None = None,
        max_value: Decimal | None = None,
        max_digits: int = AMOUNT_DIGITS,
        decimal_places: int = AMOUNT_PLACES,
        **kwargs,
    ):
        self.min_value, self.max_value = min_value, max_value
        self.max_digits, self.decimal_places = max_digits, decimal_places
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        try:
            value = parse_decimal(data, field=self.field_name or "value")
            check_digits(value, max_digits=self.max_digits, decimal_places=self.decimal_places)
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


def UnitPriceInput(**kwargs) -> DecimalStringField:  # noqa: N802 - field factory, like revops.fields
    """A unit price as stored (``revops.fields.UnitPriceField``: 30 digits, 12 places)."""
    return DecimalStringField(max_digits=UNIT_PRICE_DIGITS, decimal_places=UNIT_PRICE_PLACES, **kwargs)


def QuantityInput(**kwargs) -> DecimalStringField:  # noqa: N802
    """A quantity as stored (``revops.fields.QuantityField``: 30 digits, 10 places)."""
    return DecimalStringField(max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES, **kwargs)


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


class BoundedDateField(serializers.DateField):
    """A date between 1900-01-01 and 2199-12-31 (``revops.dates``): every date the API accepts."""

    def to_internal_value(self, value):
        result = super().to_internal_value(value)
        if not date_in_range(result):
            raise serializers.ValidationError(RANGE_MESSAGE)
        return result


@extend_schema_field({"type": "string", "pattern": r"^[0-9]{4}-(0[1-9]|1[0-2])$", "example": "2026-03"})
class PeriodField(serializers.CharField):
    """An accounting period "YYYY-MM" between 1900-01 and 2199-12."""

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        error = period_error(text)
        if error:
            raise serializers.ValidationError(error)
        return text


class BoundedDateTimeField(serializers.DateTimeField):
    """A date and time whose date lies between 1900-01-01 and 2199-12-31."""

    def to_internal_value(self, value):
        result = super().to_internal_value(value)
        if not date_in_range(result):
            raise serializers.ValidationError(RANGE_MESSAGE)
        return result


MONEY_SCHEMA = {
    "type": "string",
    "format": "decimal",
    "pattern": r"^-?[0-9]+(\.[0-9]+)?$",
    "description": "At the currency's minor unit: 127.50 USD, 1200 JPY, 1.250 KWD.",
    "example": "127.50",
}


@extend_schema_field(MONEY_SCHEMA)
class MoneyField(serializers.Field):
    """An amount in a response: a decimal string quantized to its currency's minor unit
    (:func:`revops.money.round_money`), never the stored scale ("-2334.2000"). The currency is read
    from the object (``currency``, or the dotted path given) or, failing that, from the serializer
    context's ``currency``. Output only."""

    def __init__(self, *, currency: str = "currency", **kwargs):
        self.currency_path = currency
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def _currency(self, instance) -> str | None:
        value = instance
        for part in self.currency_path.split("."):
            value = value.get(part) if isinstance(value, dict) else getattr(value, part, None)
            if value is None:
                break
        return value or self.context.get("currency")

    def get_attribute(self, instance):
        return (super().get_attribute(instance), self._currency(instance))

    def to_representation(self, value):
        amount, currency = value
        if amount is None or amount == "":
            return None
        return money_str(Decimal(str(amount)), currency)


class JSONValueField(serializers.JSONField):
    """Free-form JSON (charge properties, filters) as the API parser reads it: its fractional
    numbers are Decimals (revops.core.api.parsers), which DRF's own check (``json.dumps``) would
    refuse as "not valid JSON". They become the exact decimal strings every amount is sent as
    (revops.jsonsafe.jsonable), so what is stored is JSON and never a float."""

    def __init__(self, **kwargs):
        kwargs.setdefault("encoder", DjangoJSONEncoder)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        return jsonable(super().to_internal_value(data))
