"""Plan and version forms of the pricing UI: a new plan, its details, a new version, a draft's
settings, and moving a charge within a draft."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from billing.models import Plan
from revops.core.forms import BoundedDateField

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


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


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
