"""Forms of the contract pages: the contract editor (a header form plus spreadsheet-like line rows),
lifecycle steps and the amendment form (the customer form: revops/parties/forms.py).

Forms check shape only and turn what was typed into the exact payloads the API sends
(``contract_create(lines=[Line])``, ``contract_amend(changes=[...])``); the services decide. Their
field paths (``lines[2].plan``, ``changes[1].quantity``) are mapped back to the row and input the
person typed into, and every typed value is kept for the re-rendered form."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django import forms

from billing.contracts.models import Contract, ContractLine
from revops.core.forms import BoundedDateField, date_input
from revops.errors import FieldError

# --- contract editor ---------------------------------------------------------------------------------

LINE_COLUMNS = (
    "key",
    "product",
    "plan",
    "billing",
    "quantity",
    "unit_price",
    "amount",
    "service_start",
    "service_end",
)
_TYPED = ("key", "product", "plan", "unit_price", "amount", "service_start", "service_end")


@dataclass
class LineRow:
    """One spreadsheet row of the contract editor: what was typed, and the errors for each cell."""

    values: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)
    uid: str = field(default_factory=lambda: secrets.token_hex(4))

    @classmethod
    def blank(cls) -> LineRow:
        return cls(values={c: "" for c in LINE_COLUMNS} | {"quantity": "1"})

    @property
    def is_blank(self) -> bool:
        return not any(self.values.get(c) for c in _TYPED)

    @property
    def has_errors(self) -> bool:
        return any(self.errors.values())

    def add_error(self, column: str, message: str) -> None:
        self.errors.setdefault(column if column in LINE_COLUMNS else "row", []).append(message)

    def payload(self) -> dict:
        """The api.md Line: only what was typed (the service applies its own defaults)."""
        return {c: v for c, v in self.values.items() if v != ""}


def line_rows_from(data, *, prefix: str = "line") -> list[LineRow]:
    """Rows from parallel lists (``line-key``, ``line-product``… one entry per row, in page order)."""
    columns = {c: data.getlist(f"{prefix}-{c}") for c in LINE_COLUMNS}
    count = max((len(v) for v in columns.values()), default=0)
    return [
        LineRow(values={c: (columns[c][i] if i < len(columns[c]) else "").strip() for c in LINE_COLUMNS})
        for i in range(count)
    ]


_LINE_PATH = re.compile(r"^lines\[(\d+)\](?:\.(\w+))?$")


def place_line_errors(errors: list[FieldError], rows: list[LineRow]) -> list[FieldError]:
    """Put ``lines[i].field`` errors on the i-th submitted row; return the errors that are not a line's."""
    rest = []
    for error in errors:
        match = _LINE_PATH.match(error.field)
        if match and int(match.group(1)) < len(rows):
            rows[int(match.group(1))].add_error(match.group(2) or "row", error.message)
        else:
            rest.append(error)
    return rest


# --- ramp steps (issue 17 §5, accounting.md §5a) ---------------------------------------------------------

STEP_COLUMNS = ("line", "from", "unit_price", "amount")


@dataclass
class StepRow:
    """One ramp step row of the contract editor: which line (its key), from when, at what price."""

    values: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)
    uid: str = field(default_factory=lambda: secrets.token_hex(4))

    @classmethod
    def blank(cls, line: str = "") -> StepRow:
        return cls(values={c: "" for c in STEP_COLUMNS} | {"line": line})

    @property
    def is_blank(self) -> bool:
        return not any(self.values.get(c) for c in ("from", "unit_price", "amount"))

    @property
    def has_errors(self) -> bool:
        return any(self.errors.values())

    def add_error(self, column: str, message: str) -> None:
        self.errors.setdefault(column if column in STEP_COLUMNS else "row", []).append(message)

    def payload(self) -> dict:
        return {c: v for c, v in self.values.items() if c != "line" and v != ""}


