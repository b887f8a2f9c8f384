"""Validation and parsing of charge definitions (api.md "Catalog and pricing", accounting.md §2).

Every error is collected, so a client sees all of them at once, each with a field path such as
``properties.tiers[2].up_to``; callers nest paths with ``prefix`` (``"charges[0]."``). Numbers may
be strings, integers or ``Decimal``; a float only if it is exactly representable
(:func:`revops.money.parse_decimal`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from revops.money import MoneyError, parse_decimal

from .types import MODELS, ZERO, ChargeSpec, FieldError, RatingError, Tier

Check = Callable[[Decimal], str | None]


def _non_negative(value: Decimal) -> str | None:
    return "must not be negative" if value < 0 else None


def _positive(value: Decimal) -> str | None:
    return "must be greater than 0" if value <= 0 else None


def _percent(value: Decimal) -> str | None:
    return "must be a percentage between 0 and 100" if not ZERO <= value <= 100 else None


def _count(value: Decimal) -> str | None:
    if value != value.to_integral_value():
        return "must be a whole number"
    return _non_negative(value)


@dataclass(frozen=True)
class _Prop:
    """How one property is checked: ``check`` for numbers, ``tiers`` for a tier list."""

    check: Check | None = None
    required: bool = False
    default: Decimal | None = None
    tiers: bool = False


_TIERS = _Prop(tiers=True, required=True)

_PROPERTIES: dict[str, dict[str, _Prop]] = {
    "flat": {"amount": _Prop(_non_negative, required=True)},
    "standard": {"unit_amount": _Prop(_non_negative, required=True)},
    "graduated": {"tiers": _TIERS},
    "volume": {"tiers": _TIERS},
    "package": {
        "package_size": _Prop(_positive, required=True),
        "amount": _Prop(_non_negative, required=True),
        "free_units": _Prop(_non_negative, default=ZERO),
    },
    "percentage": {
        "rate": _Prop(_percent, required=True),
        "fixed_amount": _Prop(_non_negative, default=ZERO),
        "free_units_per_events": _Prop(_count, default=ZERO),
        "free_units_per_total_aggregation": _Prop(_non_negative, default=ZERO),
        "per_transaction_min_amount": _Prop(_non_negative),
        "per_transaction_max_amount": _Prop(_non_negative),
    },
    "graduated_percentage": {"tiers": _TIERS},
    "dynamic": {},
}

# Tier keys per tiered model. ``up_to`` must be present: a number, or null on the last tier only.
_TIER_KEYS: dict[str, dict[str, _Prop]] = {
    "graduated": {
        "up_to": _Prop(_positive, required=True),
        "unit_amount": _Prop(_non_negative, required=True),
        "flat_amount": _Prop(_non_negative, default=ZERO),
    },
    "graduated_percentage": {
        "up_to": _Prop(_positive, required=True),
        "rate": _Prop(_percent, required=True),
        "flat_amount": _Prop(_non_negative, default=ZERO),
    },
}
_TIER_KEYS["volume"] = _TIER_KEYS["graduated"]

_INVALID = object()  # a value that failed to parse (its error is already recorded)


def to_decimal(value: Any, path: str) -> Decimal:
    """:func:`revops.money.parse_decimal`, failing with a :class:`RatingError` on ``path``."""
    try:
        return parse_decimal(value, field=path)
    except MoneyError as exc:
        raise RatingError.single(path, str(exc).removeprefix(f"{path}: ")) from None


def join_path(prefix: str, path: str) -> str:
    """``join_path("charges[0]", "properties.rate") == "charges[0].properties.rate"`` (a trailing dot
    on the prefix is accepted too)."""
    if not prefix:
        return path
    return prefix + path if prefix.endswith(".") else f"{prefix}.{path}"


class _Parser:
    """Collects every error while converting one charge's properties."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.errors: list[FieldError] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(FieldError(join_path(self.prefix, path), message))

    def number(self, value: Any, path: str, check: Check | None) -> Any:
        """A ``Decimal`` passing ``check``, or ``_INVALID`` after recording why not."""
        try:
            number = to_decimal(value, path)
        except RatingError as exc:
            self.error(path, exc.errors[0].message)
            return _INVALID
        problem = check(number) if check else None
        if problem:
            self.error(path, problem)
            return _INVALID
        return number

    def fields(
        self, raw: Mapping[str, Any], spec: Mapping[str, _Prop], path: str, model: str
    ) -> dict[str, Any]:
        """Parse the keys of ``raw`` described by ``spec``; unknown keys are errors (they catch typos)."""
        for key in raw:
            if key not in spec:
                allowed = ", ".join(spec) or "none"
                self.error(f"{path}.{key}", f"unknown property for the {model} model (allowed: {allowed})")
        parsed: dict[str, Any] = {}
        for key, prop in spec.items():
            value = raw.get(key)
            if key == "up_to" and key in raw and value is None:
                parsed[key] = None  # the open-ended last tier
            elif value is None:
                if prop.required:
                    hint = " (null on the last tier)" if key == "up_to" else ""
                    self.error(f"{path}.{key}", f"this property is required{hint}")
                    parsed[key] = _INVALID
                else:
                    parsed[key] = prop.default
            elif prop.tiers:
                parsed[key] = self.tiers(value, f"{path}.{key}", model)
            else:
                parsed[key] = self.number(value, f"{path}.{key}", prop.check)
        return parsed

    def tiers(self, value: Any, path: str, model: str) -> Any:
        """Parse a tier list and check its order: strictly ascending, only the last one open."""
        if not isinstance(value, list | tuple):
            self.error(path, "must be a list of tiers")
            return _INVALID
        if not value:
            self.error(path, "at least one tier is required")
            return _INVALID
        spec = _TIER_KEYS[model]
        parsed: list[dict[str, Any] | None] = []
        for index, raw in enumerate(value):
            if isinstance(raw, Tier):  # re-parsing a ChargeSpec is idempotent
                raw = {key: getattr(raw, key) for key in spec}
            if not isinstance(raw, Mapping):
                self.error(f"{path}[{index}]", "must be an object")
                parsed.append(None)
                continue
            parsed.append(self.fields(raw, spec, f"{path}[{index}]", model))
        self._check_bounds([tier["up_to"] if tier else _INVALID for tier in parsed], path)
        if any(tier is None or _INVALID in tier.values() for tier in parsed):
            return _INVALID
        return tuple(Tier(**tier) for tier in parsed if tier)

    def _check_bounds(self, bounds: list[Any], path: str) -> None:
        last = len(bounds) - 1
        previous: Decimal | None = None
        for index, bound in enumerate(bounds):
            where = f"{path}[{index}].up_to"
            if bound is _INVALID:
                continue
            if bound is None:
                if index != last:
                    self.error(where, "only the last tier can be open-ended (null)")
                continue
            if index == last:
                self.error(where, "the last tier must be open-ended (null)")
            if previous is not None and bound <= previous:
                self.error(where, f"must be greater than the previous tier's up_to ({previous})")
            previous = bound


