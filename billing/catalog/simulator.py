"""The price simulator: rate anything under any version without saving (same pure code as billing)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils.dateparse import parse_datetime

from billing.catalog.selectors import version_def
from billing.models import PlanVersion
from billing.pricing import InMemoryUsage, LineDraft, rate_version, true_up_line
from billing.rating import EVENT_MODELS, RatingError, rate
from revops.core.api.fields import decimal_str, money_str
from revops.errors import FieldError, ValidationFailed
from revops.money import MoneyError, minor_units


def _rating_failed(exc: RatingError, prefix: str = "") -> ValidationFailed:
    errors = [
        FieldError(f"{prefix}{e.field}" if e.field else prefix.rstrip("."), e.message) for e in exc.errors
    ]
    return ValidationFailed(
        errors[0].message if len(errors) == 1 else f"{len(errors)} pricing fields are invalid.", errors=errors
    )


def _check_currency(currency: str) -> str:
    try:
        minor_units(currency)
    except MoneyError as exc:
        raise ValidationFailed(str(exc), field="currency")
    return currency.upper()


def preview_charge(
    *,
    currency: str,
    model: str,
    properties: dict,
    field: str | None = None,
    quantity: Decimal | None = None,
    events: list[dict] | None = None,
) -> dict:
    """``POST /pricing/preview``: one charge, a quantity or a list of events, nothing saved."""
    currency = _check_currency(currency)
    if model in EVENT_MODELS and events is None:
        raise ValidationFailed(
            f"The {model} model prices events: send 'events' (and 'charge.field').", field="events"
        )
    if model not in EVENT_MODELS and quantity is None and model != "flat":
        raise ValidationFailed(f"The {model} model prices a quantity: send 'quantity'.", field="quantity")
    try:
        result = rate(
            _spec(model, properties, field),
            currency=currency,
            quantity=quantity,
            events=events if model in EVENT_MODELS else None,
        )
    except RatingError as exc:
        raise _rating_failed(exc, prefix="charge.") from None
    return {
        "currency": currency,
        "amount": money_str(result.amount, currency),
        "breakdown": [_breakdown(b) for b in result.breakdown],
    }


def _spec(model, properties, field):
    from billing.rating import parse_charge

    return parse_charge(model, properties, field=field)


def _breakdown(line) -> dict:
    data: dict[str, Any] = {"description": line.description}
    if line.units is not None:
        data["units"] = decimal_str(line.units)
    if line.unit_amount is not None:
        data["unit_amount"] = decimal_str(line.unit_amount)
    if line.flat_amount is not None:
        data["flat_amount"] = decimal_str(line.flat_amount)
    data["amount"] = decimal_str(line.amount)
    return data


def parse_events(events: list[dict]) -> list[dict]:
    """Simulator events: ``{"code", "timestamp" (ISO 8601 with offset), "properties"}``."""
    parsed, errors = [], []
    for i, event in enumerate(events):
        ts = event.get("timestamp")
        when = parse_datetime(ts) if isinstance(ts, str) else None
        if when is None or when.tzinfo is None:
            errors.append(
                FieldError(f"events[{i}].timestamp", "An ISO 8601 timestamp with an offset is required.")
            )
            continue
        if not event.get("code"):
            errors.append(FieldError(f"events[{i}].code", "The meter code is required."))
            continue
        parsed.append({"code": event["code"], "timestamp": when, "properties": event.get("properties") or {}})
    if errors:
        raise ValidationFailed(errors[0].message, errors=errors)
    return parsed


def line_payload(line: LineDraft, currency: str) -> dict:
    return {
        "kind": line.kind,
        "charge": line.charge,
        "product": line.product,
        "description": line.description,
        "dimension": dict(line.dimension),
        "quantity": decimal_str(line.quantity),
        "unit_amount": decimal_str(line.unit_amount),
        "amount": money_str(line.amount, currency),
        "service_start": line.service_start,
        "service_end": line.service_end,
        "version": line.version,
        "breakdown": [_breakdown(b) for b in line.breakdown],
    }


def simulate_version(
    *,
    version: PlanVersion,
    start: datetime,
    end: datetime,
    events: list[dict],
    quantities: dict[str, Decimal] | None = None,
) -> dict:
    if end <= start:
        raise ValidationFailed("The window must end after it starts.", field="end")
    definition = version_def(version)
    usage = InMemoryUsage(parse_events(events))
    service = (start.date(), end.date())
    try:
        lines = rate_version(
            definition, usage=usage, start=start, end=end, service=service, quantities=quantities
        )
    except RatingError as exc:
        raise _rating_failed(exc) from None
    true_up = true_up_line(definition, lines, service=service)
    if true_up:
        lines.append(true_up)
    currency = definition.currency
    subtotal = sum((line.amount for line in lines), Decimal(0))
    return {
        "plan": definition.plan,
        "version": definition.number,
        "currency": currency,
        "lines": [line_payload(line, currency) for line in lines],
        "subtotal": money_str(subtotal, currency),
    }


def quote_charges(version: PlanVersion) -> list:
    """The charges of ``version`` that price a quantity (the quick quote's choices, in plan order)."""
    return [
        c
        for c in version.charges.select_related("meter").order_by("position", "id")
        if c.model not in EVENT_MODELS
    ]


def charge_quote(*, version: PlanVersion, charge_code: str, quantity: Decimal) -> dict:
    """What ``quantity`` units of one charge of ``version`` cost (its default prices; nothing saved):
    the amount, the tier-by-tier breakdown and the average price per unit."""
    charge = next((c for c in quote_charges(version) if c.code == charge_code), None)
    if charge is None:
        raise ValidationFailed(
            f"No charge '{charge_code[:64]}' pricing a quantity in this version.", field="charge"
        )
    if quantity < 0:
        raise ValidationFailed("A quantity is zero or more.", field="quantity")
    currency = version.plan.currency
    result = preview_charge(
        currency=currency,
        model=charge.model,
        properties=charge.properties,
        field=charge.field or None,
        quantity=quantity,
    )
    amount = Decimal(result["amount"])
    return {
        **result,
        "charge": charge,
        "quantity": quantity,
        "per_unit": (amount / quantity) if quantity else None,
    }
