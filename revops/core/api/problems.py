"""RFC 9457 problem details for every API error: DRF exceptions, domain errors, Django's 404 and
PermissionDenied, and unknown paths. Validation errors list every field with its JSON path
(``lines[1].ssp``)."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from revops.errors import DomainError

log = logging.getLogger(__name__)
PROBLEM_CONTENT_TYPE = "application/problem+json"

SLUGS = {
    400: ("validation-error", "Validation failed"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("unprocessable", "The request cannot be processed"),
    429: ("rate-limited", "Too many requests"),
    500: ("server-error", "Internal server error"),
    503: ("unavailable", "Service unavailable"),
}


def problem_type(slug: str) -> str:
    return f"/problems/{slug}"


def problem(
    status_code: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    errors: list[dict] | None = None,
    **extra,
) -> dict:
    default_slug, default_title = SLUGS.get(status_code, ("error", "Error"))
    body = {
        "type": problem_type(slug or default_slug),
        "title": title or default_title,
        "status": status_code,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    return body


def flatten_errors(detail, path: str = "") -> list[dict]:
    """DRF's nested error structure -> ``[{"field": "lines[1].ssp", "message": ...}]``."""
    out: list[dict] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key in ("non_field_errors", "__all__"):
                sub = path
            elif isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
                sub = f"{path}[{key}]"
            else:
                sub = f"{path}.{key}" if path else str(key)
            out.extend(flatten_errors(value, sub))
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            out.extend({"field": path, "message": str(item)} for item in detail)
        else:
            for index, item in enumerate(detail):
                if item in ({}, [], None):
                    continue
                out.extend(flatten_errors(item, f"{path}[{index}]"))
    else:
        out.append({"field": path, "message": str(detail)})
    return out


def _summary(errors: list[dict]) -> str:
    if not errors:
        return "The request is not valid."
    first = errors[0]
    where = f"{first['field']}: " if first["field"] else ""
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}{first['message']}{more}"


def problem_response(body: dict, headers: dict | None = None) -> Response:
    response = Response(body, status=body["status"], headers=headers)
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def exception_handler(exc, context):
    headers = {}
    if isinstance(exc, DomainError):
        set_rollback()
        errors = [e.as_dict() for e in exc.errors]
        return problem_response(
            problem(
                exc.status,
                exc.detail,
                slug=exc.slug,
                title=exc.title,
                errors=errors,
                **(getattr(exc, "extra", None) or {}),
            )
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if not isinstance(exc, exceptions.APIException):
        return None  # unhandled: Django's 500 handler answers with a problem too
    set_rollback()
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    code = exc.status_code
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
        return problem_response(problem(code, _summary(errors), errors=errors), headers)
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        code = status.HTTP_401_UNAUTHORIZED
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return problem_response(problem(code, str(detail)), headers)


def problem_json(status_code: int, detail: str) -> JsonResponse:
    """For plain Django views (404/500 handlers, unknown API paths)."""
    return JsonResponse(problem(status_code, detail), status=status_code, content_type=PROBLEM_CONTENT_TYPE)
