"""The simulator form: a plan version, a window and sample events or quantities to rate."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal

from django import forms

from revops.dates import RANGE_MESSAGE, date_in_range
from revops.jsonsafe import loads_text, nul_visible
from revops.money import MoneyError, parse_decimal


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
