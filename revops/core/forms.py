"""Form fields shared by the UI: the same input bounds as the API (``revops.dates``); and a service's
refusal (``DomainError``) put back on the form or in a flash message."""

from __future__ import annotations

from collections.abc import Iterable

from django import forms
from django.core.exceptions import ValidationError

from revops.dates import RANGE_MESSAGE, date_in_range
from revops.errors import DomainError, FieldError


def _in_range(value) -> None:
    if value is not None and not date_in_range(value):
        raise ValidationError(RANGE_MESSAGE, code="date_range")


class BoundedDateField(forms.DateField):
    """A date between 1900-01-01 and 2199-12-31 (a form error otherwise, never a 500)."""

    default_validators = [_in_range]


def date_input() -> forms.DateInput:
    """The browser's date picker, ISO dates in and out."""
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def apply_errors(form: forms.Form, errors: Iterable[FieldError], *, rename: dict | None = None) -> None:
    """Put each service error on the form field of the same name (or at the top of the form)."""
    rename = rename or {}
    for error in errors:
        name = rename.get(error.field, error.field)
        if name in form.fields:
            form.add_error(name, _cap(error.message))
        else:
            label = f"{error.field}: " if error.field else ""
            form.add_error(None, f"{label}{_cap(error.message)}")


def error_text(exc: DomainError) -> str:
    """One line for a flash message: the detail, then each field message it did not already say."""
    parts = [exc.detail]
    for error in exc.errors:
        if error.message not in exc.detail:
            parts.append(f"{error.field}: {error.message}" if error.field else error.message)
    return " ".join(p if p.endswith(".") else p + "." for p in parts if p)
