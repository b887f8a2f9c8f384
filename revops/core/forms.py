"""Form fields shared by the UI: the same input bounds as the API (``revops.dates``)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from revops.dates import RANGE_MESSAGE, date_in_range


def _in_range(value) -> None:
    if value is not None and not date_in_range(value):
        raise ValidationError(RANGE_MESSAGE, code="date_range")


class BoundedDateField(forms.DateField):
    """A date between 1900-01-01 and 2199-12-31 (a form error otherwise, never a 500)."""

    default_validators = [_in_range]


def date_input() -> forms.DateInput:
    """The browser's date picker, ISO dates in and out."""
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