def _parse(
    model: Any, properties: Any, field: Any, prefix: str
) -> tuple[ChargeSpec | None, list[FieldError]]:
    parser = _Parser(prefix)
    if field is not None and (not isinstance(field, str) or not field.strip()):
        parser.error("field", "must be the name of an event property")
    if not isinstance(model, str) or model not in MODELS:
        parser.error("model", f"unknown pricing model {model!r} (expected one of: {', '.join(MODELS)})")
        return None, parser.errors
    if not isinstance(properties, Mapping):
        parser.error("properties", "must be an object")
        return None, parser.errors
    parsed = parser.fields(properties, _PROPERTIES[model], "properties", model)
    low, high = parsed.get("per_transaction_min_amount"), parsed.get("per_transaction_max_amount")
    if isinstance(low, Decimal) and isinstance(high, Decimal) and low > high:
        parser.error(
            "properties.per_transaction_min_amount", f"must not exceed per_transaction_max_amount ({high})"
        )
    if parser.errors:
        return None, parser.errors
    return ChargeSpec(model=model, properties=MappingProxyType(parsed), field=field), []


def validate_charge(model: Any, properties: Any, *, field: Any = None, prefix: str = "") -> list[FieldError]:
    """Every problem with a charge definition, as field errors (empty when it is valid)."""
    return _parse(model, properties, field, prefix)[1]


def parse_charge(model: Any, properties: Any, *, field: str | None = None, prefix: str = "") -> ChargeSpec:
    """Validate a charge and convert every number to ``Decimal`` (tiers to :class:`Tier`).

    Optional properties are filled with their defaults (``free_units`` 0, ``fixed_amount`` 0, …), so
    the returned spec is complete. Raises :class:`RatingError` carrying all field errors at once.
    """
    spec, errors = _parse(model, properties, field, prefix)
    if spec is None:
        raise RatingError(errors)
    return spec
