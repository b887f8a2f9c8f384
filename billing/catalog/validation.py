"""Validation of plan and charge definitions, with every error's JSON path (``charges[1].properties.tiers[0].up_to``).

Shared by the API and the UI so both say exactly the same thing about the same mistake."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from billing.models import Meter
from billing.rating import EVENT_MODELS, MODELS, validate_charge
from revops.errors import FieldError
from revops.money import MoneyError, parse_decimal
from revops.parties.models import Product

TIMINGS = ("in_advance", "in_arrears")
CHARGE_KEYS = {
    "code",
    "name",
    "product",
    "meter",
    "model",
    "properties",
    "timing",
    "filters",
    "field",
    "currency",
}


def normalize_numbers(value: Any) -> Any:
    """Numbers become decimal strings so JSON storage keeps them exact (0.000002 stays 0.000002)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | Decimal | float):
        return str(parse_decimal(value))
    if isinstance(value, Mapping):
        return {k: normalize_numbers(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalize_numbers(v) for v in value]
    return value


def clean_amount(
    value: Any, path: str, errors: list[FieldError], *, allow_none: bool = True
) -> Decimal | None:
    if value in (None, ""):
        if not allow_none:
            errors.append(FieldError(path, "This field is required."))
        return None
    try:
        amount = parse_decimal(value, field=path)
    except MoneyError as exc:
        errors.append(FieldError(path, str(exc).split(": ", 1)[-1]))
        return None
    if amount < 0:
        errors.append(FieldError(path, "Must not be negative."))
        return None
    return amount


def clean_charges(
    charges: Any, *, currency: str, prefix: str = "charges"
) -> tuple[list[dict], list[FieldError]]:
    """Check a list of charge payloads (api.md Charge shape). Returns cleaned dicts (numbers as strings,
    meter/product resolved to model instances) and every error found."""
    errors: list[FieldError] = []
    if not isinstance(charges, list):
        return [], [FieldError(prefix, "Must be a list of charges.")]
    meters = {
        m.code: m
        for m in Meter.objects.filter(code__in=[c.get("meter") for c in charges if isinstance(c, dict)])
    }
    products = {
        p.code: p
        for p in Product.objects.filter(code__in=[c.get("product") for c in charges if isinstance(c, dict)])
    }
    cleaned, seen = [], set()
    for index, charge in enumerate(charges):
        path = f"{prefix}[{index}]"
        if not isinstance(charge, dict):
            errors.append(FieldError(path, "Must be an object."))
            continue
        for key in sorted(set(charge) - CHARGE_KEYS):
            errors.append(FieldError(f"{path}.{key}", "Unknown field."))
        code = charge.get("code")
        if not code or not isinstance(code, str):
            errors.append(FieldError(f"{path}.code", "A charge code is required."))
        elif code in seen:
            errors.append(FieldError(f"{path}.code", f"Duplicate charge code '{code}' in this version."))
        seen.add(code)
        model = charge.get("model")
        timing = charge.get("timing", "in_arrears")
        if timing not in TIMINGS:
            errors.append(FieldError(f"{path}.timing", f"Must be one of: {', '.join(TIMINGS)}."))
        if charge.get("currency") and str(charge["currency"]).upper() != currency.upper():
            errors.append(
                FieldError(
                    f"{path}.currency",
                    f"Currency mismatch: the plan is in {currency.upper()}, the charge in {charge['currency']}.",
                )
            )
        meter = None
        if charge.get("meter"):
            meter = meters.get(charge["meter"])
            if meter is None:
                errors.append(FieldError(f"{path}.meter", f"Unknown meter '{charge['meter']}'."))
        elif model in EVENT_MODELS:
            errors.append(
                FieldError(f"{path}.meter", f"The {model} model prices events: a meter is required.")
            )
        product = None
        if charge.get("product"):
            product = products.get(charge["product"])
            if product is None:
                errors.append(FieldError(f"{path}.product", f"Unknown product '{charge['product']}'."))
        field = charge.get("field") or (meter.field if meter else "") or None
        if model in EVENT_MODELS and meter is not None and not field:
            errors.append(FieldError(f"{path}.field", "Name the event property that holds the amount."))
        errors.extend(
            _to_api_errors(validate_charge(model, charge.get("properties", {}), field=field, prefix=path))
        )
        filters = charge.get("filters") or []
        clean_filters = []
        if not isinstance(filters, list):
            errors.append(FieldError(f"{path}.filters", "Must be a list of {match, properties}."))
            filters = []
        for f_index, flt in enumerate(filters):
            f_path = f"{path}.filters[{f_index}]"
            if not isinstance(flt, dict) or not isinstance(flt.get("match"), dict) or not flt.get("match"):
                errors.append(FieldError(f"{f_path}.match", "Each filter needs a non-empty match object."))
                continue
            if meter is None:
                errors.append(
                    FieldError(f"{path}.meter", "Filters price event dimensions: a meter is required.")
                )
            if model in MODELS:
                errors.extend(
                    _to_api_errors(
                        validate_charge(model, flt.get("properties", {}), field=field, prefix=f_path)
                    )
                )
            clean_filters.append(
                {
                    "match": flt["match"],
                    "properties": normalize_numbers(flt.get("properties", {})),
                    **({"name": flt["name"]} if flt.get("name") else {}),
                }
            )
        cleaned.append(
            {
                "code": code,
                "name": charge.get("name") or "",
                "product": product,
                "meter": meter,
                "model": model,
                "properties": normalize_numbers(charge.get("properties", {})),
                "timing": timing,
                "filters": clean_filters,
                "field": charge.get("field") or "",
            }
        )
    return cleaned, errors


def _to_api_errors(errors) -> list[FieldError]:
    return [FieldError(e.field, e.message) for e in errors]
