"""The inputs of each pricing model in the charge editor: its properties, its tier columns, its help
(the keys mirror ``billing.rating.validation``), and a filter's match as typed (``key=value, ...``)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from revops.jsonsafe import loads_text

TIERED = ("graduated", "volume", "graduated_percentage")


@dataclass(frozen=True)
class PropSpec:
    """One property input of a pricing model (the keys mirror ``billing.rating.validation``)."""

    key: str
    label: str
    help: str = ""
    required: bool = False
    percent: bool = False


PROPERTY_INPUTS: dict[str, tuple[PropSpec, ...]] = {
    "flat": (PropSpec("amount", "Amount per period", "Times the quantity for seat-style lines.", True),),
    "standard": (
        PropSpec("unit_amount", "Price per unit", "Any precision, e.g. 0.0000025 per token.", True),
    ),
    "graduated": (),
    "volume": (),
    "package": (
        PropSpec("package_size", "Package size (units)", "A started package is billed in full.", True),
        PropSpec("amount", "Price per package", required=True),
        PropSpec("free_units", "Free units", "Consumed before the first package."),
    ),
    "percentage": (
        PropSpec("rate", "Rate (%)", "0–100, of each transaction's amount.", True, percent=True),
        PropSpec("fixed_amount", "Fixed fee per transaction"),
        PropSpec("free_units_per_events", "Free transactions", "The first N transactions are free."),
        PropSpec(
            "free_units_per_total_aggregation", "Free amount", "The first amount of the period is free."
        ),
        PropSpec("per_transaction_min_amount", "Minimum per transaction"),
        PropSpec("per_transaction_max_amount", "Maximum per transaction"),
    ),
    "graduated_percentage": (),
    "dynamic": (),
}

# Tier columns per tiered model: (key, column label).
TIER_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "graduated": (("up_to", "Up to (inclusive)"), ("unit_amount", "Unit price"), ("flat_amount", "Flat fee")),
    "volume": (("up_to", "Up to (inclusive)"), ("unit_amount", "Unit price"), ("flat_amount", "Flat fee")),
    "graduated_percentage": (
        ("up_to", "Up to (amount, inclusive)"),
        ("rate", "Rate (%)"),
        ("flat_amount", "Flat fee on entry"),
    ),
}

MODEL_HELP = {
    "flat": "A fixed amount per billing period.",
    "standard": "Quantity × unit price.",
    "graduated": "Each unit is priced by the tier it falls in; a tier's flat fee is added once it is reached.",
    "volume": "All units are priced at the one tier that contains the total quantity.",
    "package": "Units are sold in packages; a started package is billed in full.",
    "percentage": "Each transaction pays a percentage of its amount, plus an optional fixed fee.",
    "graduated_percentage": "Tiers over the period's cumulative amount, each with its own rate.",
    "dynamic": "The price travels in each event; the line is the sum of the events' amounts.",
}


def match_text(match: dict) -> str:
    """``{"model": "gpt-4o", "n": 1}`` → ``model=gpt-4o, n=1`` (text that looks like a number is quoted)."""
    parts = []
    for key, value in (match or {}).items():
        if isinstance(value, str):
            shown = (
                json.dumps(value)
                if (_literal(value) is not None or "," in value or value != value.strip())
                else value
            )
        else:
            shown = json.dumps(value)
        parts.append(f"{key}={shown}")
    return ", ".join(parts)


def _literal(text: str):
    """An unquoted integer or true/false typed in a match is that JSON value; anything else is text."""
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return {"true": True, "false": False}.get(text)


def parse_match(text: str) -> dict:
    """``model=gpt-4o, token_type=input`` → ``{"model": "gpt-4o", "token_type": "input"}``.
    Raises ``ValueError`` with a message for the user."""
    match: dict = {}
    for raw in re.split(r',(?=(?:[^"]*"[^"]*")*[^"]*$)', text):
        part = raw.strip()
        if not part:
            continue
        if "=" not in part:
            raise ValueError(f"'{part}' is not key=value. Write e.g. model=gpt-4o, token_type=input.")
        key, value = (s.strip() for s in part.split("=", 1))
        if not key:
            raise ValueError(f"'{part}' has no property name before '='.")
        if len(value) >= 2 and value[0] == value[-1] == '"':
            match[key] = loads_text(value)
        else:
            literal = _literal(value)
            match[key] = value if literal is None else literal
    return match
