"""The charge editor: one charge of a draft version as typed inputs (properties, tier rows, filter rows)
→ the api.md Charge payload, and each service error back onto the input it is about (a
``charges[2].properties.tiers[1].up_to`` error lands on tier row 2's "up to" input)."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from decimal import Decimal

from django import forms

from billing.catalog.forms.charge_inputs import (
    MODEL_HELP,
    PROPERTY_INPUTS,
    TIER_COLUMNS,
    TIERED,
    PropSpec,
    match_text,
    parse_match,
)
from billing.catalog.forms.errors import ui_message
from billing.models import Charge, Meter
from billing.rating import EVENT_MODELS
from revops.errors import FieldError
from revops.jsonsafe import loads_text, nul_visible
from revops.money import MoneyError, parse_decimal


class ChargeForm(forms.Form):
    code = forms.SlugField(
        max_length=64, required=False, help_text="Unique within the version, e.g. api_calls."
    )
    name = forms.CharField(max_length=200, required=False, help_text="Shown on invoices.")
    product = forms.ChoiceField(required=False, help_text="Drives revenue recognition.")
    meter = forms.ChoiceField(required=False, label="Meter", help_text="Leave empty for fees and seats.")
    model = forms.ChoiceField(label="Pricing model", choices=Charge.Model.choices)
    timing = forms.ChoiceField(choices=Charge.Timing.choices, initial=Charge.Timing.IN_ARREARS)
    field = forms.CharField(
        max_length=64,
        required=False,
        label="Event amount property",
        help_text="The event property holding each transaction's amount (default: the meter's).",
    )

    def __init__(self, *args, products=(), meters=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = [("", "— none —")] + [
            (p.code, f"{p.name} ({p.code})") for p in products
        ]
        self.fields["meter"].choices = [("", "— none —")] + [(m.code, f"{m.name} ({m.code})") for m in meters]


@dataclass
class PropInput:
    spec: PropSpec
    value: str
    name: str
    id: str
    errors: list[str] = field(default_factory=list)


@dataclass
class TierRow:
    up_to: str = ""
    amount: str = ""
    flat_amount: str = ""
    uid: str = field(default_factory=lambda: secrets.token_hex(4))
    errors: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class FilterRow:
    match: str = ""
    name: str = ""
    inputs: list[PropInput] = field(default_factory=list)
    tiers: str = ""
    uid: str = field(default_factory=lambda: secrets.token_hex(4))
    errors: dict[str, list[str]] = field(default_factory=dict)


class ChargeEditor:
    """The charge form: base fields (a Django form), the model's properties, the tier table, the
    per-dimension price rows and the preview inputs. Built from a stored charge payload or from a POST."""

    def __init__(self, form: ChargeForm, model: str, *, meter: Meter | None = None):
        self.form = form
        self.model = model if model in PROPERTY_INPUTS else "standard"
        self.meter = meter
        self.props: list[PropInput] = []
        self.tiers: list[TierRow] = []
        self.filters: list[FilterRow] = []
        self.preview_quantity = ""
        self.preview_events = ""
        self.preview_group = ""
        self.section_errors: dict[str, list[str]] = {}
        self.summary: list[tuple[str, str]] = []
        self.local_errors: list[FieldError] = []  # shape problems found before any service is asked
        if meter is not None and meter.field:
            form.fields["field"].widget.attrs["placeholder"] = meter.field

    # -- construction --

    @property
    def tiered(self) -> bool:
        return self.model in TIERED

    @property
    def event_model(self) -> bool:
        return self.model in EVENT_MODELS

    @property
    def tier_columns(self) -> tuple[tuple[str, str], ...]:
        return TIER_COLUMNS.get(self.model, ())

    @property
    def amount_key(self) -> str:
        return "rate" if self.model == "graduated_percentage" else "unit_amount"

    @property
    def model_help(self) -> str:
        return MODEL_HELP.get(self.model, "")

    @property
    def match_placeholder(self) -> str:
        keys = list(self.meter.group_by or []) if self.meter else []
        return ", ".join(f"{k}=…" for k in keys) if keys else "model=gpt-4o, token_type=input"

    def _prop_inputs(self, values: dict, prefix: str) -> list[PropInput]:
        return [
            PropInput(
                spec=s,
                value="" if values.get(s.key) is None else str(values.get(s.key)),
                name=f"{prefix}{s.key}",
                id=f"id_{prefix}{s.key}",
            )
            for s in PROPERTY_INPUTS[self.model]
        ]

    def _filter_row(self, match: str, name: str, values: dict, tiers: str) -> FilterRow:
        row = FilterRow(match=match, name=name, tiers=tiers)
        row.inputs = [
            PropInput(spec=i.spec, value=i.value, name=i.name, id=f"{i.id}-{row.uid}")
            for i in self._prop_inputs(values, "f-")
        ]
        return row

    def new_tier(self) -> TierRow:
        return TierRow()

    def new_filter(self) -> FilterRow:
        return self._filter_row("", "", {}, "")

    @classmethod
    def from_payload(cls, payload: dict, *, products, meters) -> ChargeEditor:
        initial = {k: payload.get(k) or "" for k in ("code", "name", "product", "meter", "field")}
        initial["model"] = payload.get("model") or "standard"
        initial["timing"] = payload.get("timing") or "in_arrears"
        form = ChargeForm(initial=initial, products=products, meters=meters)
        editor = cls(form, initial["model"], meter=_find(meters, initial["meter"]))
        props = payload.get("properties") or {}
        editor.props = editor._prop_inputs(props, "p-")
        if editor.tiered:
            editor.tiers = [
                TierRow(
                    up_to="" if t.get("up_to") is None else str(t.get("up_to")),
                    amount=str(t.get(editor.amount_key, "") or ""),
                    flat_amount=str(t.get("flat_amount", "") or ""),
                )
                for t in props.get("tiers") or []
                if isinstance(t, dict)
            ] or [TierRow()]
        for f in payload.get("filters") or []:
            fprops = f.get("properties") or {}
            editor.filters.append(
                editor._filter_row(
                    match_text(f.get("match") or {}),
                    f.get("name") or "",
                    fprops,
                    json.dumps(fprops.get("tiers"), indent=1)
                    if editor.tiered and fprops.get("tiers")
                    else "",
                )
            )
        return editor

    @classmethod
    def from_post(cls, data, *, products, meters) -> ChargeEditor:
        form = ChargeForm(data, products=products, meters=meters)
        form.is_valid()
        model = data.get("model") or "standard"
        editor = cls(form, model, meter=_find(meters, data.get("meter") or ""))
        editor.props = editor._prop_inputs(
            {k[2:]: v.strip() for k, v in data.items() if k.startswith("p-")}, "p-"
        )
        if editor.tiered:
            ups = data.getlist("tier-up_to")
            amounts = data.getlist(f"tier-{editor.amount_key}")
            flats = data.getlist("tier-flat_amount")
            editor.tiers = [
                TierRow(up_to=_at(ups, i), amount=_at(amounts, i), flat_amount=_at(flats, i))
                for i in range(len(ups))
            ] or [TierRow()]
        matches = data.getlist("f-match")
        names = data.getlist("f-name")
        columns = {s.key: data.getlist(f"f-{s.key}") for s in PROPERTY_INPUTS[editor.model]}
        tiers = data.getlist("f-tiers")
        for i, match in enumerate(matches):
            values = {key: _at(col, i) for key, col in columns.items()}
            editor.filters.append(editor._filter_row(match.strip(), _at(names, i), values, _at(tiers, i)))
        editor.preview_quantity = (data.get("preview-quantity") or "").strip()
        editor.preview_events = data.get("preview-events") or ""
        editor.preview_group = data.get("preview-group") or ""
        return editor

    # -- payload --

    def _tier_payload(self, row: TierRow) -> dict:
        tier: dict = {"up_to": row.up_to.strip() or None}
        if row.amount.strip():
            tier[self.amount_key] = row.amount.strip()
        if row.flat_amount.strip():
            tier["flat_amount"] = row.flat_amount.strip()
        return tier

    def properties_payload(self) -> dict:
        if self.tiered:
            return {"tiers": [self._tier_payload(t) for t in self.tiers]}
        return {i.spec.key: i.value.strip() for i in self.props if i.value.strip()}

    def _filter_payload(self, index: int, row: FilterRow) -> dict:
        try:
            match = parse_match(row.match)
        except ValueError as exc:
            self.local_errors.append(FieldError(f"filters[{index}].match", nul_visible(str(exc))))
            match = {}
        if self.tiered:
            properties: dict = {}
            if row.tiers.strip():
                try:
                    properties["tiers"] = loads_text(row.tiers, parse_float=Decimal)
                except ValueError as exc:
                    self.local_errors.append(
                        FieldError(
                            f"filters[{index}].properties.tiers",
                            f"Not valid JSON: {exc.msg} (line {exc.lineno})."
                            if isinstance(exc, json.JSONDecodeError)
                            else nul_visible(str(exc)),
                        )
                    )
        else:
            properties = {i.spec.key: i.value.strip() for i in row.inputs if i.value.strip()}
        data = {"match": match, "properties": properties}
        if row.name.strip():
            data["name"] = row.name.strip()
        return data

    def payload(self) -> dict:
        """The api.md Charge shape of what was typed (decimal strings as typed)."""
        self.local_errors = []
        cd = self.form.cleaned_data if self.form.is_bound else self.form.initial
        raw = self.form.data if self.form.is_bound else self.form.initial
        data: dict = {
            "code": (cd.get("code") if "code" in cd else raw.get("code")) or "",
            "model": self.model,
            "timing": raw.get("timing") or "in_arrears",
            "properties": self.properties_payload(),
        }
        for key in ("name", "product", "meter"):
            value = (raw.get(key) or "").strip()
            if value:
                data[key] = value
        if self.event_model and (raw.get("field") or "").strip():
            data["field"] = raw.get("field").strip()
        filters = [self._filter_payload(i, row) for i, row in enumerate(self.filters)]
        if filters:
            data["filters"] = filters
        return data

    @property
    def untouched(self) -> bool:
        """True while no price has been typed (the preview then invites rather than complains)."""
        if self.tiered:
            return not any(t.up_to.strip() or t.amount.strip() or t.flat_amount.strip() for t in self.tiers)
        return bool(self.props) and not any(i.value.strip() for i in self.props)

    @property
    def shape_ok(self) -> bool:
        return self.form.is_valid() and not self.local_errors

    # -- errors --

    def add_errors(self, errors: list[FieldError], *, prefix: str = "", index: int | None = None) -> None:
        """Place service errors (paths under ``prefix``, e.g. ``charges[2]``) on their inputs."""
        own_code = (self.form.data.get("code") or "").strip() if self.form.is_bound else ""
        for error in errors:
            path = error.field or ""
            if prefix and (path == prefix or path.startswith(prefix + ".")):
                self._place(path[len(prefix) + 1 :], error.message)
                continue
            other = re.match(r"charges\[(\d+)\]\.?(.*)", path)
            if other and other.group(2) == "code" and own_code and f"'{own_code}'" in error.message:
                self._place("code", error.message)  # the duplicate is flagged on the other charge
            elif other and index is not None:
                self._summary(f"Charge {int(other.group(1)) + 1} · {other.group(2)}", error.message)
            else:
                self._place(path, error.message)

    def _summary(self, label: str, message: str) -> None:
        self.summary.append((label, ui_message(message)))

    def _section(self, name: str, message: str) -> None:
        self.section_errors.setdefault(name, []).append(ui_message(message))

    def _place(self, rel: str, message: str) -> None:  # noqa: C901 - one branch per kind of path
        msg = ui_message(message)
        if m := re.fullmatch(r"properties\.tiers\[(\d+)\]\.(\w+)", rel):
            j, key = int(m.group(1)), m.group(2)
            key = "amount" if key == self.amount_key else key
            if j < len(self.tiers):
                self.tiers[j].errors.setdefault(key, []).append(msg)
            self._summary(f"Tier {j + 1} · {_tier_label(self, key)}", msg)
        elif rel.startswith("properties.tiers"):
            self._section("tiers", msg)
            self._summary("Tiers", msg)
        elif m := re.fullmatch(r"properties\.(\w+)", rel):
            target = next((i for i in self.props if i.spec.key == m.group(1)), None)
            if target:
                target.errors.append(msg)
                self._summary(target.spec.label, msg)
            else:
                self._section("properties", f"{m.group(1)}: {msg}")
                self._summary(m.group(1), msg)
        elif rel == "properties":
            self._section("properties", msg)
            self._summary("Properties", msg)
        elif m := re.fullmatch(r"filters\[(\d+)\]\.?(.*)", rel):
            k, rest = int(m.group(1)), m.group(2)
            row = self.filters[k] if k < len(self.filters) else None
            label = f"Dimension {k + 1}"
            if rest.startswith("properties.tiers"):
                detail = rest[len("properties.tiers") :]
                key, text = "tiers", (f"{_json_path_label(detail)}: {msg}" if detail else msg)
            elif pm := re.fullmatch(r"properties\.(\w+)", rest):
                key, text = pm.group(1), msg
            else:
                key, text = (rest or "row"), msg
            target = next((i for i in row.inputs if i.spec.key == key), None) if row is not None else None
            if target:
                target.errors.append(text)
            elif row is not None:
                row.errors.setdefault(key if key in ("match", "name", "tiers") else "row", []).append(text)
            shown = (
                target.spec.label if target else {"match": "Match", "tiers": "Tiers", "row": ""}.get(key, key)
            )
            self._summary(f"{label} · {shown}" if shown else label, text)
        elif rel == "filters":
            self._section("filters", msg)
            self._summary("Per-dimension prices", msg)
        elif rel in ("code", "name", "product", "meter", "model", "timing", "field"):
            if self.form.is_bound:
                self.form.add_error(rel, msg)
            else:
                self._section("other", msg)
            self._summary(self.form.fields[rel].label or rel.capitalize(), msg)
        elif rel == "quantity" or rel.startswith("events"):
            self._section("preview", msg)
            self._summary("Preview", msg)
        else:
            self._section("other", f"{rel}: {msg}" if rel else msg)
            self._summary(rel or "Charge", msg)

    def add_local_errors(self) -> None:
        for error in self.local_errors:
            self._place(error.field, error.message)

    @property
    def form_error_summary(self) -> list[tuple[str, str]]:
        """Django field errors (e.g. a code that is not a slug) for the summary at the top."""
        items = []
        if self.form.is_bound:
            for name, errs in self.form.errors.items():
                label = (
                    self.form.fields[name].label or name.capitalize() if name in self.form.fields else "Form"
                )
                items.extend((label, e) for e in errs if (label, e) not in self.summary)
        return items

    @property
    def all_errors(self) -> list[tuple[str, str]]:
        seen, out = set(), []
        for item in self.summary + self.form_error_summary:
            if item not in seen:
                seen.add(item)
                out.append(item)
        return out

    # -- preview --

    def preview_groups(self) -> list[tuple[str, str]]:
        return [("", "Default price")] + [
            (str(i), f"Dimension {i + 1}: {row.name or row.match or '(no match yet)'}")
            for i, row in enumerate(self.filters)
        ]

    def preview_request(self, *, meter_field: str = "") -> dict:
        """Keyword arguments for ``preview_charge`` (without currency), or ``{"hint": ...}`` when the
        user has not typed a quantity/events yet. Shape errors go to ``self.local_errors``."""
        payload = self.payload()
        properties = payload["properties"]
        if self.preview_group.isdigit() and int(self.preview_group) < len(payload.get("filters", [])):
            properties = payload["filters"][int(self.preview_group)]["properties"]
        request: dict = {"model": self.model, "properties": properties}
        if self.event_model:
            amount_field = payload.get("field") or meter_field or "amount"
            request["field"] = amount_field
            lines = [line.strip() for line in self.preview_events.splitlines() if line.strip()]
            request["events"] = [{amount_field: line} for line in lines]
            if not lines:
                request["hint"] = "Type event amounts, one per line, to see what they would pay."
        elif self.preview_quantity:
            try:
                request["quantity"] = parse_decimal(self.preview_quantity, field="quantity")
            except MoneyError:
                self.local_errors.append(
                    FieldError("quantity", f"'{self.preview_quantity}' is not a decimal number.")
                )
                request["quantity"] = Decimal(0)
                request["hint"] = ""
        elif self.model != "flat":
            request["quantity"] = Decimal(0)
            request["hint"] = "Type a quantity to see the amount and its tier-by-tier breakdown."
        return request


def _tier_label(editor: ChargeEditor, key: str) -> str:
    columns = dict(editor.tier_columns)
    return columns.get(editor.amount_key if key == "amount" else key, key)


def _json_path_label(detail: str) -> str:
    """'[1].unit_amount' (below a dimension's tiers) → 'tier 2 unit price'."""
    from revops.core.audit.display import path_label

    return path_label(f"tiers{detail}")


def _at(values: list, index: int) -> str:
    return values[index].strip() if index < len(values) else ""


def _find(meters, code: str) -> Meter | None:
    return next((m for m in meters if m.code == code), None) if code else None
