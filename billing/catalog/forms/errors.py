"""Service errors onto the pricing forms: each ``FieldError`` on the input of the same name (or at
the top of the form), in the words of the form rather than the API's."""

from __future__ import annotations

from django import forms

from revops.errors import FieldError

_UI_WORDING = (
    ("only the last tier can be open-ended (null)", "only the last tier can be open-ended (blank “up to”)"),
    ("the last tier must be open-ended (null)", "the last tier must be open-ended: leave its “up to” blank"),
    ("this property is required (null on the last tier)", "required (leave it blank only on the last tier)"),
    ("previous tier's up_to", "previous tier's “up to”"),
)


def ui_message(message: str) -> str:
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
            form.add_error(name, ui_message(error.message))
        else:
            label = f"{error.field}: " if error.field else ""
            form.add_error(None, f"{label}{ui_message(error.message)}")
