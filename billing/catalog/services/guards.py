"""What every catalog write refuses: invalid fields (one ``ValidationFailed`` naming them all) and a
price version taking effect in a closed accounting period."""

from __future__ import annotations

from datetime import date

from revops.books import closed_through, in_closed_period
from revops.errors import FieldError, ValidationFailed


def raise_invalid(errors: list[FieldError]) -> None:
    if errors:
        raise ValidationFailed(
            errors[0].message if len(errors) == 1 else f"{len(errors)} fields are invalid.", errors=errors
        )


def closed_period_errors(effective_from: date | None) -> list[FieldError]:
    """A price version may not take effect in a closed accounting period."""
    if effective_from is None or not in_closed_period(effective_from):
        return []
    return [
        FieldError(
            "effective_from",
            f"{effective_from:%Y-%m-%d} is in a closed accounting period (closed through "
            f"{closed_through():%Y-%m-%d}): a price version may take effect only after it.",
        )
    ]
