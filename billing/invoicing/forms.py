"""Forms of the billing pages: billing runs, the invoice review queue, invoice actions (void, payment,
credit note) and prepaid credits.

Forms only check the shape of the input (a date is a date, an amount is a decimal); the services
decide everything else, and what they refuse (``DomainError.errors`` with field paths) is put back
on the matching field by :func:`revops.core.forms.apply_errors`."""

from __future__ import annotations

import re

from django import forms
from django.utils import timezone

from revops.core.forms import BoundedDateField, date_input


def amount_field(**kwargs) -> forms.DecimalField:
    """A decimal typed by a person: no float, no rounding here (the service checks minor units)."""
    attrs = {"inputmode": "decimal", "autocomplete": "off", "class": "num"}
    attrs.update(kwargs.pop("attrs", {}))
    return forms.DecimalField(max_digits=30, widget=forms.TextInput(attrs=attrs), **kwargs)


def form_error_text(form: forms.Form) -> str:
    return " ".join(
        f"{form.fields[name].label if name in form.fields else ''}: {msg}".lstrip(": ")
        for name, messages in form.errors.items()
        for msg in messages
    )


# --- billing runs ------------------------------------------------------------------------------------


class BillingRunForm(forms.Form):
    as_of = BoundedDateField(
        label="Bill everything due as of",
        widget=date_input(),
        help_text="Every period whose billing date is on or before this date and is not billed yet.",
    )
    customers = forms.CharField(
        label="Only these customers",
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "acme, globex", "autocomplete": "off"}),
        help_text="External ids separated by commas or spaces. Leave empty to bill every customer.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["as_of"].initial = timezone.localdate()

    def clean_customers(self) -> list[str]:
        raw = self.cleaned_data.get("customers") or ""
        return [part for part in re.split(r"[\s,;]+", raw) if part]


# --- invoice actions ---------------------------------------------------------------------------------


class VoidForm(forms.Form):
    reason = forms.CharField(
        max_length=300,
        widget=forms.TextInput(attrs={"placeholder": "e.g. issued to the wrong legal entity"}),
        help_text="Kept on the invoice and in the audit trail. The number stays; it is not reused.",
    )


class PaymentForm(forms.Form):
    amount = amount_field()
    date = BoundedDateField(widget=date_input(), label="Received on")
    reference = forms.CharField(
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "bank reference"}),
    )

    def __init__(self, *args, balance=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["date"].initial = timezone.localdate()
        if balance is not None and balance > 0:
            self.fields["amount"].initial = balance


class CreditNoteForm(forms.Form):
    """One optional amount per creditable invoice line (``line_<id>``) and a reason."""

    reason = forms.CharField(
        max_length=300,
        widget=forms.TextInput(attrs={"placeholder": "e.g. SLA credit for the outage on 12 June"}),
    )

    def __init__(self, *args, lines=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.line_fields: list[tuple] = []
        for line in lines:
            name = f"line_{line.pk}"
            self.fields[name] = amount_field(required=False, label=line.description)
            self.line_fields.append((line, name))

    def bound_lines(self):
        return [(line, self[name]) for line, name in self.line_fields]

    def payload(self) -> list[dict]:
        """The service's ``lines``: only the lines with an amount."""
        return [
            {"invoice_line": line.pk, "amount": self.cleaned_data[name]}
            for line, name in self.line_fields
            if self.cleaned_data.get(name) is not None
        ]

    def rename(self, lines: list[dict]) -> dict:
        """Service paths ``lines[i].amount`` → this form's field names."""
        return {
            f"lines[{i}].{part}": f"line_{entry['invoice_line']}"
            for i, entry in enumerate(lines)
            for part in ("amount", "invoice_line")
        }


# --- prepaid credits ---------------------------------------------------------------------------------


class CreditGrantForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[
            (
                "purchased",
                "Purchased — the customer paid for it (needs an approver and the payment; Dr cash)",
            ),
            ("goodwill", "Goodwill — a concession (needs an approver; Dr 4910 contra revenue)"),
        ],
        initial="purchased",
        required=False,  # a form without the field (an older page) grants a purchased credit
        label="Kind",
    )
    payment_reference = forms.CharField(
        max_length=100,
        required=False,
        label="Payment reference",
        help_text="Purchased credit: the payment or receipt that backs it (the approver verifies it).",
    )
    amount = amount_field()
    granted_on = BoundedDateField(widget=date_input(), label="Available from")
    expires_on = BoundedDateField(
        widget=date_input(), required=False, label="Expires on", help_text="Leave empty for no expiry."
    )
    reason = forms.CharField(
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "e.g. prepaid commit, migration delay"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["granted_on"].initial = timezone.localdate()
