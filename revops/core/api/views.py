"""Base API views: every Concord endpoint derives from these, so idempotency, problem details,
auth and role checks behave the same everywhere."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET
from rest_framework import generics
from rest_framework.views import APIView

from revops.core.api.idempotency import HEADER, run_idempotent
from revops.core.api.problems import problem_json


class IdempotentDispatchMixin:
    """DRF's dispatch, with POST handlers run through :func:`run_idempotent` when the client sent an
    ``Idempotency-Key``."""

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
                )
            else:
                response = handler(request, *args, **kwargs)
        except Exception as exc:
            response = self.handle_exception(exc)
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return self.response

    def _call_handled(self, handler, request, *args, **kwargs):
        try:
            return handler(request, *args, **kwargs)
        except Exception as exc:
            return self.handle_exception(exc)


class ApiView(IdempotentDispatchMixin, APIView):
    area: str | None = None


class ApiGenericView(IdempotentDispatchMixin, generics.GenericAPIView):
    area: str | None = None


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
