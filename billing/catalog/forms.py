"""Forms of the pricing-admin UI: typed fields → api.md payloads, service ``FieldError``s → inputs.

No pricing rule lives here. The catalog services and ``billing.catalog.validation`` decide what is
valid; these forms only reshape what was typed — numbers stay the decimal *strings* the user typed,
never floats — and put each error the services return next to the input it is about (a
``charges[2].properties.tiers[1].up_to`` error lands on tier row 2's "up to" input)."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from django import forms
from django.utils import timezone

from billing.models import Charge, Meter, Plan
from billing.rating import EVENT_MODELS
from revops.contracts.models import Product, RecognitionMethod
from revops.core.forms import BoundedDateField
from revops.dates import RANGE_MESSAGE, date_in_range
from revops.errors import FieldError
from revops.jsonsafe import loads_text, nul_visible
from revops.money import MoneyError, parse_decimal

TIERED = ("graduated", "volume", "graduated_percentage")
COMMON_CURRENCIES = (
    "USD",
    "EUR",
    "GBP",
    "CAD",
    "AUD",
    "CHF",
    "JPY",
    "SEK",
    "NOK",
    "DKK",
    "INR",
    "BRL",
    "KWD",
)


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


_UI_WORDING = (
    ("only the last tier can be open-ended (null)", "only the last tier can be open-ended (blank “up to”)"),
    ("the last tier must be open-ended (null)", "the last tier must be open-ended: leave its “up to” blank"),
    ("this property is required (null on the last tier)", "required (leave it blank only on the last tier)"),
    ("previous tier's up_to", "previous tier's “up to”"),
)


def _cap(message: str) -> str:
    """The service's message, capitalised, with API words ('null') in the words of the form."""
    for api, ui in _UI_WORDING:
        message = message.replace(api, ui)
    return message[:1].upper() + message[1:] if message else message


def apply_errors(form: forms.Form, errors: list[FieldError], *, rename: dict | None = None) -> None:
    """Put each service error on the form field of the same name (or at the top of the form)."""
    rename = rename or {}
    for error in errors:
        name = rename.get(error.field, error.field)
        if name in form.fields:
            form.add_error(name, _cap(error.message))
        else:
            label = f"{error.field}: " if error.field else ""
            form.add_error(None, f"{label}{_cap(error.message)}")


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


# --- plans and versions -------------------------------------------------------------------------


class PlanCreateForm(forms.Form):
    code = forms.SlugField(
        max_length=64, help_text="Lower-case letters, digits and dashes. Contracts and the API use it."
    )
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    currency = forms.CharField(
        max_length=3,
        initial="USD",
        help_text="ISO 4217 code. Every price in the plan is in this currency.",
        widget=forms.TextInput(attrs={"list": "currency-codes", "autocomplete": "off", "size": 5}),
    )
    interval = forms.ChoiceField(choices=Plan.Interval.choices, initial=Plan.Interval.MONTH)
    version_policy = forms.ChoiceField(
        label="When prices change",
        choices=Plan.VersionPolicy.choices,
        initial=Plan.VersionPolicy.ON_EFFECTIVE_DATE,
        widget=forms.RadioSelect,
    )
    effective_from = BoundedDateField(
        label="First version effective from", widget=_date_input(), initial=timezone.localdate
    )


class PlanDetailsForm(forms.Form):
    """What ``plan_update`` may change: name, description, version policy."""

    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    version_policy = forms.ChoiceField(label="When prices change", choices=Plan.VersionPolicy.choices)


class VersionCreateForm(forms.Form):
    effective_from = BoundedDateField(label="Effective from", widget=_date_input())
    copy_from = forms.TypedChoiceField(
        label="Start from the charges of", coerce=int, required=False, empty_value=None
    )

    def __init__(self, *args, versions=(), current=None, default=None, **kwargs):
        """``current``: the version in force today (labelled so); ``default``: the one preselected."""
        super().__init__(*args, **kwargs)
        self.fields["copy_from"].choices = [
            (
                v.number,
                f"v{v.number} · {v.get_status_display().lower()}"
                + (" · in force" if current is not None and v.pk == current.pk else ""),
            )
            for v in versions
        ] + [("", "— no charges (empty draft) —")]
        default = default or current
        if default is not None:
            self.fields["copy_from"].initial = default.number