def step_rows_from(data, *, prefix: str = "step") -> list[StepRow]:
    """Typed ramp step rows (``step-line``, ``step-from``… parallel lists, in page order)."""
    columns = {c: data.getlist(f"{prefix}-{c}") for c in STEP_COLUMNS}
    count = max((len(v) for v in columns.values()), default=0)
    rows = [
        StepRow(values={c: (columns[c][i] if i < len(columns[c]) else "").strip() for c in STEP_COLUMNS})
        for i in range(count)
    ]
    return [row for row in rows if not row.is_blank]


def lines_with_ramps(rows: list[LineRow], steps: list[StepRow]) -> tuple[list[dict], dict]:
    """The api.md Lines of the editor, each line's typed steps as its ``ramp`` (in the order typed).
    Returns (payloads, where): ``where[(i, j)]`` is the step row of ``lines[i].ramp[j]``. A step naming
    no typed line gets its error here."""
    index = {row.values.get("key"): i for i, row in enumerate(rows) if row.values.get("key")}
    payloads = [row.payload() for row in rows]
    where: dict = {}
    for step in steps:
        i = index.get(step.values.get("line"))
        if i is None:
            step.add_error("line", "Name the key of one of the lines above.")
            continue
        ramp = payloads[i].setdefault("ramp", [])
        where[(i, len(ramp))] = step
        ramp.append(step.payload())
    return payloads, where


_STEP_PATH = re.compile(r"^lines\[(\d+)\]\.ramp(?:\[(\d+)\](?:\.(\w+))?)?$")


def place_step_errors(errors: list[FieldError], where: dict) -> list[FieldError]:
    """Put ``lines[i].ramp[j].field`` errors on the step row typed for it (``lines[i].ramp`` on the
    line's first step); return the others."""
    rest = []
    for error in errors:
        match = _STEP_PATH.match(error.field)
        if match:
            i, j = int(match.group(1)), int(match.group(2) or 0)
            row = where.get((i, j))
            if row is not None:
                row.add_error(match.group(3) or "row", error.message)
                continue
        rest.append(error)
    return rest


class ContractForm(forms.Form):
    customer = forms.ChoiceField(label="Customer")
    currency = forms.CharField(
        max_length=3,
        required=False,
        help_text="Leave empty to use the customer's currency.",
        widget=forms.TextInput(
            attrs={"list": "currency-codes", "autocomplete": "off", "placeholder": "auto"}
        ),
    )
    start_date = BoundedDateField(widget=date_input(), label="Start date")
    end_date = BoundedDateField(
        widget=date_input(),
        label="End date (exclusive)",
        help_text="The first day no longer covered: a one-year contract from 1 Mar 2026 ends 1 Mar 2027.",
    )
    billing_anchor = forms.ChoiceField(
        choices=Contract.BillingAnchor.choices,
        initial=Contract.BillingAnchor.CALENDAR,
        label="Billing anchor",
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, customers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.currency_of = {c.external_id: c.currency for c in customers}
        self.fields["customer"].choices = [("", "Choose a customer…")] + [
            (c.external_id, f"{c.name} ({c.external_id}, {c.currency})") for c in customers
        ]

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "customer": data["customer"],
            "currency": (data.get("currency") or self.currency_of.get(data["customer"], "")).upper(),
            "start_date": data["start_date"],
            "end_date": data["end_date"],
            "billing_anchor": data["billing_anchor"],
            "notes": data.get("notes") or "",
        }


class TerminateForm(forms.Form):
    effective_date = BoundedDateField(
        widget=date_input(),
        label="Terminate on",
        help_text="The first day no longer served. Fees billed in advance past it are credited.",
    )


# --- amendments ----------------------------------------------------------------------------------------


