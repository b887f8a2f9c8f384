"""Base API views: every Concord endpoint derives from these, so idempotency, problem details,
auth and role checks behave the same everywhere."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from rest_framework import exceptions, generics
from rest_framework.metadata import SimpleMetadata
from rest_framework.permissions import SAFE_METHODS
from rest_framework.views import APIView

from revops.core.api.idempotency import HEADER, run_idempotent
from revops.core.api.problems import problem_json
from revops.errors import ValidationFailed
from revops.jsonsafe import find_nul, find_surrogate, nul_visible

_SURROGATE_MESSAGE = (
    "Text cannot contain a lone surrogate (U+D800–U+DFFF, e.g. an unpaired \\ud800 escape): "
    "it is not a character."
)


class IdempotentDispatchMixin:
    """DRF's dispatch, with POST handlers run through :func:`run_idempotent` when the client sent an
    ``Idempotency-Key``."""

    # A view that stores what it is sent keeps U+0000 and lone surrogates out of the database by
    # refusing them; one that handles them itself (usage ingestion quarantines such events) sets this.
    accepts_nul_in_body = False
    # Response fields shown once and never stored with an Idempotency-Key (a signing secret).
    idempotency_secret_fields: tuple[str, ...] = ()

    def dispatch(self, request, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        raw_body = request.body if request.method == "POST" else b""
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        try:
            self.initial(request, *args, **kwargs)
            method = request.method.lower()
            handler = getattr(self, method, None) if method in self.http_method_names else None
            handler = handler or self.http_method_not_allowed
            key = request.headers.get(HEADER)
            if request.method == "POST" and key is not None and request.user.is_authenticated:
                response = run_idempotent(
                    user=request.user,
                    key=key,
                    method="POST",
                    path=request.path,
                    body=raw_body,
                    call=lambda: self._call_handled(handler, request, *args, **kwargs),
                    secret_fields=self.idempotency_secret_fields,
                )
            else:
                response = handler(request, *args, **kwargs)
        except Exception as exc:
            response = self.handle_exception(exc)
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return self.response

    def initial(self, request, *args, **kwargs):
        try:
            super().initial(request, *args, **kwargs)
        except (exceptions.NotAuthenticated, exceptions.AuthenticationFailed):
            # DRF checks throttles after authentication and permissions, so requests without a valid
            # token were never limited: count them per client IP too (429 once over the rate).
            self.check_throttles(request)
            raise
        # PostgreSQL can neither store nor compare text holding U+0000: a 400, not a 500.
        for name, values in request.query_params.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                raise ValidationFailed("Query parameters cannot contain the NUL character.", field=name)
        for name, value in kwargs.items():
            if isinstance(value, str) and "\x00" in value:
                raise ValidationFailed("The path cannot contain the NUL character.", field=name)
        if request.method not in SAFE_METHODS and not self.accepts_nul_in_body:
            where = find_nul(request.data)
            if where is not None:
                raise ValidationFailed(
                    "Text cannot contain the NUL character (U+0000).", field=nul_visible(where)
                )
            # A lone UTF-16 surrogate (a "\ud800" escape in JSON; URLs cannot carry one) is not a
            # character: it cannot be encoded, stored or rendered. Refused naming the field.
            where = find_surrogate(request.data)
            if where is not None:
                raise ValidationFailed(_SURROGATE_MESSAGE, field=nul_visible(where))

    def _call_handled(self, handler, request, *args, **kwargs):
        try:
            return handler(request, *args, **kwargs)
        except Exception as exc:
            return self.handle_exception(exc)


class ApiMetadata(SimpleMetadata):
    """``OPTIONS``: name, description, renderers and parsers. No serializer introspection (DRF's default
    builds every view's serializer, and views that shape their payload by hand have none): the OpenAPI
    schema at /api/schema/ is the contract."""

    def determine_metadata(self, request, view):
        return {
            "name": view.get_view_name(),
            "description": view.get_view_description(),
            "renders": [renderer.media_type for renderer in view.renderer_classes],
            "parses": [parser.media_type for parser in view.parser_classes],
        }


class ApiView(IdempotentDispatchMixin, APIView):
    area: str | None = None
    metadata_class = ApiMetadata


class ApiGenericView(IdempotentDispatchMixin, generics.GenericAPIView):
    area: str | None = None
    metadata_class = ApiMetadata


@csrf_exempt  # token-authenticated API: an unknown path answers 404 for every method, never a CSRF page
def unknown_api_path(request: HttpRequest, path: str = "") -> JsonResponse:
    return problem_json(404, f"No API endpoint at {request.path}. See /api/docs/ for the contract.")


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    from django.conf import settings

    body = {"status": "ok", "database": "ok", "queue": "eager"}
    code = 200
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        body["database"], body["status"], code = "error", "degraded", 503
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        try:
            from revops.celery import app

            with app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
            body["queue"] = "ok"
        except Exception:
            body["queue"], body["status"], code = "error", "degraded", 503
    return JsonResponse(body, status=code)