class DraftSettingsForm(forms.Form):
    effective_from = BoundedDateField(label="Effective from", widget=_date_input())
    minimum_amount = forms.CharField(
        label="Minimum amount per period",
        required=False,
        help_text="When the rated charges of a period fall short, a true-up line makes up the difference.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


def payloads_moved(payloads: list[dict], index: int, direction: str) -> list[dict]:
    """The charge list with one charge moved up or down (its position is its order)."""
    other = index - 1 if direction == "up" else index + 1
    if not (0 <= index < len(payloads) and 0 <= other < len(payloads)):
        return payloads
    moved = list(payloads)
    moved[index], moved[other] = moved[other], moved[index]
    return moved


# --- the charge editor --------------------------------------------------------------------------


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
        self.summary.append((label, _cap(message)))

    def _section(self, name: str, message: str) -> None:
        self.section_errors.setdefault(name, []).append(_cap(message))

    def _place(self, rel: str, message: str) -> None:  # noqa: C901 - one branch per kind of path
        msg = _cap(message)
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
    return re.sub(r"\[(\d+)\]\.?", lambda m: f"tier {int(m.group(1)) + 1} ", detail).strip()


def _at(values: list, index: int) -> str:
    return values[index].strip() if index < len(values) else ""


def _find(meters, code: str) -> Meter | None:
    return next((m for m in meters if m.code == code), None) if code else None


# --- simulator ----------------------------------------------------------------------------------


def parse_when(text: str) -> datetime:
    """'2026-01-01' or '2026-01-01T12:00' (UTC unless an offset is given) → an aware UTC datetime."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_events_text(text: str) -> tuple[list[dict], list[int | None], list[str]]:
    """NDJSON (one event per line) or a JSON array → (events, line number of each, errors).
    Numbers are read as Decimal, never float."""
    text = (text or "").strip()
    if not text:
        return [], [], []
    events: list[dict] = []
    lines: list[int | None] = []
    errors: list[str] = []
    if text.startswith("["):
        try:
            data = loads_text(text, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            return [], [], [f"Line {exc.lineno}: {exc.msg}."]
        except ValueError as exc:
            return [], [], [nul_visible(str(exc))]
        if not isinstance(data, list):
            return [], [], ["A JSON array of events is expected."]
        for i, item in enumerate(data):
            if isinstance(item, dict):
                events.append(item)
                lines.append(None)
            else:
                errors.append(f"Event {i + 1}: must be an object with code, timestamp and properties.")
        return events, lines, errors
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = loads_text(line, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            errors.append(f"Line {number}: {exc.msg}.")
            continue
        except ValueError as exc:
            errors.append(f"Line {number}: {nul_visible(str(exc))}")
            continue
        if not isinstance(item, dict):
            errors.append(f"Line {number}: must be an object with code, timestamp and properties.")
            continue
        events.append(item)
        lines.append(number)
    return events, lines, errors


def event_error_label(path: str, lines: list[int | None]) -> str:
    m = re.match(r"events\[(\d+)\]\.?(.*)", path)
    if not m:
        return path
    i = int(m.group(1))
    where = f"Event {i + 1}"
    if i < len(lines) and lines[i] is not None:
        where += f" (line {lines[i]})"
    return f"{where} · {m.group(2)}" if m.group(2) else where


class SimulatorForm(forms.Form):
    version = forms.ChoiceField(label="Plan and version")
    start = forms.CharField(
        label="From (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Inclusive.",
    )
    end = forms.CharField(
        label="To (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), help_text="Exclusive."
    )
    events = forms.CharField(
        label="Usage events",
        required=False,
        widget=forms.Textarea(attrs={"rows": 9, "spellcheck": "false", "class": "mono"}),
        help_text='NDJSON (one event per line) or a JSON array of {"code", "timestamp", "properties"}; '
        "code is the meter code, timestamps need an offset.",
    )

    def __init__(self, *args, versions=(), **kwargs):
        super().__init__(*args, **kwargs)
        groups: dict[str, list] = {}
        for v in versions:
            label = f"{v.plan.code} v{v.number} · from {v.effective_from:%Y-%m-%d} · {v.get_status_display().lower()}"
            groups.setdefault(f"{v.plan.name} ({v.plan.code})", []).append(
                (f"{v.plan.code}:{v.number}", label)
            )
        self.fields["version"].choices = list(groups.items())

    def clean_start(self):
        return self._when("start")

    def clean_end(self):
        return self._when("end")

    def _when(self, name: str) -> datetime:
        try:
            value = parse_when(self.cleaned_data[name])
        except ValueError:
            raise forms.ValidationError("Enter a date (2026-01-01) or a date and time (2026-01-01T09:30).")
        if not date_in_range(value):
            raise forms.ValidationError(RANGE_MESSAGE)
        return value


def quantity_fields(charges) -> list[dict]:
    """Inputs for the quantity of each charge without a meter (seats, fees); blank means 1."""
    return [
        {"code": c.code, "name": f"q-{c.code}", "label": c.name or c.code, "model": c.get_model_display()}
        for c in charges
        if not c.meter_id
    ]


def parse_quantities(data, fields: list[dict]) -> tuple[dict[str, Decimal], dict[str, str]]:
    quantities, errors = {}, {}
    for f in fields:
        text = (data.get(f["name"]) or "").strip()
        if not text:
            continue
        try:
            value = parse_decimal(text, field=f["code"])
        except MoneyError:
            errors[f["code"]] = f"'{text}' is not a decimal number."
            continue
        if value < 0:
            errors[f["code"]] = "Must not be negative."
        else:
            quantities[f["code"]] = value
    return quantities, errors


# --- products and meters ------------------------------------------------------------------------


class ProductForm(forms.Form):
    code = forms.SlugField(max_length=64)
    name = forms.CharField(max_length=200)
    recognition = forms.ChoiceField(
        choices=RecognitionMethod.choices, initial=RecognitionMethod.RATABLE_DAILY
    )
    revenue_account = forms.CharField(
        max_length=32, initial="4000", help_text="A revenue account (4000, or a sub-account 4001–4799)."
    )
    description = forms.CharField(required=False)

    def clean_revenue_account(self):
        from revops.books import revenue_account_errors

        code = self.cleaned_data["revenue_account"].strip()
        errors = revenue_account_errors(code)
        if errors:
            raise forms.ValidationError(errors[0].message)
        return code


class MeterForm(forms.Form):
    code = forms.SlugField(max_length=64, help_text="Events are sent with this code.")
    name = forms.CharField(max_length=200)
    aggregation = forms.ChoiceField(choices=Meter.Aggregation.choices)
    field = forms.CharField(
        max_length=64, required=False, label="Property aggregated", help_text="Not needed for count."
    )
    group_by = forms.CharField(
        required=False, label="Group by", help_text="Comma-separated property names, e.g. model, token_type."
    )
    description = forms.CharField(required=False)
    allow_negative = forms.BooleanField(
        required=False,
        label="Allow negative values",
        help_text="Off: an event with a negative value is quarantined at ingestion.",
    )

    def service_kwargs(self) -> dict:
        cd = self.cleaned_data
        return {
            "code": cd["code"],
            "name": cd["name"],
            "aggregation": cd["aggregation"],
            "field": cd["field"].strip(),
            "group_by": [g.strip() for g in cd["group_by"].split(",") if g.strip()],
            "description": cd["description"],
            "allow_negative": cd["allow_negative"],
        }


def products_and_meters() -> tuple[list[Product], list[Meter]]:
    return list(Product.objects.filter(active=True).order_by("code")), list(Meter.objects.order_by("code"))
