"""The new-customer form and the common currency and time-zone choices the customer and contract
pages offer. The form checks shape only; the customer services decide."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from revops.parties.models.customers import MAX_GRACE_HOURS
from revops.parties.services.customers import EDITABLE, currency_uses

COMMON_TIMEZONES = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Tokyo",
    "Asia/Singapore",
    "Asia/Kolkata",
    "Australia/Sydney",
)
COMMON_CURRENCIES = ("USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD")


class CustomerForm(forms.Form):
    external_id = forms.CharField(
        max_length=128,
        label="External id",
        help_text="The id your CRM or billing pipeline uses; usage events and the API refer to it.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "e.g. acme"}),
    )
    name = forms.CharField(max_length=200)
    currency = forms.CharField(
        max_length=3,
        initial="USD",
        help_text="ISO 4217 code. Every contract and invoice of the customer is in it.",
        widget=forms.TextInput(attrs={"list": "currency-codes", "autocomplete": "off"}),
    )
    timezone = forms.CharField(
        max_length=64,
        initial="UTC",
        label="Billing time zone",
        help_text="IANA name. Billing periods and usage days are dates in this zone.",
        widget=forms.TextInput(attrs={"list": "timezone-names", "autocomplete": "off"}),
    )
    tax_rate = forms.DecimalField(
        max_digits=7,
        required=False,
        initial=Decimal(0),
        label="Tax rate (%)",
        help_text="Exclusive rate added to every invoice, e.g. 8.875.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "class": "num"}),
    )
    email = forms.EmailField(required=False, label="Billing email")
    address = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    auto_finalize_grace_hours = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_GRACE_HOURS,
        label="Auto-finalize drafts after (hours)",
        help_text="Empty: the organization's grace period (billing settings). 0: at once. "
        "Counted from when the draft was created.",
        widget=forms.NumberInput(attrs={"class": "num"}),
    )

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        data["tax_rate"] = data.get("tax_rate") or Decimal(0)
        data["currency"] = (data.get("currency") or "").upper()
        return data


class CustomerEditForm(CustomerForm):
    """An existing customer's editable facts (``customer_update``): the external id is its identity."""

    def __init__(self, *args, customer, **kwargs):
        kwargs.setdefault("initial", {k: getattr(customer, k) for k in EDITABLE})
        super().__init__(*args, **kwargs)
        del self.fields["external_id"]
        self.customer = customer
        self.currency_used = currency_uses(customer)
        if self.currency_used:
            self.fields["currency"].disabled = True
            self.fields[
                "currency"
            ].help_text = f"Fixed: the customer has {', '.join(self.currency_used)} in this currency."

    def clean(self):
        """A disabled field keeps its value, but a post that names another currency (a form opened
        before the first booking) is refused on the field, not silently ignored."""
        cleaned = super().clean()
        posted = (self.data.get("currency") or "").strip().upper()
        if self.currency_used and posted and posted != self.customer.currency:
            self.add_error("currency", self.fields["currency"].help_text.replace("Fixed", "Cannot change"))
        return cleaned

    def service_kwargs(self) -> dict:
        return {k: v for k, v in super().service_kwargs().items() if k in EDITABLE}


class CustomerGraceForm(forms.Form):
    """A customer's own grace period before its drafts finalize themselves (empty: the organization's)."""

    auto_finalize_grace_hours = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_GRACE_HOURS,
        label="Own grace period (hours)",
        help_text="Empty: the organization's. 0: at once.",
        widget=forms.NumberInput(attrs={"class": "num"}),
    )