@dataclass
class AmendLine:
    """A current line of the contract with what the person wants to change on it."""

    line: ContractLine
    quantity: str
    plan: str
    unit_price: str
    remove: bool
    amount: str = ""
    end: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.line.key

    @property
    def current_plan(self) -> str:
        return self.line.plan.code if self.line.plan_id else ""

    def add_error(self, column: str, message: str) -> None:
        columns = ("quantity", "plan", "unit_price", "amount", "end")
        self.errors.setdefault(column if column in columns else "row", []).append(message)

    @property
    def one_time(self) -> bool:
        return self.line.billing == ContractLine.Billing.ONE_TIME

    def change(self) -> dict | None:
        """``{"remove": key}``, ``{"line": key, ...changed fields}``, or None when nothing changed."""
        if self.remove:
            return {"remove": self.key}
        change: dict = {"line": self.key}
        if self.quantity and not _same_decimal(self.quantity, self.line.quantity):
            change["quantity"] = self.quantity
        if self.plan != self.current_plan:
            change["plan"] = self.plan
        if self.unit_price and not _same_decimal(self.unit_price, self.line.unit_price):
            change["unit_price"] = self.unit_price
        if self.amount and self.one_time and not _same_decimal(self.amount, self.line.amount):
            change["amount"] = self.amount  # replaces the one-time price; the difference is billed once
        if self.end and self.end != (str(self.line.service_end) if self.line.service_end else ""):
            change["end"] = self.end
        return change if len(change) > 1 else None


def _same_decimal(text: str, value) -> bool:
    if value is None:
        return False
    try:
        return Decimal(text) == Decimal(value)
    except (InvalidOperation, ValueError):
        return False


class AmendmentForm(forms.Form):
    effective_date = BoundedDateField(
        widget=date_input(),
        label="Effective date",
        help_text="Changed lines end the day before and their new revision starts on this date.",
    )
    end_date = forms.DateField(
        widget=date_input(),
        required=False,
        label="Extend the term to",
        help_text="Optional new contract end (exclusive); lines without their own end follow it.",
    )


@dataclass
class Amendment:
    """Everything the amendment page shows and sends: the form, the current lines, the added rows,
    and the service ``changes`` with where each came from (to put errors back)."""

    form: AmendmentForm
    lines: list[AmendLine]
    added: list[LineRow]
    changes: list[dict] = field(default_factory=list)
    origins: list[object] = field(default_factory=list)

    @classmethod
    def from_request(cls, data, current: list[ContractLine]) -> Amendment:
        form = AmendmentForm(data)
        lines = []
        for line in current:
            key = line.key
            lines.append(
                AmendLine(
                    line=line,
                    quantity=(data.get(f"q-{key}") or "").strip(),
                    plan=(data.get(f"plan-{key}", line.plan.code if line.plan_id else "") or "").strip(),
                    unit_price=(data.get(f"price-{key}") or "").strip(),
                    remove=bool(data.get(f"remove-{key}")),
                    amount=(data.get(f"amount-{key}") or "").strip(),
                    end=(data.get(f"end-{key}") or "").strip(),
                )
            )
        added = [row for row in line_rows_from(data, prefix="add") if not row.is_blank]
        amendment = cls(form=form, lines=lines, added=added)
        for item in lines:
            change = item.change()
            if change:
                amendment.changes.append(change)
                amendment.origins.append(item)
        for row in added:
            amendment.changes.append({"add": row.payload()})
            amendment.origins.append(row)
        return amendment

    @classmethod
    def initial(cls, current: list[ContractLine], effective_date) -> Amendment:
        form = AmendmentForm(initial={"effective_date": effective_date})
        lines = [
            AmendLine(
                line=line,
                quantity="",
                plan=line.plan.code if line.plan_id else "",
                unit_price="",
                remove=False,
            )
            for line in current
        ]
        return cls(form=form, lines=lines, added=[])

    def effective_date(self):
        return self.form.cleaned_data.get("effective_date") if self.form.is_valid() else None

    def end_date(self):
        return self.form.cleaned_data.get("end_date") if self.form.is_valid() else None

    def place_errors(self, errors: list[FieldError]) -> list[FieldError]:
        """``changes[i].field`` → the line or added row it came from; the rest is returned."""
        rest = []
        for error in errors:
            match = re.match(r"^changes\[(\d+)\](?:\.add\[\d+\])?(?:\.(\w+))?$", error.field)
            if error.field in ("effective_date", "end_date"):
                self.form.add_error(error.field, error.message)
            elif match and int(match.group(1)) < len(self.origins):
                self.origins[int(match.group(1))].add_error(match.group(2) or "row", error.message)
            else:
                rest.append(error)
        return rest
