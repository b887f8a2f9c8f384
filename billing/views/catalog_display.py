"""How the pricing pages describe prices to people: readable charge summaries and version diffs.

Presentation only. Numbers stay ``Decimal`` (parsed from the stored decimal strings) and are
formatted, never converted to float or rounded for anything but display."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from billing.models import Charge
from revops.core.audit.display import field_words, path_label
from revops.formatting import quantity as _quantity
from revops.formatting import unit_price

MODEL_LABELS = dict(Charge.Model.choices)
TIMING_LABELS = dict(Charge.Timing.choices)
CENT = Decimal("0.01")
MILLION = Decimal(1_000_000)


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def price(value: Any, currency: str | None = None) -> str:
    """A unit price as the kernel shows it, without the code: full stored precision (0.0000025 stays),
    never fewer decimals than the currency's minor unit (two when the currency is not known)."""
    return unit_price(value, currency, code=False, empty=str(value))


def quantity(value: Any) -> str:
    return _quantity(value, empty=str(value))


def per_million(value: Any, currency: str | None = None) -> str:
    """' (2.50 per million)' for tiny unit prices such as AI tokens; '' otherwise."""
    d = _dec(value)
    if d is None or d <= 0 or d >= CENT:
        return ""
    return f" ({price(d * MILLION, currency)} per million)"


def _is_int(d: Decimal | None) -> bool:
    return d is not None and d == d.to_integral_value()


def tier_ranges(tiers: list[dict], *, continuous: bool = False) -> list[str]:
    """'1–5', '6–10', '11+' for whole-number bounds (Stripe's inclusive ``up_to``); for amounts or
    fractional bounds: 'up to 1,000', '1,000–5,000', 'over 5,000'."""
    bounds = [_dec(t.get("up_to")) for t in tiers]
    whole = not continuous and all(_is_int(b) for b in bounds if b is not None)
    labels, lower = [], None
    for up in bounds:
        if whole:
            first = Decimal(1) if lower is None else lower + 1
            if up is None:
                labels.append(f"{quantity(first)}+" if lower is not None else "all units")
            else:
                labels.append(f"{quantity(first)}–{quantity(up)}")
        elif up is None:
            labels.append(f"over {quantity(lower)}" if lower is not None else "all")
        elif lower is None:
            labels.append(f"up to {quantity(up)}")
        else:
            labels.append(f"{quantity(lower)}–{quantity(up)}")
        lower = up
    return labels


def tiers_summary(model: str, tiers: Any, currency: str | None = None) -> str:
    if not isinstance(tiers, list) or not all(isinstance(t, dict) for t in tiers):
        return json.dumps(tiers)
    percent = model == "graduated_percentage"
    parts = []
    for label, tier in zip(tier_ranges(tiers, continuous=percent), tiers, strict=True):
        amount = f"{quantity(tier.get('rate'))}%" if percent else price(tier.get("unit_amount"), currency)
        flat = _dec(tier.get("flat_amount"))
        extra = f" + {price(flat, currency)} flat" if flat else ""
        if not flat and _dec(tier.get("rate" if percent else "unit_amount")) == 0:
            parts.append(f"{label} free")
        else:
            parts.append(f"{label} @ {amount}{extra}")
    return ", ".join(parts)


def properties_summary(model: str, props: Any, *, field_name: str = "", currency: str | None = None) -> str:
    """One line a pricing admin can check at a glance."""
    if not isinstance(props, dict):
        return str(props)
    p = props
    if model == "flat":
        return f"{price(p.get('amount'), currency)} per period"
    if model == "standard":
        return (
            f"{price(p.get('unit_amount'), currency)} per unit{per_million(p.get('unit_amount'), currency)}"
        )
    if model in ("graduated", "volume"):
        return f"{model.capitalize()}: {tiers_summary(model, p.get('tiers'), currency)}"
    if model == "graduated_percentage":
        return f"Graduated %: {tiers_summary(model, p.get('tiers'), currency)}"
    if model == "package":
        text = f"{price(p.get('amount'), currency)} per package of {quantity(p.get('package_size'))} units"
        if _dec(p.get("free_units")):
            text += f" (first {quantity(p.get('free_units'))} free)"
        return text
    if model == "percentage":
        text = f"{quantity(p.get('rate'))}%"
        if _dec(p.get("fixed_amount")):
            text += f" + {price(p.get('fixed_amount'), currency)}"
        text += " per transaction"
        notes = []
        if _dec(p.get("per_transaction_min_amount")) is not None:
            notes.append(f"min {price(p.get('per_transaction_min_amount'), currency)}")
        if _dec(p.get("per_transaction_max_amount")) is not None:
            notes.append(f"max {price(p.get('per_transaction_max_amount'), currency)}")
        if _dec(p.get("free_units_per_events")):
            notes.append(f"first {quantity(p.get('free_units_per_events'))} transactions free")
        if _dec(p.get("free_units_per_total_aggregation")):
            notes.append(f"first {price(p.get('free_units_per_total_aggregation'), currency)} free")
        return text + (f" ({'; '.join(notes)})" if notes else "")
    if model == "dynamic":
        return f"Price carried in each event ({field_name or 'the amount property'})"
    return json.dumps(props)


