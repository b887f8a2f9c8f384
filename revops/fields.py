"""Model field conventions shared by every app.

- Unit prices keep 12 decimal places (AI token prices such as 0.000002 are normal) — accounting.md §1.
- Document amounts are stored with 4 decimal places (enough for every ISO 4217 minor unit) and are
  always rounded to the currency's own minor unit *before* they are saved (``revops.money.round_money``).
- Currencies are ISO 4217 codes in a three-letter column next to the amounts (a plain ``CharField``;
  services check the code with ``revops.money.is_currency``, which knows the ISO 4217 list through
  py-moneyed). Money is Decimal + currency column, not django-money: see docs/accounting.md §1.
"""

from django.db import models

# The columns' sizes, shared with the inputs that fill them (revops.core.api.fields, money.check_digits).
UNIT_PRICE_DIGITS, UNIT_PRICE_PLACES = 30, 12
AMOUNT_DIGITS, AMOUNT_PLACES = 20, 4
QUANTITY_DIGITS, QUANTITY_PLACES = 30, 10


def UnitPriceField(**kwargs) -> models.DecimalField:  # noqa: N802 - field factory
    kwargs.setdefault("max_digits", UNIT_PRICE_DIGITS)
    kwargs.setdefault("decimal_places", UNIT_PRICE_PLACES)
    return models.DecimalField(**kwargs)


def AmountField(**kwargs) -> models.DecimalField:  # noqa: N802
    kwargs.setdefault("max_digits", AMOUNT_DIGITS)
    kwargs.setdefault("decimal_places", AMOUNT_PLACES)
    return models.DecimalField(**kwargs)


def QuantityField(**kwargs) -> models.DecimalField:  # noqa: N802
    kwargs.setdefault("max_digits", QUANTITY_DIGITS)
    kwargs.setdefault("decimal_places", QUANTITY_PLACES)
    return models.DecimalField(**kwargs)


def CurrencyField(**kwargs) -> models.CharField:  # noqa: N802
    kwargs.setdefault("max_length", 3)
    kwargs.setdefault("default", "USD")
    return models.CharField(**kwargs)
