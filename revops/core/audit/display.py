"""How an audit event's changes read on a page: a table of before → after rows with field names in
words ("Tier 2 unit price", not "tiers[1].unit_amount") and finance-friendly numbers, never JSON.
Pure: reads no database, imports no app (the audit boxes of every layer use it)."""

from __future__ import annotations

import re
from decimal import Decimal

# Stored keys in words where the key's own words are not what a finance user says (the charge
# editor's labels, shortened for a sentence); any other key reads with its underscores as spaces.
FIELD_WORDS = {
    "unit_amount": "unit price",
    "flat_amount": "flat fee",
    "up_to": "up to",
    "package_size": "package size",
    "free_units": "free units",
    "rate": "rate",
    "fixed_amount": "fixed fee per transaction",
    "free_units_per_events": "free transactions",
    "free_units_per_total_aggregation": "free amount",
    "per_transaction_min_amount": "minimum per transaction",
    "per_transaction_max_amount": "maximum per transaction",
    "pricing_model": "pricing model",
}


def field_words(key: str) -> str:
    """'unit_amount' → 'unit price'; an unknown key with its underscores as spaces."""
    return FIELD_WORDS.get(key, key.replace("_", " "))


def path_label(path: str) -> str:
    """'tiers[1].unit_amount' → 'tier 2 unit price' (positions from 1, property keys in words)."""
    spaced = re.sub(r"(\w+)s\[(\d+)\]\.?", lambda m: f"{m.group(1)} {int(m.group(2)) + 1} ", path)
    return " ".join(field_words(part) for part in re.split(r"[ .]+", spaced.strip()) if part)


NUMBER_RE = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")


def number(value) -> str:
    """Finance-friendly numbers: thousands separators; decimals with at least two places and without
    trailing noise ('1305.41000000000' -> '1,305.41', '0E-11' -> '0.00'); booleans as yes/no."""
    if isinstance(value, bool) or value in ("True", "False"):
        return "yes" if value in (True, "True") else "no"
    if not isinstance(value, int | float | Decimal) and not (
        isinstance(value, str) and NUMBER_RE.fullmatch(value)
    ):
        return str(value)
    raw = str(value)
    number = Decimal(raw)
    if isinstance(value, int) or re.fullmatch(r"-?[0-9]+", raw):
        text = f"{abs(number):,}"
    else:
        number = number.normalize()
        if number.as_tuple().exponent > -2:
            number = number.quantize(Decimal("0.01"))
        text = f"{abs(number):,f}"
    return f"−{text}" if number < 0 else text


BEFORE_AFTER = (("from", "to"), ("old", "new"), ("before", "after"))
MAX_CHANGE_ROWS = 14


def field_label(key) -> str:
    """A change's key in words: 'transaction_price' → 'Transaction price', 'unit_amount' → 'Unit price',
    'tiers[1].unit_amount' → 'Tier 2 unit price'."""
    text = path_label(str(key)).replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else ""


def _before_after(value) -> tuple | None:
    if isinstance(value, dict):
        for before, after in BEFORE_AFTER:
            if set(value) == {before, after}:
                return value[before], value[after]
    return None


def _text(value) -> str:
    if isinstance(value, list) and not any(isinstance(v, dict | list) for v in value):
        return ", ".join(_text(v) for v in value) or "none"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # ids and counts, read as they are stored
    return "—" if value in (None, "") else number(value)


def _rows(value, label: str) -> list[dict]:
    pair = _before_after(value)
    if pair is not None:
        return [{"field": label or "Change", "before": _text(pair[0]), "after": _text(pair[1])}]
    if isinstance(value, dict):
        if not value:
            return [{"field": label, "before": None, "after": "none"}] if label else []
        rows = []
        for key, inner in value.items():
            words = field_label(key)
            rows.extend(_rows(inner, f"{label} · {words}" if label else words))
        return rows
    if isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        rows = []
        for index, inner in enumerate(value, start=1):
            rows.extend(_rows(inner, f"{label} {index}" if label else f"Item {index}"))
        return rows
    return [{"field": label or "Value", "before": None, "after": _text(value)}]


def change_rows(changes) -> dict:
    """An audit event's changes as table rows, never JSON: {"rows": [{"field", "before", "after"}],
    "has_before": bool, "more": n}. A {"from", "to"} pair (or old/new, before/after) is one row with
    both sides; a nested record spells out its path ("Changes 1 · Unit price"); other values are
    facts recorded with the change (after only)."""
    rows = _rows(changes if changes not in (None, "") else {}, "")
    return {
        "rows": rows[:MAX_CHANGE_ROWS],
        "has_before": any(r["before"] is not None for r in rows[:MAX_CHANGE_ROWS]),
        "more": max(0, len(rows) - MAX_CHANGE_ROWS),
    }


def change_items(changes) -> list[tuple[str, str]]:
    """An audit event's changes as (label, text) pairs for reading, not JSON (a before → after pair
    reads 'a → b')."""
    return [
        (row["field"], row["after"] if row["before"] is None else f"{row['before']} → {row['after']}")
        for row in change_rows(changes)["rows"]
    ]


def action_label(action: str) -> str:
    """'invoice.finalized' → 'Invoice finalized', 'billing_run.completed' → 'Billing run completed'."""
    text = str(action).replace(".", " ").replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def audit_rows(events) -> list:
    """Events with their display attached: ``table`` (:func:`change_rows`) and ``action_label``."""
    events = list(events)
    for event in events:
        event.table = change_rows(event.changes)
        event.action_label = action_label(event.action)
    return events
