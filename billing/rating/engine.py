"""Rating entry points: validate the input, run the model exactly, round the line once.

This is the code behind ``POST /pricing/preview`` and the billing run alike (house style: the math is
pure, so previews and re-performance use exactly the same code as the real run).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from revops.fields import AMOUNT_DIGITS, AMOUNT_PLACES
from revops.money import MoneyError, minor_units, round_money

from ._exact import Inexact, exact_context, normalize, wide_context
from .charge_models import EVENT_RATERS, QUANTITY_RATERS
from .types import (
    EVENT_MODELS,
    QUANTITY_MODELS,
    ZERO,
    BreakdownLine,
    ChargeSpec,
    FieldError,
    RatingError,
    RatingResult,
)
from .validation import parse_charge, to_decimal

_TOO_PRECISE = "needs more than 50 significant digits to rate exactly"
# A rated amount becomes an invoice line: it must fit the document amount column (numeric(20, 4)).
MAX_AMOUNT = Decimal(10) ** (AMOUNT_DIGITS - AMOUNT_PLACES)
_TOO_LARGE = (
    f"rates to an amount too large for an invoice (at most {AMOUNT_DIGITS - AMOUNT_PLACES} digits before "
    "the point): check the quantity and the price"
)


def _check_currency(currency: str) -> None:
    try:
        minor_units(currency)
    except MoneyError as exc:
        raise RatingError.single("currency", str(exc)) from None


def _revalidated(charge: ChargeSpec) -> ChargeSpec:
    """Re-parse the spec (idempotent) so the engine never runs on unvalidated properties."""
    return parse_charge(charge.model, charge.properties, field=charge.field)


def _result(currency: str, units: Decimal, lines: list[BreakdownLine], *, field: str) -> RatingResult:
    """Sum the exact lines and round the total once (accounting.md §1). quantity × price beyond what
    an invoice can hold (1e30 × 1e12) is refused here, at the boundary every rating passes."""
    with exact_context():
        exact = sum((line.amount for line in lines), ZERO)
        if abs(exact) >= MAX_AMOUNT or any(abs(line.amount) >= MAX_AMOUNT for line in lines):
            raise RatingError.single(field, _TOO_LARGE)
    with wide_context():
        amount = round_money(exact, currency)
    return RatingResult(
        currency=currency.upper(),
        amount=amount,
        exact_amount=normalize(exact),
        units=normalize(units),
        breakdown=tuple(lines),
    )


def rate_quantity(charge: ChargeSpec, quantity: Decimal | int | str, *, currency: str) -> RatingResult:
    """Rate a quantity with a flat, standard, graduated, volume or package charge."""
    _check_currency(currency)
    return rate_quantity_parsed(_revalidated(charge), quantity, currency=currency)


def rate_quantity_parsed(charge: ChargeSpec, quantity: Decimal | int | str, *, currency: str) -> RatingResult:
    """:func:`rate_quantity` for a spec ``parse_charge`` returned (the billing run parses each charge
    once and rates it many times): the same checks and result, without re-parsing the spec."""
    _check_currency(currency)
    if charge.model not in QUANTITY_MODELS:
        raise RatingError.single("quantity", f"the {charge.model} model rates events, not a quantity")
    units = to_decimal(quantity, "quantity")
    if units < 0:
        raise RatingError.single("quantity", "must not be negative")
    try:
        with exact_context():
            lines = QUANTITY_RATERS[charge.model](charge.properties, units)
        return _result(currency, units, lines, field="quantity")
    except Inexact:
        raise RatingError.single("quantity", _TOO_PRECISE) from None


def event_amounts(events: Sequence[Mapping[str, Any]], field: str) -> list[Decimal]:
    """The ``field`` amount of every event, in order; every bad one is reported (``events[i].<field>``)."""
    if isinstance(events, str | bytes) or not isinstance(events, Sequence):
        raise RatingError.single("events", "must be a list of event property objects")
    amounts: list[Decimal] = []
    errors: list[FieldError] = []
    for index, event in enumerate(events):
        path = f"events[{index}].{field}"
        if not isinstance(event, Mapping):
            errors.append(FieldError(f"events[{index}]", "must be an object of event properties"))
        elif event.get(field) is None:
            errors.append(FieldError(path, "the amount property is missing"))
        else:
            try:
                amount = to_decimal(event[field], path)
            except RatingError as exc:
                errors.extend(exc.errors)
                continue
            if amount < 0:
                errors.append(FieldError(path, "must not be negative"))
            else:
                amounts.append(amount)
    if errors:
        raise RatingError(errors)
    return amounts


def rate_events(charge: ChargeSpec, events: Sequence[Mapping[str, Any]], *, currency: str) -> RatingResult:
    """Rate events (each a mapping of properties, amount in ``charge.field``) with a percentage,
    graduated_percentage or dynamic charge, in the order given."""
    _check_currency(currency)
    return rate_events_parsed(_revalidated(charge), events, currency=currency)


def rate_events_parsed(
    charge: ChargeSpec, events: Sequence[Mapping[str, Any]], *, currency: str
) -> RatingResult:
    """:func:`rate_events` for a spec ``parse_charge`` returned, without re-parsing it."""
    _check_currency(currency)
    if charge.model not in EVENT_MODELS:
        raise RatingError.single("events", f"the {charge.model} model rates a quantity, not events")
    if not charge.field:
        raise RatingError.single(
            "field", f"the {charge.model} model needs the name of the event amount property"
        )
    amounts = event_amounts(events, charge.field)
    try:
        with exact_context():
            lines = EVENT_RATERS[charge.model](charge.properties, amounts)
            units = Decimal(len(amounts)) if charge.model == "dynamic" else sum(amounts, ZERO)
        return _result(currency, units, lines, field="events")
    except Inexact:
        raise RatingError.single("events", _TOO_PRECISE) from None


def rate(
    charge: ChargeSpec,
    *,
    currency: str,
    quantity: Decimal | int | str | None = None,
    events: Sequence[Mapping[str, Any]] | None = None,
) -> RatingResult:
    """Rate with whichever input the model takes: ``quantity`` for flat, standard, graduated, volume
    and package (a flat charge defaults to a quantity of 1), ``events`` for the others."""
    if quantity is not None and events is not None:
        raise RatingError.single("events", "send either quantity or events, not both")
    if charge.model in EVENT_MODELS:
        if quantity is not None:
            raise RatingError.single("quantity", f"the {charge.model} model rates events, not a quantity")
        if events is None:
            raise RatingError.single("events", f"the {charge.model} model needs events")
        return rate_events(charge, events, currency=currency)
    if events is not None:
        raise RatingError.single("events", f"the {charge.model} model rates a quantity, not events")
    if quantity is None:
        if charge.model != "flat":
            raise RatingError.single("quantity", f"the {charge.model} model needs a quantity")
        quantity = 1
    return rate_quantity(charge, quantity, currency=currency)