def match_label(match: Any) -> str:
    if not isinstance(match, dict):
        return str(match)
    return ", ".join(f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in match.items())


@dataclass
class ChargeView:
    """A stored charge (its api.md payload) as the pages show it."""

    payload: dict
    summary: str
    dimensions: list[tuple[str, str, str]] = field(default_factory=list)  # (label, match, price)

    @property
    def code(self) -> str:
        return self.payload.get("code", "")

    @property
    def model_label(self) -> str:
        return MODEL_LABELS.get(self.payload.get("model"), self.payload.get("model", ""))

    @property
    def timing_label(self) -> str:
        return TIMING_LABELS.get(self.payload.get("timing"), self.payload.get("timing", ""))


def charge_view(payload: dict, currency: str | None = None) -> ChargeView:
    model = payload.get("model", "")
    dims = [
        (
            f.get("name") or "",
            match_label(f.get("match")),
            properties_summary(
                model, f.get("properties") or {}, field_name=payload.get("field", ""), currency=currency
            ),
        )
        for f in payload.get("filters") or []
        if isinstance(f, dict)
    ]
    return ChargeView(
        payload=payload,
        summary=properties_summary(
            model, payload.get("properties") or {}, field_name=payload.get("field", ""), currency=currency
        ),
        dimensions=dims,
    )


# --- version diff -------------------------------------------------------------------------------


def _flatten(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{path}.{k}" if path else str(k)))
        return out or {path: {}}
    if isinstance(value, list):
        out = {}
        for i, v in enumerate(value):
            out.update(_flatten(v, f"{path}[{i}]"))
        return out or {path: []}
    return {path: value}


def _shown(value: Any, key: str = "", currency: str | None = None) -> str:
    if value is None:
        return "—"
    leaf = key.rsplit(".", 1)[-1]
    if _dec(value) is not None and not isinstance(value, bool):
        if "amount" in leaf:
            return price(value, currency)
        if leaf == "rate":
            return f"{quantity(value)}%"
        return quantity(value)
    return value if isinstance(value, str) else json.dumps(value)


def property_changes(old: Any, new: Any, currency: str | None = None) -> list[dict]:
    a, b = _flatten(old or {}), _flatten(new or {})
    rows = []
    for key in list(a) + [k for k in b if k not in a]:
        if a.get(key) != b.get(key) or (key in a) != (key in b):
            rows.append(
                {
                    "label": path_label(key),
                    "old": _shown(a[key], key, currency) if key in a else "—",
                    "new": _shown(b[key], key, currency) if key in b else "—",
                }
            )
    return rows


def _filter_changes(old: Any, new: Any, currency: str | None = None) -> list[dict]:
    a = {match_label(f.get("match")): f for f in old or [] if isinstance(f, dict)}
    b = {match_label(f.get("match")): f for f in new or [] if isinstance(f, dict)}
    rows = []
    for key in list(a) + [k for k in b if k not in a]:
        if key not in b:
            rows.append({"label": f"dimension {key}", "old": "priced", "new": "removed"})
        elif key not in a:
            rows.append({"label": f"dimension {key}", "old": "—", "new": "added"})
        else:
            for change in property_changes(a[key].get("properties"), b[key].get("properties"), currency):
                rows.append({**change, "label": f"{key}: {change['label']}"})
            if a[key].get("name") != b[key].get("name"):
                rows.append(
                    {
                        "label": f"{key}: label",
                        "old": a[key].get("name") or "—",
                        "new": b[key].get("name") or "—",
                    }
                )
    if not rows and list(a) != list(b):
        rows.append({"label": "dimension order", "old": ", ".join(a), "new": ", ".join(b)})
    return rows


def diff_rows(diff: dict, currency: str | None = None) -> list[dict]:
    """:func:`billing.catalog.selectors.version_diff` rows, with readable summaries and every changed
    property listed one by one (e.g. 'tier 2 unit price 6.50 → 6.00')."""
    rows = []
    for row in diff["charges"]:
        details: list[dict] = []
        for change in row["changes"]:
            key = change["field"]
            if key == "properties":
                details.extend(property_changes(change["old"], change["new"], currency))
            elif key == "filters":
                details.extend(_filter_changes(change["old"], change["new"], currency))
            else:
                details.append(
                    {
                        "label": field_words(key),
                        "old": _shown(change["old"], key, currency),
                        "new": _shown(change["new"], key, currency),
                    }
                )
        rows.append(
            {
                "code": row["code"],
                "status": row["status"],
                "css": {"added": "diff-add", "removed": "diff-del", "changed": "diff-chg"}.get(
                    row["status"], ""
                ),
                "old": charge_view(row["old"], currency) if row["old"] else None,
                "new": charge_view(row["new"], currency) if row["new"] else None,
                "details": details,
            }
        )
    return rows
