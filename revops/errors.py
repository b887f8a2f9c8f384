"""Domain errors. Services raise these; the API turns them into RFC 9457 problems and the UI into
form errors, so the same rule produces the same message everywhere."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"field": self.field, "message": self.message}


class DomainError(Exception):
    """A business rule refused the operation. Maps to 422 unless a subclass says otherwise."""

    status = 422
    slug = "unprocessable"
    title = "The request cannot be processed"

    def __init__(self, detail: str, *, errors: list[FieldError] | None = None, field: str | None = None):
        super().__init__(detail)
        self.detail = detail
        errs = list(errors or [])
        if field is not None and not errs:
            errs = [FieldError(field, detail)]
        self.errors = errs


class ValidationFailed(DomainError):
    status = 400
    slug = "validation-error"
    title = "Validation failed"


class NotFound(DomainError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class InvalidTransition(Conflict):
    slug = "invalid-transition"
    title = "Invalid state transition"


class Forbidden(DomainError):
    status = 403
    slug = "forbidden"
    title = "Forbidden"


class AppendOnlyError(RuntimeError):
    """A record an auditor reads (audit event, checkpoint, journal entry…) was edited or deleted in
    place: correct it by adding a record, never by changing one. A programming error, not a 4xx."""
